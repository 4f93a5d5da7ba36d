"""What a verb returns: an exit code (the CLI contract) and the text to show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from infra.journal import OperationStatus
from infra.operations.context import Context

DONE, FAILED, REFUSED = 0, 1, 2  # 2: usage error, or refused before anything changed

Confirm = Callable[[str], bool]  # shown the plan, says yes or no


@dataclass(frozen=True)
class Result:
    code: int
    text: str
    operation: OperationStatus | None = None


def refused(text: str) -> Result:
    return Result(REFUSED, text)


def finished(op: OperationStatus, text: str) -> Result:
    return Result(DONE if op.phase == "Succeeded" else FAILED, text, op)


async def blade_names(ctx: Context) -> list[str]:
    """Every PVE node, sorted."""
    return sorted(e["node"] for e in await ctx.pve.cluster_resources(type="node"))


async def check_blade(ctx: Context, blade: str) -> Result | None:
    """None when `blade` is a PVE node; otherwise the refusal naming the valid blades."""
    names = await blade_names(ctx)
    if blade in names:
        return None
    return refused(f"unknown blade {blade!r}; valid blades: {', '.join(names)}")
