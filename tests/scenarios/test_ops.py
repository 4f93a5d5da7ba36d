"""`ops resume` after a SIGKILL at each step of a drain; `ops list/show/cancel`."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
import yaml

from commands import ops
from commands.drain import drain
from commands.restore import restore
from commands.result import DONE, FAILED, REFUSED
from infra.journal import StepRecord
from infra.journal_sqlite import SqliteJournal

from .opsctx import DEAD_OWNER, DREWBURR, FAST, fault, kill_when, lab_context

DRAIN_STEPS = ["plan", "noout", "cordon", "evict", "migrate"]


def fast_config(running_lab) -> Path:
    """The lab's drewburr.yaml with short polls, as an operator could write it."""
    path = running_lab.workdir / "drewburr.yaml"
    data = yaml.safe_load(path.read_text())
    data["operations"] = {k: v for k, v in FAST.items()}
    fast = running_lab.workdir / "fast.yaml"
    fast.write_text(yaml.safe_dump(data))
    return fast


async def kill_after(config: Path, journal: SqliteJournal, step: str) -> None:
    """Start `drewburr drain blade3 --yes` and kill it (SIGKILL) as soon as `step` is journaled done."""
    command = [*DREWBURR, "--config", str(config), "drain", "blade3", "--yes"]
    await kill_when(command, journal, "drain", "blade3", step)


def migrations(running_lab, vmid: int) -> int:
    return running_lab.call(lambda: running_lab.lab.recorder.count("POST", f"/qemu/{vmid}/migrate", "pve"))


@pytest.mark.slow
async def test_drain_killed_after_each_step_resumes_to_the_same_end_state(running_lab):
    config = fast_config(running_lab)
    ctx = lab_context(running_lab)
    journal = ctx.journal
    interrupted = 0
    for step in DRAIN_STEPS:
        before = {vmid: migrations(running_lab, vmid) for vmid in (103, 105)}
        await kill_after(config, journal, step)
        killed = (await journal.list(1))[0]
        if killed.phase == "Running":  # nobody finishes it now: it is interrupted
            interrupted += 1
            command = [*DREWBURR, "--config", str(config), "ops", "resume", "--yes"]
            resumed = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True)
            assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        op = await journal.get(killed.id)
        assert op.phase == "Succeeded" and op.done == op.total
        assert all(op.step(s).attempts <= 2 for s in DRAIN_STEPS)
        snap = await ctx.snapshot()
        assert [vm.name for vm in snap.vms_on("blade3") if vm.running] == []
        assert "noout" in snap.ceph.flags
        assert all(snap.nodes[n].unschedulable for n in ("kube03", "kube05"))
        for vmid in (103, 105):  # one migration each, never a second one
            assert migrations(running_lab, vmid) - before[vmid] == 1, (step, vmid)
        back = await restore(ctx, "blade3", yes=True)
        assert back.code == DONE, back.text
    assert interrupted >= len(DRAIN_STEPS) - 1  # the last steps are quick: a kill may land after them


async def test_ops_list_show_and_cancel_an_interrupted_operation(running_lab):
    ctx = lab_context(running_lab)
    assert (await ops.list_ops(ctx)).text == "No operations yet."
    op = await ctx.journal.create("drain", "blade3", {}, ["plan"], ["blade:blade3"], now=1)
    await ctx.journal.set_phase(op.id, "Running", now=2, owner=DEAD_OWNER)
    listed = (await ops.list_ops(ctx)).text
    assert f"{op.id}   drain blade3  Running" in listed and f"`drewburr ops resume {op.id}`" in listed
    assert "plan" in (await ops.show(ctx, op.id)).text
    assert (await ops.show(ctx, 999)).code == REFUSED
    await ctx.journal.record_step(op.id, StepRecord(name="plan", outcome="running", started=2, attempts=1))
    assert (await ops.cancel(ctx, op.id, dry_run=True)).code == DONE
    assert (await ops.cancel(ctx, op.id, confirm=lambda _: False)).code == REFUSED
    assert (await ctx.journal.get(op.id)).phase == "Running"  # a dry run or a no changes nothing
    assert (await ops.cancel(ctx, op.id, yes=True)).code == DONE
    cancelled = await ctx.journal.get(op.id)
    assert cancelled.phase == "Cancelled" and await ctx.journal.locks() == {}
    assert cancelled.step("plan").outcome == "cancelled"  # no step left "running" in an ended operation
    assert (await ops.cancel(ctx, op.id, yes=True)).code == REFUSED
    assert (await ops.resume(ctx)).text == "Nothing to resume."


async def test_a_failed_drains_next_hint_goes_once_the_blade_is_restored(running_lab):
    fault(running_lab, "hold-lock", "105:backup")
    ctx = lab_context(running_lab)
    failed = await drain(ctx, "blade3", yes=True)
    assert failed.code == FAILED
    op_id = failed.operation.id
    assert "next: blade3 stays in maintenance" in (await ops.show(ctx, op_id)).text
    fault(running_lab, "release-lock", "105")
    assert (await restore(ctx, "blade3", yes=True)).code == DONE
    assert "next:" not in (await ops.show(ctx, op_id)).text  # blade3 left maintenance: nothing to do
    assert "stays in maintenance" not in (await ops.list_ops(ctx)).text


async def test_a_resumed_evict_step_says_the_pods_had_left_not_evicted_0(running_lab):
    ctx = lab_context(running_lab)
    done = await drain(ctx, "blade3", yes=True)
    assert done.code == DONE and done.operation.step("evict").message.startswith("evicted ")
    op = done.operation  # as if killed right after evicting: evict and what follows run again
    for name in ("evict", "migrate", "mark"):
        await ctx.journal.record_step(op.id, StepRecord(name=name, outcome="running", attempts=1))
    await ctx.journal.set_phase(op.id, "Running", now=2, owner=DEAD_OWNER)
    await ctx.journal.take_locks(op.id, ["blade:blade3"])
    resumed = await ops.resume(ctx, op.id, yes=True)
    assert resumed.code == DONE, resumed.text
    message = (await ctx.journal.get(op.id)).step("evict").message
    assert message == "no pod left to evict", message
