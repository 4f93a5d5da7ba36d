"""K3s as seen from inside a VM: the install script from get.k3s.io, the `k3s` binary, its
systemd unit and journal, the uninstall scripts; `register` adds them to the guests' software.

An install downloads for DOWNLOAD lab seconds, then starts the unit (Type=notify,
TimeoutStartSec=0, Restart=always, as install.sh writes it). What follows is K3s':
- a server that cannot join (unreachable `--server`, wrong token, a bad flag) exits with a fatal
  error: `systemctl restart` fails, so does the script (exit 1, "Job for k3s.service failed");
- an agent that cannot reach its server or whose token's CA hash differs retries every 2 s
  before it tells systemd it is ready: the script never returns (as with real K3s, the exec
  stays `exited: 0`); an agent whose token's secret is wrong is ready, the script succeeds,
  and it waits for its configuration (401) forever;
- otherwise the Node registers, NotReady until flannel is up, then Ready.
The first server of a cluster sets its token (`K10<ca hash>::server:<secret>`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from lab.guest.models import ELF, Ctx, Guest, Result, Unit
from lab.k8s import k3s_cli
from lab.k8s.join import (
    K3S_VERSION,
    FlagError,
    InstallFailed,
    K3sJoin,
    install_output,
    parse_flags,
    parse_install,
)

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster
    from lab.pve.objects import Vm

TOKEN_FILE = "/var/lib/rancher/k3s/server/node-token"
INSTALLER_URL = "https://get.k3s.io"
INSTALLER = b"#!/bin/sh\nset -e\nset -o noglob\n\n# Usage:\n#   curl ... | ENV_VAR=... sh -\n# (get.k3s.io)\n"
UNINSTALL = {unit: f"#!/bin/sh\nset -x\n# {unit}-uninstall.sh\n".encode() for unit in ("k3s", "k3s-agent")}
KILLALL = b"#!/bin/sh\n[ $(id -u) -eq 0 ] || exec sudo --preserve-env=K3S_DATA_DIR $0 $@\n"
DOWNLOAD = 12.0  # channel lookup, hash and a 70 MB binary over a homelab's uplink
SERVER_START = 20.0  # etcd (new or joined), the apiserver, then READY=1
AGENT_START = 2.0  # the token checks out: READY=1
REGISTER = 6.0  # from READY to the kubelet's Node
CNI = 12.0  # flannel up and the kubelet reporting NetworkReady
FATAL_RESTART = 5.0  # RestartSec
AGENT_RETRY = 2.0
CONFIG_RETRY = 5.0


def cluster_token(secret: str) -> str:
    return f"K10{hashlib.sha256(secret.encode()).hexdigest()}::server:{secret}"


def token_problem(cluster: K8sCluster, token: str | None) -> tuple[str, str] | None:
    """("ca", message) when K3s' token validation fails, ("auth", message) when the server refuses
    the secret (401), None when it is the cluster's (clientaccess.parseToken's rules)."""
    assert cluster.k3s_token is not None
    ca_hash, _, secret = cluster.k3s_token[3:].partition("::server:")
    if not token:
        return "ca", "token must not be empty"
    given_hash, creds = "", token if not token.startswith("K10") else token[3:]
    if token.startswith("K10") and "::" in creds:
        given_hash, creds = creds.split("::", 1)
    elif not token.startswith("K10"):
        creds = ":" + token
    if given_hash and len(given_hash) != 64:
        return "ca", "invalid token CA hash length"
    _user, colon, password = creds.partition(":")
    if not colon or not password:
        return "ca", "invalid token format"
    if given_hash and given_hash != ca_hash:
        return (
            "ca",
            f"token CA hash does not match the Cluster CA certificate hash: {given_hash} != {ca_hash}",
        )
    return None if password == secret else ("auth", "401 Unauthorized")


def _dial_error(cluster: K8sCluster, vm: Vm, url: str, now: float) -> str | None:
    """Why the server at `url` does not answer, as Go's net/http says it; None when it does."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 6443
    target = f"{host}:{port}"
    server = next((v for v in cluster.pve.vms.values() if v.running() and k3s_cli.vm_ip(v) == host), None)
    if (
        server is not None
        and cluster.vm_alive(server, now)
        and cluster.joins[server.name].role == "server"
        and port == 6443
    ):
        return None
    if server is not None:
        return f"dial tcp {target}: connect: connection refused"
    try:
        local = ipaddress.ip_address(host) in ipaddress.ip_network(f"{k3s_cli.vm_ip(vm)}/24", strict=False)
    except ValueError:
        return f"dial tcp: lookup {host} on 127.0.0.53:53: server misbehaving"
    if local:
        return f"dial tcp {target}: connect: no route to host"
    return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"


def _decide(cluster: K8sCluster, vm: Vm, join: K3sJoin, start: float) -> None:
    """When the unit is ready and the Node appears, or what it fails with."""
    url = join.server_url
    if join.role == "agent" and not url:
        join.failure, join.fatal = "Error: --server is required", True
    elif url is None:  # a new cluster; a second one beside the lab's is not modelled: it joins nothing
        if cluster.k3s_token is None:
            cluster.k3s_token = cluster_token(join.token or hashlib.sha256(vm.name.encode()).hexdigest()[:32])
        elif token_problem(cluster, join.token or cluster.k3s_token) is not None:
            join.failure, join.fatal = "Error: a new cluster beside the lab's is not modelled", True
    elif (dial := _dial_error(cluster, vm, url, start)) is not None:
        cacerts = f'failed to get CA certs: Get "{url.rstrip("/")}/cacerts": {dial}'
        join.failure, join.fatal = (
            (
                _server_error(f"failed to validate token: {cacerts}")
                if join.role == "server"
                else _agent_error(url, cacerts)
            ),
            join.role == "server",
        )
    elif (problem := token_problem(cluster, join.token)) is not None:
        kind, message = problem
        if join.role == "server":
            text = (
                f"failed to validate token: {message}"
                if kind == "ca"
                else f"{url.rstrip('/')}/v1-k3s/server-bootstrap: {message}"
            )
            join.failure, join.fatal = _server_error(text), True
        elif kind == "ca":
            join.failure = _agent_error(url, message)
        else:
            join.failure = (
                "Waiting to retrieve agent configuration; server is not ready: failed to retrieve "
                f"configuration from server: https://127.0.0.1:6444/v1-k3s/config: {message}"
            )
            join.ready_at = start + AGENT_START
    if join.failure is None:
        join.ready_at = start + (SERVER_START if join.role == "server" else AGENT_START)
        join.registers_at = join.ready_at + REGISTER
        join.cni_at = join.registers_at + CNI
    elif join.fatal or join.ready_at < start:
        join.ready_at = math.inf


def _server_error(text: str) -> str:
    return (
        f"Error: preparing server: failed to bootstrap cluster data: failed to check if bootstrap data "
        f"has been initialized: {text}"
    )


def _agent_error(url: str, message: str) -> str:
    return f"Failed to validate connection to cluster at {url}: {message}"


def _install(cluster: K8sCluster, ctx: Ctx, argv: list[str]) -> Result:
    try:
        role, words = parse_install(argv[1:], ctx.env)
    except InstallFailed as exc:
        return Result(1, err=f"[ERROR]  {exc}\n".encode(), duration=1)
    if role not in ("server", "agent"):
        return Result(
            1,
            out=install_output(f"k3s-{role}").encode(),
            err=_job_failed(f"k3s-{role}").encode(),
            duration=DOWNLOAD,
        )
    start = ctx.now + DOWNLOAD
    try:
        join = parse_flags(role, words, ctx.env)
    except FlagError as exc:
        join = K3sJoin(role=role, args=words, failure=str(exc), fatal=True, ready_at=math.inf)
    else:
        _decide(cluster, ctx.vm, join, start)
    join.started_at, join.pid = start, ctx.guest.next_pid + 40
    _write_files(cluster, ctx.guest, join, ctx.env)
    cluster.joins[ctx.vm.name] = join
    ctx.vm.k3s_role = join.role if join.failure is None else None
    if join.role == "server" and join.failure is None:
        cluster.etcd_departed.discard(join.node_name or ctx.vm.name)
    cluster.advance(ctx.now)
    out = install_output(join.unit).encode()
    if join.fatal:
        return Result(1, out, _job_failed(join.unit).encode(), DOWNLOAD + 1)
    return Result(0, out, b"", join.ready_at - ctx.now)


def _job_failed(unit: str) -> str:
    return (
        f"Job for {unit}.service failed because the control process exited with error code.\n"
        f'See "systemctl status {unit}.service" and "journalctl -xeu {unit}.service" for details.\n'
    )


def _write_files(cluster: K8sCluster, guest: Guest, join: K3sJoin, env: dict[str, str]) -> None:
    guest.write("/usr/local/bin/k3s", ELF, executable=True)
    for link in ("kubectl", "crictl", "ctr"):
        guest.write(f"/usr/local/bin/{link}", ELF, executable=True)
    guest.write("/usr/local/bin/k3s-killall.sh", KILLALL, executable=True)
    guest.write(f"/usr/local/bin/{join.unit}-uninstall.sh", UNINSTALL[join.unit], executable=True)
    exec_line = " \\\n".join([f"ExecStart=/usr/local/bin/k3s {join.role}", *(f"\t'{a}'" for a in join.args)])
    guest.write(
        f"/etc/systemd/system/{join.unit}.service",
        f"[Unit]\nDescription=Lightweight Kubernetes\nDocumentation=https://k3s.io\n\n[Service]\n"
        f"Type=notify\nTimeoutStartSec=0\nRestart=always\nRestartSec=5s\n{exec_line}\n".encode(),
    )
    guest.write(
        f"/etc/systemd/system/{join.unit}.service.env",
        "".join(f"{k}='{v}'\n" for k, v in sorted(env.items()) if k.startswith("K3S_")).encode(),
    )
    if join.failure is None and join.role == "server" and cluster.k3s_token:
        for name in ("node-token", "token"):
            guest.write(f"/var/lib/rancher/k3s/server/{name}", f"{cluster.k3s_token}\n".encode())
        guest.write("/etc/rancher/k3s/k3s.yaml", k3s_cli.kubeconfig(join).encode())


def _uninstall(cluster: K8sCluster, unit: str) -> object:
    def uninstall(ctx: Ctx, argv: list[str]) -> Result:
        join = cluster.joins.get(ctx.vm.name)
        if join is not None and join.unit == unit:
            del cluster.joins[ctx.vm.name]
            ctx.vm.k3s_role = None
            if join.role == "server" and join.registered(ctx.now):
                # its etcd member stays until its Node is deleted (K3s' etcd controller removes it then)
                cluster.etcd_departed.add(join.node_name or ctx.vm.name)
        for path in (
            "/usr/local/bin/k3s",
            "/usr/local/bin/kubectl",
            "/usr/local/bin/crictl",
            "/usr/local/bin/ctr",
            "/usr/local/bin/k3s-killall.sh",
            f"/usr/local/bin/{unit}-uninstall.sh",
            "/etc/rancher/k3s",
            "/etc/rancher/node",
            "/var/lib/rancher/k3s",
            "/var/lib/kubelet",
            "/run/k3s",
            f"/etc/systemd/system/{unit}.service",
            f"/etc/systemd/system/{unit}.service.env",
        ):
            ctx.guest.remove(path)
        cluster.advance(ctx.now)
        trace = [
            "+ id -u",
            "+ [ 0 -eq 0 ]",
            "+ K3S_DATA_DIR=/var/lib/rancher/k3s",
            "+ /usr/local/bin/k3s-killall.sh",
            "+ command -v systemctl",
            f"+ systemctl disable {unit}",
            f"+ systemctl reset-failed {unit}",
            "+ systemctl daemon-reload",
            f"+ rm -f /etc/systemd/system/{unit}.service",
            f"+ rm -f /etc/systemd/system/{unit}.service.env",
            "+ rm -rf /etc/rancher/k3s",
            "+ rm -rf /var/lib/kubelet",
            "+ rm -f /usr/local/bin/k3s",
            "+ rm -f /usr/local/bin/k3s-killall.sh",
            f"+ rm -f /usr/local/bin/{unit}-uninstall.sh",
        ]
        return Result(0, b"/usr/bin/systemctl\n", ("\n".join(trace) + "\n").encode(), duration=8)

    return uninstall


@dataclass
class K3sUnit:
    join: K3sJoin
    description: str = "Lightweight Kubernetes"

    def active_state(self, now: float) -> str:
        if now < self.join.started_at:
            return "inactive"
        return "active" if now >= self.join.ready_at else "activating"

    def since(self) -> float:
        return self.join.started_at

    def journal(self, now: float) -> list[tuple[float, str]]:
        join, proc = self.join, f"k3s[{self.join.pid}]"
        lines: list[tuple[float, str]] = []
        if now < join.started_at:
            return lines
        start = join.started_at
        lines.append((start, f"systemd[1]: Starting {join.unit}.service - Lightweight Kubernetes..."))
        kind = "k3s" if join.role == "server" else "k3s agent"
        lines.append((start, f"{proc}: {_log(start, 'info', f'Starting {kind} {K3S_VERSION} (c3b5fa2c)')}"))
        if join.failure is None:
            if now >= join.ready_at:
                lines.append(
                    (join.ready_at, f"systemd[1]: Started {join.unit}.service - Lightweight Kubernetes.")
                )
            if now >= join.cni_at:
                lines.append(
                    (
                        join.cni_at,
                        f"{proc}: {_log(join.cni_at, 'info', 'Flannel found PodCIDR assigned for node')}",
                    )
                )
            return lines
        step = (
            FATAL_RESTART + 1 if join.fatal else (AGENT_RETRY if join.ready_at == math.inf else CONFIG_RETRY)
        )
        level = "fatal" if join.fatal else ("error" if join.ready_at == math.inf else "info")
        t, restarts = start + 1, 0
        while t <= now and len(lines) < 400:
            lines.append((t, f"{proc}: {_log(t, level, join.failure)}"))
            if join.fatal:
                restarts += 1
                unit = f"systemd[1]: {join.unit}.service"
                lines += [
                    (t, f"{unit}: Main process exited, code=exited, status=1/FAILURE"),
                    (t, f"{unit}: Failed with result 'exit-code'."),
                    (t, f"systemd[1]: Failed to start {join.unit}.service - Lightweight Kubernetes."),
                    (t + FATAL_RESTART, f"{unit}: Scheduled restart job, restart counter is at {restarts}."),
                ]
            t += step
        return [line for line in lines if line[0] <= now][-200:]


def _log(t: float, level: str, msg: str) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    return f'time="{stamp}" level={level} msg="{msg.replace(chr(34), chr(92) + chr(34))}"'


def register(cluster: K8sCluster) -> None:
    """Give every guest of the lab K3s' installer, binary, units and uninstall scripts."""
    software = cluster.pve.software
    software.urls[INSTALLER_URL] = INSTALLER
    software.scripts[INSTALLER] = lambda ctx, argv: _install(cluster, ctx, argv)
    for unit, script in UNINSTALL.items():
        software.scripts[script] = _uninstall(cluster, unit)  # type: ignore[assignment]
    for name in ("k3s", "kubectl"):
        software.binaries[f"/usr/local/bin/{name}"] = lambda ctx, argv: k3s_cli.run(cluster, ctx, argv)

    def unit(ctx: Ctx, name: str) -> Unit | None:
        join = cluster.joins.get(ctx.vm.name)
        return K3sUnit(join) if join is not None and join.unit == name else None

    software.units.append(unit)
    software.images.append(lambda guest, vm: _seed(cluster, guest, vm))


def _seed(cluster: K8sCluster, guest: Guest, vm: Vm) -> None:
    """A VM the scenario has in the cluster already: K3s installed long ago."""
    join = cluster.joins.get(vm.name)
    if join is not None:
        _write_files(cluster, guest, join, {})
