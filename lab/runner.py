"""`drewburr lab up`: start the lab's servers, write the client files, then `DIR/ready`."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import json
import logging
import os
import secrets
import signal
import ssl
from dataclasses import dataclass
from pathlib import Path

import yaml
from aiohttp import web

from lab import control
from lab.clock import ScaledClock
from lab.k8s import app as k8s_app
from lab.k8s.controllers.node_object import vm_ip
from lab.k8s.serviceaccounts import long_lived_token
from lab.pve import app as pve_app
from lab.pve.permissions import AUDITOR
from lab.scenario import Scenario
from lab.slack import app as slack_app
from lab.tls import Certificates, make_certificates
from lab.world import Lab

TOKEN_ID = "root@pam!drewburr"
AUDITOR_TOKEN_ID = "root@pam!auditor"
log = logging.getLogger(__name__)
TICK_SECONDS = 0.05  # real seconds between ticks of the lab's controllers


class FolderInUse(Exception):
    """The lab folder belongs to a lab that is running."""


def _claim(workdir: Path) -> int:
    """Hold `DIR/lab.lock` for as long as this lab runs (the kernel lets go when the process dies);
    FolderInUse names the running lab's pid and ports."""
    fd = os.open(workdir / "lab.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        try:
            info = json.loads((workdir / "lab.json").read_text())
            who = f"pid {info['pid']}, PVE port {info['pve_port']}, Kubernetes port {info['k8s_port']}"
        except (OSError, ValueError, KeyError):
            who = "still starting"
        raise FolderInUse(f"{workdir} belongs to a lab that is running ({who}): stop it first, or "
                          "use another --dir") from None
    return fd


def _fresh_journal(workdir: Path) -> str | None:
    """A new lab is a new world: the last lab's journal would describe maintenance that is not
    there. It is kept beside, as journal.sqlite.previous. Returns what to tell the user."""
    journal = workdir / "journal.sqlite"
    if not journal.exists():
        return None
    try:
        journal.replace(workdir / "journal.sqlite.previous")
    except OSError as exc:
        return f"warning: kept the previous lab's journal {journal} ({exc.strerror}): it may not match"
    return f"fresh journal; the previous lab's is {journal}.previous"


@dataclass(frozen=True)
class Endpoints:
    pve: int
    k8s: int
    control: int
    slack: int = 0


def write_kubeconfig(path: Path, port: int, token: str, ca_pem: bytes, name: str = "drewburr-lab",
                     namespace: str = "default") -> None:
    """A kubeconfig for the lab's API server: its CA inline and a bearer token."""
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": name, "preferences": {},
        "clusters": [{"name": name, "cluster": {
            "server": f"https://127.0.0.1:{port}",
            "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


def provision_config(lab: Lab) -> dict[str, object]:
    """drewburr's `provision:` section for this homelab: its template, storage and LAN, and the
    first K3s server's API to join (none in a bare scenario: bootstrap makes one)."""
    vms = sorted(lab.pve.vms.values(), key=lambda v: v.vmid)
    template = next((v.name for v in vms if v.template), "ubuntu-2404-cloudinit")
    server = next((v for v in vms if v.k3s_role == "server"), None)
    k3s = {"url": f"https://{vm_ip(server)}:6443"} if server else {}
    return {"template": template, "storage": lab.scenario.storage, "subnet": "192.168.1.0/24",
            "gateway": "192.168.1.1", "nameserver": "192.168.1.1", "searchdomain": "homelab.lan",
            "k3s": k3s}


def write_client_files(workdir: Path, lab: Lab, ports: Endpoints, token_secret: str,
                       ca_pem: bytes, k8s_token: str) -> None:
    """The files a client needs: drewburr.yaml (fixed keys), the CA, the kubeconfig, lab.json."""
    (workdir / "pve-ca.pem").write_bytes(ca_pem)
    config = {
        "proxmox": {"url": f"https://127.0.0.1:{ports.pve}", "token_id": TOKEN_ID,
                    "token_secret": token_secret, "ca_file": str(workdir / "pve-ca.pem")},
        "kubernetes": {"kubeconfig": str(workdir / "kubeconfig")},
        # the lab's Slack twin; `serve` talks to it in Socket Mode (mode: off until serve runs)
        "slack": {"mode": "off", "bot_token": lab.slack.workspace.bot_token,
                  "app_token": lab.slack.workspace.app_token,
                  "signing_secret": lab.slack.workspace.signing_secret,
                  "channel": next(iter(lab.slack.workspace.channels)),
                  "api_url": f"http://127.0.0.1:{ports.slack}/api/"},
        "webhooks": {"token": secrets.token_urlsafe(24)},
        "server": {"host": "127.0.0.1", "port": 8080},
        "journal": {"backend": "sqlite", "path": str(workdir / "journal.sqlite")},
        "permissions": {"read": ["*"], "operate": ["*"], "admin": ["*"]},
        "remediation": {"mode": "approve", "hold_seconds": 60, "cooldown_seconds": 1800,
                        "paused": False},
        # the addons' charts come from the lab's mirror of their repositories (lab/k8s/chart_index.py)
        "addons": {key: {"repo": f"http://127.0.0.1:{ports.control}/charts/{slug}"}
                   for key, slug in (("metallb", "metallb"), ("cert_manager", "jetstack"),
                                     ("traefik", "traefik"),
                                     ("kube_prometheus_stack", "prometheus-community"))},
        "provision": provision_config(lab),
        # the API name of a cluster `bootstrap` makes: the lab's Kubernetes API, for its kubeconfig
        "bootstrap": {"api_name": "127.0.0.1", "api_port": ports.k8s, "kubeconfig": str(workdir / "k3s.yaml"),
                      "first_address": "192.168.1.121/24"},
    }
    write_kubeconfig(workdir / "kubeconfig", ports.k8s, k8s_token, ca_pem)
    path = workdir / "drewburr.yaml"
    path.write_text("# Written by `drewburr lab up`; points drewburr at the lab.\n"
                    + yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    (workdir / "lab.json").write_text(json.dumps({
        "pid": os.getpid(), "pve_port": ports.pve, "k8s_port": ports.k8s,
        "control_url": f"http://127.0.0.1:{ports.control}",
        "metrics_url": f"http://127.0.0.1:{ports.control}/metrics",
        "slack_url": f"http://127.0.0.1:{ports.slack}",
        "time_scale": getattr(lab.clock, "scale", 1.0), "scenario": lab.scenario.name,
        "auditor_token": {"token_id": AUDITOR_TOKEN_ID,
                          "token_secret": lab.pve.tokens.get(AUDITOR_TOKEN_ID)},
    }, indent=2) + "\n")
    (workdir / "lab.json").chmod(0o600)  # holds the auditor token's secret


async def _start(runner: web.AppRunner, port: int, ssl_context: object | None) -> int:
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context)  # type: ignore[arg-type]
    await site.start()
    server = site._server
    assert server is not None
    return int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]


async def _tick(lab: Lab) -> None:
    while True:
        try:
            lab.advance()
        except Exception:  # one bad tick must not stop time in the lab (and every watch with it)
            log.exception("lab tick failed")
        await asyncio.sleep(TICK_SECONDS)


class LabServer:
    """The lab's servers on loopback; `start()` returns once every API answers."""

    def __init__(self, workdir: Path, scenario: Scenario, time_scale: float = 1.0,
                 port_base: int = 0, service_accounts: list[tuple[str, str]] | None = None) -> None:
        self.workdir = workdir.absolute()  # drewburr.yaml names files that work from any folder
        self.service_accounts = service_accounts or []  # (namespace, name): a kubeconfig each
        self.port_base = port_base
        self.notes: list[str] = []  # what the user should hear once the lab is up
        self._claimed: int | None = None
        self.lab = Lab(scenario, ScaledClock(time_scale))
        self.token_secret = secrets.token_hex(16)
        self.k8s_token = secrets.token_urlsafe(32)
        self.lab.pve.tokens[TOKEN_ID] = self.token_secret
        # a read-only token (PVEAuditor, privilege-separated), to see PVE's 403s
        self.lab.pve.tokens[AUDITOR_TOKEN_ID] = secrets.token_hex(16)
        self.lab.pve.privileges[AUDITOR_TOKEN_ID] = AUDITOR
        self.lab.pve.passwords["root@pam"] = secrets.token_urlsafe(12)
        self._runners: list[web.AppRunner] = []
        self._ticker: asyncio.Task[None] | None = None
        self.ports = Endpoints(0, 0, 0)

    async def start(self) -> Endpoints:
        # key generation and file writes in a thread: the loop serves the lab's APIs and ticker
        certs, tls = await asyncio.to_thread(self._prepare_workdir)
        for blade in self.lab.pve.blades.values():
            blade.ssl_fingerprint = certs.fingerprint
        self.lab.k8s.ca_pem = certs.ca_pem
        self.lab.k8s.admin_token = self.k8s_token
        slack_recorder = self.lab.recorder.middleware("slack")
        self._runners = [web.AppRunner(pve_app.make_app(self.lab), access_log=None),
                         web.AppRunner(control.make_app(self.lab), access_log=None),
                         web.AppRunner(k8s_app.make_app(self.lab, self.k8s_token), access_log=None),
                         web.AppRunner(slack_app.make_app(self.lab.slack, [slack_recorder]), access_log=None)]
        self._ticker = asyncio.create_task(_tick(self.lab))
        base = self.port_base
        pve_port = await _start(self._runners[0], base, tls)
        control_port = await _start(self._runners[1], base + 2 if base else 0, None)
        k8s_port = await _start(self._runners[2], base + 1 if base else 0, tls)
        slack_port = await _start(self._runners[3], base + 3 if base else 0, None)
        self.ports = Endpoints(pve=pve_port, k8s=k8s_port, control=control_port, slack=slack_port)
        sa_tokens = {ref: long_lived_token(self.lab.k8s, *ref) for ref in self.service_accounts}
        await asyncio.to_thread(self._announce, certs.ca_pem, sa_tokens)
        return self.ports

    def _prepare_workdir(self) -> tuple[Certificates, ssl.SSLContext]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._claimed = _claim(self.workdir)
        (self.workdir / "ready").unlink(missing_ok=True)
        if note := _fresh_journal(self.workdir):
            self.notes.append(note)
        certs = make_certificates()
        return certs, certs.server_context(self.workdir)

    def _announce(self, ca_pem: bytes, sa_tokens: dict[tuple[str, str], str]) -> None:
        """The client files, then `ready` last: a watcher of `ready` finds them all written."""
        write_client_files(self.workdir, self.lab, self.ports, self.token_secret, ca_pem, self.k8s_token)
        for (namespace, name), token in sa_tokens.items():
            write_kubeconfig(self.workdir / f"kubeconfig-{namespace}-{name}", self.ports.k8s, token, ca_pem,
                             f"drewburr-lab-{namespace}-{name}", namespace)
        (self.workdir / "ready").write_text(json.dumps(self.ports.__dict__) + "\n")

    def describe(self) -> str:
        """Where the lab is: its ports and files (what `lab up` prints once it is ready)."""
        p = self.ports
        return "\n".join([
            f"The lab is up in {self.workdir}: PVE https://127.0.0.1:{p.pve}, Kubernetes "
            f"https://127.0.0.1:{p.k8s}, metrics and control http://127.0.0.1:{p.control}, "
            f"Slack http://127.0.0.1:{p.slack}",
            f"drewburr's config: {self.workdir / 'drewburr.yaml'} (kubeconfig and pve-ca.pem beside it)",
            *self.notes])

    async def stop(self) -> None:
        if self._claimed is None:  # never owned the folder: its files belong to another lab
            return
        (self.workdir / "ready").unlink(missing_ok=True)
        if self._ticker:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for r in self._runners:
            await r.cleanup()
        os.close(self._claimed)
        self._claimed = None


async def run_lab(workdir: Path, scenario: Scenario, time_scale: float, port_base: int,
                  service_accounts: list[tuple[str, str]] | None = None) -> None:
    """Serve the lab until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = LabServer(workdir, scenario, time_scale, port_base, service_accounts)
    try:
        await server.start()
        print(server.describe() + "\nCtrl-C stops it.", flush=True)
        await stop.wait()
    finally:
        await server.stop()
