"""The remediation loop: each new alert -> a decision on the live topology -> the gates -> an
action, an approval request or a hold, said in the fact's incident thread and journaled.

A decision that passes every gate starts its operation (`evacuate` or `fence`, journaled like
any other) in mode `auto`, or asks for a Confirm in mode `approve` (alert_handlers/approvals.py);
the operation's steps are said in the incident's thread (acting.py). A hold is journaled (an
operation in phase Refused with the gate and its reason) and said once per gate. A decision held
by `held` (too young), by PVE HA still fencing the blade, by a storm or by another operation is
looked at again later. It never waits on a person.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from alert_handlers import approvals
from alert_handlers.acting import Acting
from alert_handlers.alert import Alert
from alert_handlers.gates import GATES, GateContext, Hold, hold
from alert_handlers.incidents import Incidents
from alert_handlers.rules import DEFAULT_RULES, Decision, Mode, Rule, decide
from infra.fencing import FenceState, fence_state
from infra.journal import Confirmation
from infra.operations.context import Context
from infra.topology import Snapshot

log = logging.getLogger(__name__)
ACTIONS = ("evacuate", "fence")
PASSING = frozenset({"storm", "one-at-a-time"})  # holds that end by themselves: looked at again


@dataclass
class Policy:
    """The remediation section of the config, as the loop needs it."""
    mode: Mode = "approve"
    hold_seconds: float = 60.0
    cooldown_seconds: float = 1800.0
    blocking_alerts: list[str] = field(default_factory=list)
    poll_seconds: float = 5.0  # looks again at a fence PVE HA is doing, and at fenced nodes back Ready
    approval_seconds: float = 3600.0  # an approval request can be answered this long


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    held: Hold | None
    op_id: int | None = None


class Remediator:
    def __init__(self, ctx: Context, policy: Policy, clock: Callable[[], float], incidents: Incidents,
                 rules: tuple[Rule, ...] = DEFAULT_RULES,
                 observe: Callable[[Outcome], None] | None = None) -> None:
        self.ctx, self.policy, self.clock, self.incidents = ctx, policy, clock, incidents
        self.acting = Acting(ctx, incidents, clock, policy.cooldown_seconds)
        self.observe = observe  # every outcome: the bot counts them
        # the config's mode is every default rule's mode; a rule set to notify stays notify
        self.rules = tuple(r if r.mode == "notify" else r.model_copy(update={"mode": policy.mode})
                           for r in rules)
        self.first_seen: dict[str, float] = {}
        self.firing: set[str] = set()
        self.rechecks: set[asyncio.Task[None]] = set()
        self.rechecking: set[str] = set()  # facts with a re-check scheduled
        self.one = asyncio.Lock()  # one decision at a time: alerts, their re-checks and approvals

    async def handle(self, alert: Alert, again: bool = False) -> Outcome:
        """`again`: a re-check of an alert seen before (it says nothing new about what fires)."""
        if not again:
            (self.firing.add if alert.status == "firing" else self.firing.discard)(alert.name)
        snap, now = await self.ctx.snapshot(), self.clock()
        decision = decide(alert, snap, self.rules)
        if decision.action == "resolve":
            await self._resolved(alert, decision)
            return Outcome(decision, None)
        if decision.action in ("notify", "ignore"):
            if decision.action == "notify":
                await self.incidents.say(decision.fact, f"{alert.name} ({alert.status}): {decision.reason}",
                                         alert.fingerprint, alert=alert)
            return Outcome(decision, None)
        first = self.first_seen.setdefault(decision.fact, now)
        fence = await self._fence_state(decision)
        held = hold(await self._gate_context(decision, snap, first, fence), now)
        if held is None:
            if decision.mode == "approve":
                await self._ask(decision, alert.fingerprint, f"{alert.name}: {decision.reason}.")
                return Outcome(decision, None)
            op_id = await self.acting.start(decision, alert.name, alert.fingerprint, by="drewburr")
            return Outcome(decision, None, op_id)
        op = await self.ctx.journal.refuse(decision.action, decision.blade or "", {
            "alert": alert.name, "fingerprint": alert.fingerprint, "fact": decision.fact,
            "gate": held.gate, "decision": decision.reason}, f"{held.gate}: {held.reason}", now)
        fact = decision.fact if held.gate != "storm" else "storm"  # one storm, one thread, whatever fails
        await self.acting.hold(fact, held, alert.fingerprint,
                               f"Held back: {decision.action} {decision.blade} ({decision.reason}). "
                               f"{held.reason} [op {op.id}]", alert)
        if held.gate == "held":
            self._recheck(alert, decision.fact, first + self.policy.hold_seconds - now)
        elif held.gate == "confirmed-off" and fence is not None and fence.verdict == "fencing":
            self._recheck(alert, decision.fact, self.policy.poll_seconds)
        elif held.gate in PASSING:  # a booting VM, another operation: look again, act once it is over
            self._recheck(alert, decision.fact, max(self.policy.poll_seconds, self.policy.hold_seconds))
        elif held.gate == "confirmed-off" and fence is not None and fence.verdict == "never":
            await self._ask(decision, alert.fingerprint, "Only an admin can say it is off.",
                            confirms_off=True)
        return Outcome(decision, held, op.id)

    async def _fence_state(self, decision: Decision) -> FenceState | None:
        if decision.action != "fence" or decision.blade is None:
            return None
        return fence_state(await self.ctx.pve.ha_manager_status(), decision.blade)

    async def _gate_context(self, decision: Decision, snap: Snapshot, first: float,
                            fence: FenceState | None, confirmed_off: bool = False) -> GateContext:
        blade = decision.blade or ""
        # the whole cooldown window, however many holds were journaled in it
        ops = await self.ctx.journal.since(self.clock() - self.policy.cooldown_seconds)
        acted = {}
        for op in reversed(ops):  # oldest first: the newest action on a blade wins
            if op.kind in ACTIONS and op.phase != "Refused" and op.params.get("by"):
                acted[op.target] = op.created
        return GateContext(
            decision=decision, snapshot=snap, first_seen=first, hold_seconds=self.policy.hold_seconds,
            cooldown_seconds=self.policy.cooldown_seconds, paused=await self.ctx.journal.paused(),
            running=[f"{op.kind} {op.target} (op {op.id})" for op in await self.ctx.journal.unfinished()],
            last_action=acted, firing=self.firing, blocking_alerts=self.policy.blocking_alerts,
            confirmed_off={blade} if confirmed_off or (fence is not None and fence.off) else set(),
            fence_reason=fence.reason if fence else "")

    async def _ask(self, decision: Decision, fingerprint: str, why: str, confirms_off: bool = False) -> None:
        """An approval request with Confirm/Cancel buttons, once per fact while it is pending; a fact
        whose request a person cancelled is not asked about again."""
        incident = await self.incidents.get(decision.fact)
        if incident is not None and incident.approval is not None:
            asked = await self.ctx.journal.get_confirmation(incident.approval)
            if asked is not None and (asked.state == "cancelled" or (asked.state == "pending"
                                      and asked.expires > self.clock())):
                return
        if incident is None:  # what happened opens the thread; the question (edited when answered) follows
            await self.incidents.say(decision.fact, why, fingerprint)
        blade = decision.blade or ""
        flag = "off" if confirms_off else "" if decision.keep_noout else approvals.WITHOUT_NOOUT
        confirmation = Confirmation(id=f"{approvals.PREFIX}{uuid.uuid4().hex[:12]}", user="drewburr",
                                    channel=self.incidents.channel or "", fingerprint=decision.fact,
                                    text=approvals.text(decision.action, blade, flag),
                                    expires=self.clock() + self.policy.approval_seconds)
        await self.ctx.journal.put_confirmation(confirmation)
        who = "an admin" if confirms_off else "someone with operate permission"
        question = (f"Confirm {blade} is powered off (not partitioned), so drewburr fences its nodes?"
                    if confirms_off else f"Approve: {decision.action} {blade}?")
        incident = await self.incidents.say(decision.fact, f"{question} ({who} may answer)", fingerprint,
                                            confirmation=confirmation.id)
        incident.approval = confirmation.id
        await self.incidents.update(incident)

    async def approved(self, confirmation: Confirmation, user: str) -> str:
        """A person pressed Confirm (the front end checked their permission): look again, then act."""
        async with self.one:
            return await self._approved(confirmation, user)

    async def _approved(self, confirmation: Confirmation, user: str) -> str:
        action, blade, flag = approvals.parse(confirmation.text)
        snap, now = await self.ctx.snapshot(), self.clock()
        decision = Decision(action="fence" if action == "fence" else "evacuate", blade=blade, mode="auto",
                            keep_noout=flag != approvals.WITHOUT_NOOUT,
                            reason=f"approved by <@{user}>"
                            + (", who confirmed it is off" if flag == approvals.OFF else ""))
        fence = await self._fence_state(decision)
        context = await self._gate_context(decision, snap, now, fence, confirmed_off=flag == approvals.OFF)
        held = hold(context, now, tuple(g for g in GATES if g[0] != "held"))  # a person decided just now
        if held is not None:
            params = {"fact": confirmation.fingerprint, "by": user, "gate": held.gate}
            op = await self.ctx.journal.refuse(action, blade, params, f"{held.gate}: {held.reason}", now)
            text = f"Approved by <@{user}>, but held back now: {held.reason} [op {op.id}]"
            await self.incidents.say(confirmation.fingerprint, text)
            return text
        op_id = await self.acting.start(decision, "approval", None, by=user, fact=confirmation.fingerprint,
                                        confirmed_by=user if flag == approvals.OFF else None)
        return f"{action} {blade} started by <@{user}> (op {op_id})" if op_id else f"{action} {blade}: locked"

    async def _resolved(self, alert: Alert, decision: Decision) -> None:
        if decision.blade:
            self.first_seen.pop(f"evacuate:{decision.blade}", None)
            self.first_seen.pop(f"fence:{decision.blade}", None)
        incident = await self.incidents.of_alert(alert.fingerprint)
        fact = incident.fact if incident else decision.fact
        await self.incidents.say(fact, f"Resolved: {alert.name} {alert.labels.get('node', '')}".rstrip()
                                 + f" ({decision.reason})", alert.fingerprint)
        await self.acting.release()

    def _recheck(self, alert: Alert, fact: str, delay: float) -> None:
        """Look at the fact again later; one re-check per fact (five alerts about it make one)."""
        if fact in self.rechecking:
            return
        self.rechecking.add(fact)

        async def later() -> None:
            await asyncio.sleep(max(delay, 0.0))
            self.rechecking.discard(fact)
            await self.process(alert, again=True)
        task = asyncio.create_task(later())
        self.rechecks.add(task)
        task.add_done_callback(self.rechecks.discard)

    async def process(self, alert: Alert, again: bool = False) -> None:
        """Handle one alert; a failure is logged and said, never raised (the loop must go on)."""
        try:
            async with self.one:
                outcome = await self.handle(alert, again)
        except Exception as exc:  # a gateway down must not end remediation for good
            log.exception("remediation of %s failed", alert.name)
            await self.incidents.say(f"error:{alert.fingerprint}", f"Could not handle {alert.name}: {exc}")
            return
        if self.observe:
            self.observe(outcome)

    async def run(self, queue: asyncio.Queue[Alert]) -> None:
        """Handle alerts until cancelled; meanwhile, fenced nodes back Ready lose their taint."""
        following = asyncio.create_task(self.acting.follow_up(self.policy.poll_seconds))
        try:
            while True:
                alert = await queue.get()
                try:
                    await self.process(alert)
                finally:
                    queue.task_done()
        finally:
            following.cancel()
