"""What remediation does once it decided: start the operation and tell its incident's thread each
step; say a hold once per gate; and, later, take the out-of-service taint off fenced nodes that
are Ready again (the blade came back).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from alert_handlers.alert import Alert
from alert_handlers.gates import Hold
from alert_handlers.incidents import Incidents
from alert_handlers.rules import Decision
from infra.journal import Locked, OperationStatus, StepRecord
from infra.operations import run as operations
from infra.operations.context import Context
from infra.operations.fence import release_ready

log = logging.getLogger(__name__)


class Acting:
    def __init__(self, ctx: Context, incidents: Incidents, clock: Callable[[], float],
                 quiet_seconds: float = 1800.0) -> None:
        self.ctx, self.incidents, self.clock = ctx, incidents, clock
        self.quiet_seconds = quiet_seconds  # a hold by the same gate is not said again within this
        self.tasks: set[asyncio.Task[None]] = set()

    async def hold(self, fact: str, held: Hold, fingerprint: str | None, text: str,
                   alert: Alert | None = None) -> None:
        """Say a hold in the fact's thread (with the alert's Silence button), unless this gate's hold was
        the last one said there, lately."""
        incident = await self.incidents.get(fact)
        if incident is not None and incident.said == held.gate \
                and self.clock() - (incident.said_at or 0.0) < self.quiet_seconds:
            log.info("held again (not said again): %s", text)
            if fingerprint and fingerprint not in incident.fingerprints:  # its resolution comes here too
                incident.fingerprints.append(fingerprint)
                await self.incidents.update(incident)
            return
        incident = await self.incidents.say(fact, text, fingerprint, alert=alert)
        incident.said, incident.said_at = held.gate, self.clock()
        await self.incidents.update(incident)

    async def start(self, decision: Decision, alert: str, fingerprint: str | None, by: str,
                    fact: str | None = None, confirmed_by: str | None = None) -> int | None:
        """Journal the operation and run it in the background; None when a lock refused it."""
        fact = fact or decision.fact
        params: dict[str, Any] = {"by": by, "fact": fact, "alert": alert, "keep_noout": decision.keep_noout}
        if confirmed_by:
            params["confirmed_by"] = f"<@{confirmed_by}>"
        blade = decision.blade or ""
        try:
            op = await operations.create(self.ctx, decision.action, blade, params)
        except Locked as exc:
            refused = await self.ctx.journal.refuse(decision.action, blade, params, f"locked: {exc}",
                                                    self.clock())
            await self.hold(fact, Hold(gate="locked", reason=str(exc)), fingerprint,
                            f"Held back: {decision.action} {blade}: {exc} [op {refused.id}]")
            return None
        noout = (" (no noout: its data must re-replicate)"
                 if decision.action == "evacuate" and not decision.keep_noout else "")
        incident = await self.incidents.say(fact, f"Starting {decision.action} {blade}{noout} [op {op.id}]: "
                                            f"{decision.reason}", fingerprint)
        incident.op_id, incident.said = op.id, None
        await self.incidents.update(incident)
        task = asyncio.create_task(self._run(op.id, fact))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return op.id

    async def _run(self, op_id: int, fact: str) -> None:
        steps: asyncio.Queue[StepRecord | None] = asyncio.Queue()

        async def listener(op: OperationStatus, step: StepRecord) -> None:
            if step.outcome in ("done", "failed") or (step.outcome == "retrying" and step.attempts == 2):
                steps.put_nowait(step.model_copy())

        async def poster() -> None:
            while (step := await steps.get()) is not None:
                await self.incidents.say(fact, f"{step.name}: {step.outcome}. {step.message}"[:2900])
        posting = asyncio.create_task(poster())
        started = time.monotonic()
        try:
            final = await operations.run(self.ctx, op_id, listener)
        except Exception as exc:  # said, never lost: the loop goes on
            log.exception("operation %s failed", op_id)
            final = None
            await self.incidents.say(fact, f"Operation {op_id} failed unexpectedly: {exc}")
        finally:
            steps.put_nowait(None)
            await posting
        if final is not None:
            error = f": {final.last_error}" if final.last_error else ""
            await self.incidents.say(fact, f"{final.kind} {final.target} {final.phase.lower()} in "
                                     f"{time.monotonic() - started:.0f} s [op {op_id}]{error}")

    async def release(self) -> None:
        """Fenced nodes Ready again lose the out-of-service taint; said in their incident's thread."""
        for op in await self.ctx.journal.list(limit=200):
            if op.kind != "fence" or not op.params.get("tainted") or op.phase in ("Pending", "Running"):
                continue
            released = await release_ready(self.ctx, op.id)
            if released:
                await self.incidents.say(op.params.get("fact", f"fence:{op.target}"),
                                         f"{', '.join(released)} Ready again: out-of-service taint removed "
                                         f"[op {op.id}]")

    async def follow_up(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.release()
            except Exception:  # a gateway down now: try again next round
                log.exception("releasing fenced nodes failed")
