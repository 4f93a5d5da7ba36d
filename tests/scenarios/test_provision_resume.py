"""A provision killed (SIGKILL) after each of its steps and resumed with `ops resume` ends as one
that ran through: one VM, one clone, one K3s install, the Node Ready with its zone label."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.journal_sqlite import SqliteJournal

from .opsctx import DREWBURR, FAST, kill_when, lab_context, pve_client
from .provisionctx import PROVISION, ZONE, core, guest, lab, node_ready

STEPS = ["place", "clone", "configure", "resize", "ha", "start", "agent", "k3s", "join", "label", "ready"]


def fast_config(running_lab) -> Path:
    path = running_lab.workdir / "drewburr.yaml"
    data = yaml.safe_load(path.read_text())
    data["operations"] = dict(FAST)
    data["provision"].update(PROVISION)
    fast = running_lab.workdir / "fast.yaml"
    fast.write_text(yaml.safe_dump(data))
    return fast


async def kill_after(config: Path, journal: SqliteJournal, name: str, step: str) -> None:
    """Start `drewburr provision NAME --yes` and SIGKILL it as soon as `step` is journaled done."""
    command = [*DREWBURR, "--config", str(config), "provision", name, "--memory", "1024", "--disk", "16",
               "--yes"]
    await kill_when(command, journal, "provision", name, step)


@pytest.mark.slow
async def test_a_provision_killed_after_each_step_resumes_to_the_same_end_state(tmp_path: Path) -> None:
    with lab(tmp_path / "lab") as running:
        config, journal = fast_config(running), lab_context(running).journal
        pve, v1 = pve_client(running), core(running)

        def count(path: str) -> int:
            return running.call(lambda: running.lab.recorder.count("POST", path, "pve"))

        interrupted = 0
        for i, step in enumerate(STEPS):
            name = f"kube{20 + i}"
            clones = count("/qemu/9000/clone")
            await kill_after(config, journal, name, step)
            killed = (await journal.list(1))[0]
            if killed.phase == "Running":
                interrupted += 1
                resume = [*DREWBURR, "--config", str(config), "ops", "resume", "--yes"]
                resumed = await asyncio.to_thread(subprocess.run, resume, capture_output=True, text=True)
                assert resumed.returncode == 0, (step, resumed.stdout + resumed.stderr)
            op = await journal.get(killed.id)
            assert op is not None and op.phase == "Succeeded" and op.done == op.total, (step, op)
            assert all(op.step(s).attempts <= 2 for s in STEPS), step
            vms = [g for g in pve.cluster.resources.get(type="vm") if g.get("name") == name]
            assert len(vms) == 1 and vms[0]["status"] == "running", (step, vms)
            assert count("/qemu/9000/clone") - clones == 1, step  # one clone, never a second VM
            vmid = vms[0]["vmid"]
            assert count(f"/qemu/{vmid}/agent/file-write") == 2, step  # the token and the script, once
            node = v1.read_node(name)
            assert node_ready(node) and node.metadata.labels[ZONE] == guest(pve, name)["node"], step
        assert interrupted >= len(STEPS) - 2  # the last steps are quick: a kill may land after them
