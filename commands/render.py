"""Rendering of plans (and the shared helpers): rich renderables for a terminal, plain text for the rest.

A verb's `Result` carries both: `body` (tables, wrapping at any width, colour only on a
terminal) and `text`, the same body as plain lines that do not wrap (Slack, logs and a
reader's window wrap them).
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from infra.planner import Finding, Plan
from infra.topology import GIB

WIDTH = 1000  # the plain form does not wrap
MAX_LISTED = 8


def plain(body: RenderableType, width: int = WIDTH) -> str:
    """`body` as plain text (no colour, no trailing blanks), wrapped at `width` columns."""
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False,
                      highlight=False, emoji=False)
    console.print(body)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in out.splitlines())


def line(text: str | Text, indent: int = 0, style: str = "") -> RenderableType:
    """One line that wraps under its own indent at any width."""
    body = text if isinstance(text, Text) else Text(text, style=style)
    return Padding(body, (0, 0, 0, indent), expand=False) if indent else body


def gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def names(items: list[str], limit: int = MAX_LISTED) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def findings(title: str, found: Iterable[Finding], style: str) -> list[RenderableType]:
    """A titled list; a long finding wraps under its own text, not under the dash."""
    found = list(found)
    if not found:
        return []
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for f in found:
        grid.add_row("-", Text.assemble((f"[{f.code}] ", style), f.message))
    return [line(f"{title}:", style=style), Padding(grid, (0, 0, 0, 2), expand=False)]


def verdict(plan: Plan) -> RenderableType:
    """The last line: refused, what a loss means, downtime to accept, or ready."""
    if plan.blockers:
        return line("Refused: resolve the blockers first.", style="bold red")
    if plan.intent.kind == "down":
        return line(f"Nothing to run: this is what losing {plan.intent.blade} means "
                    "(PVE HA restarts HA VMs by itself).")
    if plan.downtime:
        return line("No blockers, but the warnings above mean downtime: go ahead only if that is "
                    "acceptable.", style="yellow")
    return line("Ready to go.", style="green")


def render_plan(plan: Plan) -> RenderableType:
    intent = plan.intent
    down = intent.kind == "down"
    out: list[RenderableType] = [line(f"Plan: {intent.kind} {intent.blade}", style="bold")]
    if plan.moves:
        total = sum(m.memory for m in plan.moves)
        verb = "restart elsewhere by PVE HA" if down else "live-migrate"
        out.append(line(f"VMs to {verb} ({len(plan.moves)}, {gib(total)}):", 2))
        for m in plan.moves:
            role = ", K3s server" if m.server else ""
            target = Text(m.target) if m.target else Text("NO ROOM", style="bold red")
            out.append(line(Text.assemble(f"{m.name} ({m.vmid}, {gib(m.memory)}{role}): {m.source} -> ",
                                          target), 4))
    else:
        out.append(line("No HA VM to restart elsewhere." if down else "No running VM to move.", 2))
    if plan.stays:
        title = f"Stay on {intent.blade}" if down else "Left in place"
        out.append(line(f"{title}: {names(plan.stays)}", 2))
    if plan.nodes:
        out.append(line("K8s nodes lost with it:" if down else "K8s nodes to cordon and drain:", 2))
        for n in plan.nodes:
            note = " (already cordoned)" if n.cordoned else ""
            what = "pod(s) to restart elsewhere" if down else "pod(s) to evict"
            out.append(line(f"{n.node}{note}: {len(n.evict)} {what}" + (":" if n.evict else ""), 4))
            if n.evict:
                out.append(line(names(n.evict), 6))
            if n.left:
                out.append(line(f"left (DaemonSet/mirror): {len(n.left)}", 6))
    if plan.set_noout:
        out.append(line("Ceph: set noout while the blade is in maintenance", 2))
    out += findings("Blockers", plan.blockers, "bold red")
    out += findings("Warnings", plan.warnings, "yellow")
    out.append(verdict(plan))
    return Group(*out)


def render_plans(plans: list[Plan]) -> RenderableType:
    """`reboot all`: one line per blade, then the findings of the first (each is planned again in turn)."""
    out: list[RenderableType] = [line("Plan: reboot every blade, one at a time, stopping at the first "
                                      "failure (each blade is planned again when its turn comes)",
                                      style="bold")]
    for p in plans:
        moves = ", ".join(f"{m.name} -> {m.target or 'NO ROOM'}" for m in p.moves) or "no VM to move"
        pods = sum(len(n.evict) for n in p.nodes)
        counts = f"{len(p.blockers)} blocker(s), {len(p.warnings)} warning(s)"
        out.append(line(f"{p.intent.blade}: {moves}; {pods} pod(s) to evict; {counts}", 2))
    first = plans[0] if plans else None
    if first is not None:
        out += findings(f"Blockers ({first.intent.blade})", first.blockers, "bold red")
        out += findings(f"Warnings ({first.intent.blade})", first.warnings, "yellow")
        out.append(verdict(first))
    return Group(*out)
