"""`ops [list | show ID | cancel ID | resume [ID]]`: the journal of operations."""

from __future__ import annotations

from rich.console import Group

from commands.operate import asked
from commands.render import line
from commands.render_ops import render_operation, render_operations
from commands.result import DONE, FAILED, Confirm, Result, refused, shown
from infra.journal import FINISHED, Locked
from infra.operations import run as ops
from infra.operations.context import Context
from infra.operations.machine import Listener

# list and show only read; cancel and resume change what runs
PERMISSIONS = {"list": "read", "show": "read", "cancel": "operate", "resume": "operate"}


async def _interrupted_ids(ctx: Context) -> set[int]:
    return {op.id for op in await ops.interrupted(ctx)}


async def _in_maintenance(ctx: Context) -> set[str]:
    return {m.blade for m in await ctx.journal.maintenance()}


async def list_ops(ctx: Context, limit: int = 20) -> Result:
    rows = await ctx.journal.list(limit)
    if not rows:
        return Result(DONE, "No operations yet.", data=[])
    body = render_operations(rows, await _interrupted_ids(ctx), await _in_maintenance(ctx))
    return shown(DONE, body, [op.model_dump(mode="json") for op in rows])


async def show(ctx: Context, op_id: int) -> Result:
    op = await ctx.journal.get(op_id)
    if op is None:
        return refused(f"no operation {op_id}")
    body = render_operation(op, interrupted=op.id in await _interrupted_ids(ctx),
                            maintenance=await _in_maintenance(ctx))
    return shown(DONE, body, op.model_dump(mode="json"))


async def cancel(ctx: Context, op_id: int, dry_run: bool = False, yes: bool = False,
                 confirm: Confirm | None = None) -> Result:
    op = await ctx.journal.get(op_id)
    if op is None:
        return refused(f"no operation {op_id}")
    if op.phase in FINISHED:
        return refused(f"operation {op_id} already ended: {op.phase}")
    plan = Group(render_operation(op, steps=False), line(
        "Cancel it: it stops within a poll interval; nothing is undone (a drained blade stays in "
        "maintenance until `drewburr restore`)."))
    if (stop := asked(plan, dry_run=dry_run, yes=yes, confirm=confirm)) is not None:
        return stop
    if op.id in await _interrupted_ids(ctx):  # nobody runs it: cancel it here and free its blades
        cancelled = await ops.cancel_interrupted(ctx, op)
        return shown(DONE, render_operation(cancelled), cancelled.model_dump(mode="json"))
    await ctx.journal.request_cancel(op_id)
    return Result(DONE, f"operation {op_id}: cancel requested; it stops within a poll interval")


async def resume(ctx: Context, op_id: int | None = None, dry_run: bool = False, yes: bool = False,
                 confirm: Confirm | None = None, listener: Listener | None = None) -> Result:
    candidates = await ops.interrupted(ctx)
    if op_id is not None:
        candidates = [op for op in candidates if op.id == op_id]
        if not candidates:
            return refused(f"operation {op_id} is not an interrupted operation")
    if not candidates:
        return Result(DONE, "Nothing to resume.")
    plan = Group(*(render_operation(op, steps=False) for op in candidates),
                 line("Resume: each step looks at the systems again and carries on from there."))
    if (stop := asked(plan, dry_run=dry_run, yes=yes, confirm=confirm)) is not None:
        return stop
    bodies, finals, code = [], [], DONE
    for op in sorted(candidates, key=lambda o: o.id):
        try:
            final = await ops.resume(ctx, op.id, listener)
        except Locked as exc:
            return refused(str(exc))
        bodies.append(render_operation(final))
        finals.append(final.model_dump(mode="json"))
        code = code if final.phase == "Succeeded" else FAILED
    return shown(code, Group(*bodies), finals)
