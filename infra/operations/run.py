"""Start, run and resume journaled operations by kind."""

from __future__ import annotations

from typing import Any

from infra import owner
from infra.journal import OperationStatus
from infra.operations.context import Context
from infra.operations.drain import drain_steps
from infra.operations.machine import Listener, Machine, Step
from infra.operations.reboot import reboot_all_steps, reboot_steps
from infra.operations.restore import restore_steps

KINDS = ("drain", "restore", "reboot", "reboot-all")


def steps_for(ctx: Context, kind: str, op_id: int, target: str, params: dict[str, Any]) -> list[Step]:
    if kind == "drain":
        return drain_steps(ctx, op_id, target)
    if kind == "restore":
        return restore_steps(ctx, target, bool(params.get("migrate_back")))
    if kind == "reboot":
        return reboot_steps(ctx, op_id, target)
    if kind == "reboot-all":
        return reboot_all_steps(ctx, op_id, list(params["blades"]))
    raise ValueError(f"unknown operation kind {kind!r}; kinds: {', '.join(KINDS)}")


def blades_of(target: str, params: dict[str, Any]) -> list[str]:
    """The blades an operation locks: `reboot all` names them, the others have one target."""
    return list(params.get("blades") or [target])


async def create(ctx: Context, kind: str, target: str, params: dict[str, Any]) -> OperationStatus:
    """Journal a new operation and take its blade locks (raises journal.Locked if held)."""
    names = [s.name for s in steps_for(ctx, kind, 0, target, params)]
    return await ctx.journal.create(kind, target, params, names, blades_of(target, params), now=ctx.clock())


async def run(ctx: Context, op_id: int, listener: Listener | None = None) -> OperationStatus:
    op = await ctx.journal.get(op_id)
    if op is None:
        raise KeyError(op_id)
    steps = steps_for(ctx, op.kind, op.id, op.target, op.params)
    return await Machine(ctx.journal, clock=ctx.clock, listener=listener).run(op_id, steps)


async def interrupted(ctx: Context) -> list[OperationStatus]:
    """Operations left unfinished by an owner that is gone (killed, crashed, rebooted, a replica lost)."""
    now = ctx.clock()
    return [op for op in await ctx.journal.unfinished()
            if not owner.alive(op.id, op.owner, op.heartbeat, now)]


async def cancel_interrupted(ctx: Context, op: OperationStatus) -> OperationStatus:
    """End an operation nobody runs: its unfinished step is marked cancelled, its locks freed.

    Nothing is undone: what the steps did stays, recorded (a drain's blade stays in maintenance).
    """
    for step in op.steps:
        if step.outcome in ("running", "retrying"):
            step.outcome, step.finished = "cancelled", ctx.clock()
            await ctx.journal.record_step(op.id, step)
    await ctx.journal.set_phase(op.id, "Cancelled", ctx.clock(), error="cancelled while interrupted")
    cancelled = await ctx.journal.get(op.id)
    assert cancelled is not None
    return cancelled


async def resume(ctx: Context, op_id: int, listener: Listener | None = None) -> OperationStatus:
    """Continue an interrupted operation from the journal; steps look at the real system again."""
    op = await ctx.journal.get(op_id)
    if op is None:
        raise KeyError(op_id)
    await ctx.journal.take_locks(op.id, blades_of(op.target, op.params))
    return await run(ctx, op_id, listener)
