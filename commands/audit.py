"""`ops audit [ID]`: who ran what, where, and what came of it (Slack commands, presses, decisions)."""

from __future__ import annotations

import datetime as dt

from commands.result import DONE, Result
from infra.operations.context import Context

PERMISSION = "read"


def _when(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


async def audit(ctx: Context, op_id: int | None = None, limit: int = 50) -> Result:
    entries = await ctx.journal.audit_log(limit, op_id)
    if not entries:
        empty = "Nothing audited yet." if op_id is None else f"Nothing audited for operation {op_id}."
        return Result(DONE, empty, data=[])
    lines = [f"{_when(e.at)}  {e.who} in {e.where}: {e.what} -> {e.result}"
             + (f" (op {e.op_id})" if e.op_id is not None else "") for e in entries]
    return Result(DONE, "\n".join(lines), data=[e.model_dump(mode="json") for e in entries])
