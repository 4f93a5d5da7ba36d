"""K3s as seen from inside a VM: the install script from get.k3s.io, the `k3s` binary, its
systemd unit and journal, the uninstall scripts; `register` adds them to the guests' software.

An install downloads for DOWNLOAD lab seconds, then starts the unit (Type=notify,
TimeoutStartSec=0, Restart=always, as install.sh writes it). What follows is K3s':
- a server that cannot join (unreachable `--server`, wrong token, a bad flag) exits with a fatal
  error: `systemctl restart` fails, so does the script (exit 1, "Job for k3s.service failed");
- an agent that cannot reach its server or whose token's CA hash differs retries every 2 s
  before it tells systemd it is ready: the script does not return (the exec stays `exited: 0`)
  until the server answers, if ever (lab/k8s/k3s_fate.py); an agent whose token's secret is
  wrong is ready, the script succeeds, and it waits for its configuration (401) forever;
- otherwise the Node registers, NotReady until flannel is up, then Ready.
The first server of a cluster sets its token (`K10<ca hash>::server:<secret>`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from lab.guest.models import ELF, Ctx, Guest, Result, Unit
from lab.k8s import k3s_cli, k3s_fate, k3s_unit
from lab.k8s.join import (
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

INSTALLER_URL = "https://get.k3s.io"
INSTALLER = b"#!/bin/sh\nset -e\nset -o noglob\n\n# Usage:\n#   curl ... | ENV_VAR=... sh -\n# (get.k3s.io)\n"
UNINSTALL = {unit: f"#!/bin/sh\nset -x\n# {unit}-uninstall.sh\n".encode() for unit in ("k3s", "k3s-agent")}
KILLALL = b"#!/bin/sh\n[ $(id -u) -eq 0 ] || exec sudo --preserve-env=K3S_DATA_DIR $0 $@\n"
DOWNLOAD = 12.0  # channel lookup, hash and a 70 MB binary over a homelab's uplink


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
        if join.token is None and join.token_file is not None:
            join.token = _read_token(ctx, join.token_file)
    except FlagError as exc:
        join = K3sJoin(role=role, args=words, failure=str(exc), fatal=True, ready_at=math.inf)
    else:
        k3s_fate.decide(cluster, ctx.vm, join, start)
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
    # `systemctl restart` returns when K3s says READY=1, which a retrying agent may do much later
    return Result(0, out, b"", DOWNLOAD, blocked=lambda: join.ready_at)


def _read_token(ctx: Ctx, path: str) -> str:
    data = ctx.guest.files.get(path)
    if data is None:
        raise FlagError(f"open {path}: no such file or directory")
    return data.decode(errors="replace").strip()


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
        k3s_cli.write_server_files(guest, cluster)


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
        return k3s_unit.K3sUnit(join) if join is not None and join.unit == name else None

    software.units.append(unit)
    software.images.append(lambda guest, vm: _seed(cluster, guest, vm))


def _seed(cluster: K8sCluster, guest: Guest, vm: Vm) -> None:
    """A VM the scenario has in the cluster already: K3s installed long ago."""
    join = cluster.joins.get(vm.name)
    if join is not None:
        _write_files(cluster, guest, join, {})
