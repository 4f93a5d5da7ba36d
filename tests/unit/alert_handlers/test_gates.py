"""Every gate holds an action back in its own situation, and says why."""

from __future__ import annotations

from alert_handlers.gates import GateContext, Paused, hold
from alert_handlers.rules import Decision
from infra.topology import Snapshot
from tests.unit.infra.homelab import homelab

NOW = 10_000.0


def _sick(snap: Snapshot, node: str = "kube05") -> Snapshot:
    snap.nodes[node].ready = False
    return snap


def _ctx(snap: Snapshot | None = None, action: str = "evacuate", **kw: object) -> GateContext:
    decision = Decision(action=action, blade="blade3", mode="auto", reason="test")  # type: ignore[arg-type]
    return GateContext(decision=decision, snapshot=snap or _sick(homelab()), first_seen=NOW - 120, **kw)


def _gate(ctx: GateContext) -> tuple[str, str] | None:
    held = hold(ctx, NOW)
    return (held.gate, held.reason) if held else None


def test_a_sick_blade_alone_held_long_enough_passes_every_gate() -> None:
    assert _gate(_ctx()) is None


def test_paused_names_who_and_why() -> None:
    held = _gate(_ctx(paused=Paused(by="U0ADMIN", reason="firmware upgrade", since=NOW - 60)))
    assert held == ("paused", "automation is paused by U0ADMIN since 60 s ago: firmware upgrade")


def test_a_blocking_alert_holds() -> None:
    held = _gate(_ctx(firing={"CephDataMigration"}, blocking_alerts=["CephDataMigration"]))
    assert held == ("blocking-alert", "blocking alert(s) firing: CephDataMigration")


def test_a_stale_report_about_a_healthy_blade_holds() -> None:
    held = _gate(_ctx(homelab()))
    assert held is not None and held[0] == "still-true" and "stale" in held[1]


def test_a_condition_seen_too_recently_holds() -> None:
    ctx = _ctx()
    ctx.first_seen = NOW - 10
    assert _gate(ctx) == ("held", "condition seen 10 s ago; acting after 60 s if it still holds")


def test_two_unhealthy_blades_are_a_storm() -> None:
    snap = _sick(_sick(homelab()), "kube02")
    held = _gate(_ctx(snap))
    assert held == ("storm", "2 blades are unhealthy (blade2, blade3): no automatic action in a storm")


def test_one_automatic_operation_at_a_time_and_a_cooldown_per_blade() -> None:
    assert _gate(_ctx(running=["evacuate blade1 (op 7)"]))[0] == "one-at-a-time"  # type: ignore[index]
    held = _gate(_ctx(last_action={"blade3": NOW - 600}))
    assert held == ("cooldown", "drewburr acted on blade3 600 s ago; cooldown 1200 s left")
    assert _gate(_ctx(last_action={"blade3": NOW - 4000})) is None


def test_evacuating_without_pve_quorum_holds_with_the_planners_reason() -> None:
    snap = _sick(homelab())
    snap.pve_quorate = False
    assert _gate(_ctx(snap)) == ("quorum", "PVE has no quorum: it cannot migrate or start VMs")


def test_fence_waits_until_the_blade_is_confirmed_off() -> None:
    snap = _sick(homelab(), "kube03")
    snap.blades["blade3"].online = False
    held = _gate(_ctx(snap, action="fence"))
    assert held is not None and held[0] == "confirmed-off" and "partitioned blade" in held[1]
    assert _gate(_ctx(snap, action="fence", confirmed_off={"blade3"})) is None
