"""What a verb returns: an exit code (the CLI contract), the text to show, and its data for --json."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import RenderableType

from commands.render import plain
from infra.journal import OperationStatus
from infra.operations.context import Context
from infra.planner import UnknownBlade

DONE, FAILED, REFUSED = 0, 1, 2  # 2: usage error, or refused before anything changed

Confirm = Callable[[RenderableType], bool]  # shown the plan, says yes or no


@dataclass(frozen=True)
class Result:
    code: int
    text: str  # plain text (journal, logs, Slack); `body` is the same for a terminal
    operation: OperationStatus | None = None
    body: RenderableType | None = None
    data: Any = None  # what `--json` prints


def shown(code: int, body: RenderableType, data: Any = None,
          operation: OperationStatus | None = None) -> Result:
    """A result rendered from `body` (its text is the plain form)."""
    return Result(code, plain(body), operation, body, data)


def refused(text: str) -> Result:
    return Result(REFUSED, text)


def finished(op: OperationStatus, body: RenderableType) -> Result:
    return shown(DONE if op.phase == "Succeeded" else FAILED, body, op.model_dump(mode="json"), op)


async def blade_names(ctx: Context) -> list[str]:
    """Every PVE node, sorted."""
    return sorted(e.node for e in await ctx.pve.resources(type="node") if e.node)


async def check_blade(ctx: Context, blade: str, also: tuple[str, ...] = ()) -> Result | None:
    """None when `blade` is a PVE node (or one of `also`, e.g. "all"); else the refusal naming the
    valid blades."""
    names = await blade_names(ctx)
    if blade in names or blade in also:
        return None
    return refused(str(UnknownBlade(blade, names, also)))
