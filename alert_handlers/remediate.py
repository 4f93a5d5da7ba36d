"""The remediation loop: each new alert -> a decision on the live topology -> the gates -> what is
said and journaled. It never waits on a person.

Today it acts on nothing: evacuation and fencing as automatic operations are not built, so
a decision that passes every gate is held back by `not-built`, journaled like any other hold
(an operation in phase Refused, with the gate and its reason), and said. A decision held by
`held` (the condition is too young) is looked at again when its hold time is up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from alert_handlers.alert import Alert
from alert_handlers.gates import GateContext, Hold, hold
from alert_handlers.rules import DEFAULT_RULES, Decision, Mode, Rule, decide
from infra.journal import Journal
from infra.topology import Snapshot

log = logging.getLogger(__name__)
AUTOMATIC = frozenset({"evacuate", "fence"})  # the operation kinds remediation starts


class Say(Protocol):
    """Say `text` in Slack; `alert` when it is about one (the message then offers a Silence button)."""
    async def __call__(self, text: str, alert: Alert | None = None) -> None: ...


@dataclass
class Policy:
    """The remediation section of the config, as the loop needs it."""
    mode: Mode = "approve"
    hold_seconds: float = 60.0
    cooldown_seconds: float = 1800.0
    blocking_alerts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    held: Hold | None
    op_id: int | None = None


class Remediator:
    def __init__(self, snapshot: Callable[[], Awaitable[Snapshot]], journal: Journal, policy: Policy,
                 clock: Callable[[], float], say: Say, rules: tuple[Rule, ...] = DEFAULT_RULES,
                 observe: Callable[[Outcome], None] | None = None) -> None:
        self.snapshot, self.journal, self.policy, self.clock, self.say = snapshot, journal, policy, clock, say
        self.observe = observe  # every outcome: the bot counts them
        # the config's mode is every default rule's mode; a rule set to notify stays notify
        self.rules = tuple(r if r.mode == "notify" else r.model_copy(update={"mode": policy.mode})
                           for r in rules)
        self.first_seen: dict[str, float] = {}
        self.firing: set[str] = set()
        self.rechecks: set[asyncio.Task[None]] = set()

    async def handle(self, alert: Alert) -> Outcome:
        (self.firing.add if alert.status == "firing" else self.firing.discard)(alert.name)
        snap, now = await self.snapshot(), self.clock()
        decision = decide(alert, snap, self.rules)
        if decision.action in ("notify", "ignore", "resolve"):
            if decision.action == "resolve" and decision.blade:
                self.first_seen.pop(f"evacuate:{decision.blade}", None)
                self.first_seen.pop(f"fence:{decision.blade}", None)
            if decision.action != "ignore":
                await self.say(f"{alert.name} ({alert.status}): {decision.reason}", alert)
            return Outcome(decision, None)
        first = self.first_seen.setdefault(decision.fact, now)
        context = GateContext(
            decision=decision, snapshot=snap, first_seen=first, hold_seconds=self.policy.hold_seconds,
            cooldown_seconds=self.policy.cooldown_seconds, paused=await self.journal.paused(),
            running=[f"{op.kind} {op.target} (op {op.id})" for op in await self.journal.unfinished()],
            last_action=await self._last_actions(), firing=self.firing,
            blocking_alerts=self.policy.blocking_alerts)
        held = hold(context, now) or self._not_built(decision)
        op = await self.journal.refuse(decision.action, decision.blade or "", {
            "alert": alert.name, "fingerprint": alert.fingerprint, "fact": decision.fact,
            "gate": held.gate, "decision": decision.reason}, f"{held.gate}: {held.reason}", now)
        await self.say(f"Held back: {decision.action} {decision.blade} ({decision.reason}). "
                       f"{held.reason} [op {op.id}]", alert)
        if held.gate == "held":
            self._recheck(alert, first + self.policy.hold_seconds - now)
        return Outcome(decision, held, op.id)

    async def _last_actions(self) -> dict[str, float]:
        """Blade -> when drewburr last started an automatic operation on it (from the journal, so the
        cooldown survives a restart); decisions held back (Refused) are not actions."""
        ops = await self.journal.list(limit=200)  # newest first: the first seen per blade wins
        acted: dict[str, float] = {}
        for op in ops:
            if op.kind in AUTOMATIC and op.phase != "Refused":
                acted.setdefault(op.target, op.created)
        return acted

    def _not_built(self, decision: Decision) -> Hold:
        if decision.mode == "approve":
            return Hold(gate="approval", reason="this rule asks a person to approve, and approval requests "
                        "for remediation are not built yet (the Slack buttons serve typed commands only)")
        return Hold(gate="not-built", reason=f"automatic {decision.action} is not built yet; by hand: "
                    f"`drewburr drain {decision.blade}` (evacuate) or, once the blade is confirmed off, "
                    "the out-of-service taint on its nodes (fence)")

    def _recheck(self, alert: Alert, delay: float) -> None:
        async def later() -> None:
            await asyncio.sleep(max(delay, 0.0))
            await self.process(alert)
        task = asyncio.create_task(later())
        self.rechecks.add(task)
        task.add_done_callback(self.rechecks.discard)

    async def process(self, alert: Alert) -> None:
        """Handle one alert; a failure is logged and said, never raised (the loop must go on)."""
        try:
            outcome = await self.handle(alert)
        except Exception as exc:  # a gateway down must not end remediation for good
            log.exception("remediation of %s failed", alert.name)
            await self.say(f"Could not handle {alert.name}: {exc}", alert)
            return
        if self.observe:
            self.observe(outcome)

    async def run(self, queue: asyncio.Queue[Alert]) -> None:
        """Handle alerts until cancelled."""
        while True:
            alert = await queue.get()
            try:
                await self.process(alert)
            finally:
                queue.task_done()
