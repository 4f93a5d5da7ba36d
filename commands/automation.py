"""`automation pause [REASON]`, `automation resume` (admin) and `automation status` (read): the switch
that holds every automatic remediation back, kept in the journal so a restart or a second replica
sees it. Not `ops resume`, which continues an interrupted operation.
"""

from __future__ import annotations

import datetime as dt

from commands.result import DONE, Result, refused
from infra.journal import OperationStatus, Paused
from infra.operations.context import Context

PERMISSIONS = {"pause": "admin", "resume": "admin", "status": "read"}
HELD_SHOWN = 10
RECENT = 86400.0  # while running, `status` shows the holds of the last day


def _when(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


async def pause(ctx: Context, reason: str | None, who: str, dry_run: bool = False) -> Result:
    already = await ctx.journal.paused()
    if already is not None:
        return refused(f"Automation is already paused by {already.by} since {_when(already.since)}: "
                       f"{already.reason}. Nothing changed.")
    paused = Paused(by=who, reason=reason or "no reason given", since=ctx.clock())
    if dry_run:
        return Result(DONE, f"Would pause automation ({paused.reason}). Nothing changed (--dry-run).")
    await ctx.journal.set_paused(paused)
    return Result(DONE, f"Automation paused by {who}: {paused.reason}. Alerts are still received, "
                        "decided and said, but nothing is done on its own until `automation resume`.",
                  data=paused.model_dump())


async def resume(ctx: Context, who: str, dry_run: bool = False) -> Result:
    was = await ctx.journal.paused()
    if was is None:
        return refused("Automation is not paused: nothing changed.")
    if dry_run:
        return Result(DONE, f"Would resume automation (paused by {was.by}: {was.reason}). Nothing changed "
                            "(--dry-run).")
    await ctx.journal.set_paused(None)
    return Result(DONE, f"Automation resumed by {who} (paused by {was.by} since {_when(was.since)}: "
                        f"{was.reason}).", data={"resumed_by": who, "was": was.model_dump()})


async def held(ctx: Context, since: float) -> list[OperationStatus]:
    """Remediation decisions the gates held back (journaled as Refused, with their gate) since `since`."""
    ops = await ctx.journal.list(limit=200)
    return [op for op in ops if op.phase == "Refused" and "gate" in op.params and op.created >= since]


async def status(ctx: Context) -> Result:
    paused, now = await ctx.journal.paused(), ctx.clock()
    if paused is None:
        head = "Automation is running."
        since = now - RECENT
        scope = "in the last day"
    else:
        head = (f"Automation is PAUSED by {paused.by} since {_when(paused.since)} "
                f"({now - paused.since:.0f} s): {paused.reason}")
        since, scope = paused.since, "since the pause"
    holds = await held(ctx, since)
    lines = [head, f"Held back {scope}: {len(holds) or 'nothing'}"]
    lines += [f"  op {op.id}  {op.kind} {op.target}  {_when(op.created)}  {op.last_error or ''}"
              for op in holds[:HELD_SHOWN]]
    if len(holds) > HELD_SHOWN:
        lines.append(f"  ... and {len(holds) - HELD_SHOWN} more (`ops list`)")
    return Result(DONE, "\n".join(lines), data={
        "paused": paused.model_dump() if paused else None,
        "held": [{"id": op.id, "kind": op.kind, "target": op.target, "reason": op.last_error}
                 for op in holds]})
