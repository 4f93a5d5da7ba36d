"""Helpers for the verb scenarios: a Context built from the lab's own drewburr.yaml."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kubernetes import client
from proxmoxer import ProxmoxAPI

from bot.cli_ops import build_context
from bot.config import load_settings
from infra import owner
from infra.gateways.pve import PveGateway
from infra.journal_sqlite import SqliteJournal
from infra.operations.context import Context
from lab.runner import write_kubeconfig

# an owner on this host whose process is gone: its operations are interrupted
DEAD_OWNER = "|".join([*owner.me().split("|")[:2], str(2**22 + 12345), "1"])
DREWBURR = [sys.executable, "-m", "bot"]
# Lab time runs 50x: these keep each scenario to a few real seconds.
FAST = {"poll_seconds": 0.1, "eviction_retry_seconds": 0.3, "drain_timeout_seconds": 20,
        "migration_timeout_seconds": 30, "boot_timeout_seconds": 60}


def lab_context(running_lab: Any, **options: Any) -> Context:
    ctx = build_context(load_settings(running_lab.workdir / "drewburr.yaml"))
    ctx.options = dataclasses.replace(ctx.options, **{**FAST, **options})
    return ctx


def auditor_context(running_lab: Any) -> Context:
    """A Context whose PVE token is the lab's read-only one (PVEAuditor, privilege-separated)."""
    info = json.loads((running_lab.workdir / "lab.json").read_text())["auditor_token"]
    ctx = lab_context(running_lab)
    settings = load_settings(running_lab.workdir / "drewburr.yaml")
    ctx.pve = PveGateway(settings.proxmox.url, info["token_id"], info["token_secret"],
                         ca_file=settings.proxmox.ca_file)
    return ctx


def fault(running_lab: Any, name: str, target: str | None = None) -> str:
    from lab.faults import apply_fault

    lab = running_lab.lab
    return running_lab.call(lambda: apply_fault(lab, name, target, lab.clock.now()))


async def settled(ctx: Context, within: float = 15) -> None:
    """Wait until every pod the lab starts with runs ready (its controllers start them at boot)."""
    for _ in range(int(within / 0.1)):
        pods = (await ctx.snapshot()).pods
        if pods and all(p.ready or not p.drained for p in pods):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the lab's workloads never settled")


def pve_client(running_lab: Any) -> ProxmoxAPI:
    return ProxmoxAPI("127.0.0.1", port=int(running_lab.pve_url.rsplit(":", 1)[1]), user="root@pam",
                      token_name="drewburr", token_value=running_lab.server.token_secret,
                      verify_ssl=running_lab.ca_file)


def move_vm(pve: ProxmoxAPI, vmid: int, source: str, target: str) -> None:
    """Live-migrate through proxmoxer and wait until /cluster/resources shows it on `target`."""
    pve.nodes(source).qemu(vmid).migrate.post(target=target, online=1)
    for _ in range(600):
        entry = next(e for e in pve.cluster.resources.get(type="vm") if e["vmid"] == vmid)
        if entry["node"] == target and not entry.get("lock"):
            return
        time.sleep(0.02)
    raise AssertionError(f"VM {vmid} never reached {target}")


async def kill_when(command: list[str], journal: SqliteJournal, kind: str, target: str, step: str,
                    deadline: float = 60) -> None:
    """Run `command` and SIGKILL it as soon as the newest operation, a `kind` on `target`, has `step`
    journaled done."""
    proc = await asyncio.create_subprocess_exec(*command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    end = time.monotonic() + deadline
    try:
        while time.monotonic() < end:
            op = await journal.list(1)
            if op and (op[0].kind, op[0].target) == (kind, target) and op[0].step(step).outcome == "done":
                with contextlib.suppress(ProcessLookupError):  # it may have just finished
                    proc.kill()
                return
            assert proc.returncode is None, (await proc.stderr.read()).decode() if proc.stderr else ""
            await asyncio.sleep(0.002)
        raise AssertionError(f"step {step} of {kind} {target} never finished")
    finally:
        await asyncio.wait_for(proc.wait(), 10)


def viewer_kubeconfig(running_lab: Any, api: Any, folder: Path) -> Path:
    """A kubeconfig for a ServiceAccount that may read everything and change nothing."""
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account("default", {"metadata": {"name": "viewer"}})
    rbac.create_cluster_role({"metadata": {"name": "read-all"}, "rules": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]})
    rbac.create_cluster_role_binding({
        "metadata": {"name": "viewer-reads"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                          "kind": "ClusterRole", "name": "read-all"},
        "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": "default"}]})
    token = running_lab.service_account_token("default", "viewer")
    path = folder / "viewer"
    ca = (running_lab.workdir / "pve-ca.pem").read_bytes()
    write_kubeconfig(path, running_lab.server.ports.k8s, token, ca)
    return path


async def idle_lrm(running_lab: Any, ctx: Context, vmid: int, blade: str) -> None:
    """Take `vmid`, `blade`'s only HA service, out of PVE HA and wait until the blade's LRM idles:
    its watchdog is disarmed, so PVE HA will never fence it."""
    pve_client(running_lab).cluster.ha.resources(f"vm:{vmid}").delete()
    for _ in range(200):
        if (await ctx.pve.ha_manager_status()).lrms[blade].state != "active":
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{blade}'s LRM never idled")
