"""Safety gates: small checks, each able to hold an automatic action back and say why.

`hold(ctx, now)` runs them in order and returns the first `Hold`; its reason goes to the log,
the journal and Slack. Every gate reads the live snapshot in `ctx`, never the alert alone:
alerts can be stale, and acting on a stale one is how remediation makes things worse.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from alert_handlers.rules import Decision
from infra.journal import Paused
from infra.planner import Intent, plan
from infra.topology import Snapshot


class Hold(BaseModel):
    model_config = ConfigDict(frozen=True)
    gate: str
    reason: str


class GateContext(BaseModel):
    """What the gates look at: the decision, the live topology and drewburr's own recent history."""
    model_config = ConfigDict(arbitrary_types_allowed=True)

    decision: Decision
    snapshot: Snapshot
    first_seen: float  # when this fact was first reported
    hold_seconds: float = 60.0
    cooldown_seconds: float = 1800.0
    paused: Paused | None = None
    running: list[str] = Field(default_factory=list)  # automatic operations under way
    last_action: dict[str, float] = Field(default_factory=dict)  # blade -> when drewburr last acted on it
    firing: set[str] = Field(default_factory=set)  # alert names firing now
    blocking_alerts: list[str] = Field(default_factory=list)  # kured's idea: these stop automatic action
    confirmed_off: set[str] = Field(default_factory=set)  # blades PVE HA fenced, or an admin confirmed off
    fence_reason: str = ""  # what PVE's HA manager says about the blade (infra/fencing.py)


Gate = Callable[[GateContext, float], str | None]


def unhealthy_blades(snap: Snapshot) -> list[str]:
    """Blades offline in PVE, with a down OSD, or running a NotReady node."""
    return sorted({b.name for b in snap.blades.values() if not b.online} | snap.sick_blades())


def paused(ctx: GateContext, now: float) -> str | None:
    p = ctx.paused
    if p is None:
        return None
    return f"automation is paused by {p.by} since {now - p.since:.0f} s ago: {p.reason}"


def blocking_alert(ctx: GateContext, now: float) -> str | None:
    firing = sorted(set(ctx.blocking_alerts) & ctx.firing)
    return f"blocking alert(s) firing: {', '.join(firing)}" if firing else None


def still_true(ctx: GateContext, now: float) -> str | None:
    """The live re-check: the fact must hold in the topology read just now."""
    blade = ctx.decision.blade
    if blade is None or blade not in unhealthy_blades(ctx.snapshot):
        return f"{blade} looks healthy in the live topology now: the report is stale"
    return None


def held_long_enough(ctx: GateContext, now: float) -> str | None:
    waited = now - ctx.first_seen
    if waited < ctx.hold_seconds:
        return f"condition seen {waited:.0f} s ago; acting after {ctx.hold_seconds:.0f} s if it still holds"
    return None


def storm(ctx: GateContext, now: float) -> str | None:
    bad = unhealthy_blades(ctx.snapshot)
    if len(bad) > 1:
        return f"{len(bad)} blades are unhealthy ({', '.join(bad)}): no automatic action in a storm"
    return None


def one_at_a_time(ctx: GateContext, now: float) -> str | None:
    return f"another automatic operation is running: {', '.join(ctx.running)}" if ctx.running else None


def cooldown(ctx: GateContext, now: float) -> str | None:
    blade = ctx.decision.blade or ""
    last = ctx.last_action.get(blade)
    if last is not None and now - last < ctx.cooldown_seconds:
        left = ctx.cooldown_seconds - (now - last)
        return f"drewburr acted on {blade} {now - last:.0f} s ago; cooldown {left:.0f} s left"
    return None


def quorum(ctx: GateContext, now: float) -> str | None:
    """Evacuating must not cost etcd, corosync or Ceph monitor quorum (the planner's own checks)."""
    blade = ctx.decision.blade
    if ctx.decision.action != "evacuate" or blade is None:
        return None
    p = plan(ctx.snapshot, Intent(kind="drain", blade=blade))
    lost = [f.message for f in p.blockers + p.warnings if f.code.startswith("quorum")]
    return "; ".join(lost) or None


def confirmed_off(ctx: GateContext, now: float) -> str | None:
    """Fence only what is confirmed off: PVE "offline" may be a partition with VMs still running."""
    blade = ctx.decision.blade
    if ctx.decision.action != "fence" or blade in ctx.confirmed_off:
        return None
    why = ctx.fence_reason or ("PVE HA has not fenced it and no admin confirmed it powered off "
                               "(a partitioned blade keeps running its VMs)")
    return f"{blade} is offline in PVE but not confirmed off: {why}"


GATES: tuple[tuple[str, Gate], ...] = (
    ("paused", paused), ("blocking-alert", blocking_alert), ("still-true", still_true),
    ("held", held_long_enough), ("storm", storm), ("one-at-a-time", one_at_a_time),
    ("cooldown", cooldown), ("quorum", quorum), ("confirmed-off", confirmed_off),
)


def hold(ctx: GateContext, now: float, gates: tuple[tuple[str, Gate], ...] = GATES) -> Hold | None:
    """The first gate that holds the action back, with its reason; None when every gate passes."""
    for name, gate in gates:
        reason = gate(ctx, now)
        if reason is not None:
            return Hold(gate=name, reason=reason)
    return None
