"""Recovery of a stateful service when its blade dies: lab seconds from blade3's power-off to the
Postgres StatefulSet's pod Ready on another blade, beside PVE HA's fence and beside Kubernetes alone.

Postgres is put on kube05, blade3's VM that PVE HA does not restart. With drewburr, the remediation
loop (mode auto, no hold time) gets `KubeNodeNotReady kube05` the moment Kubernetes marks the node
NotReady, as the watcher or Alertmanager would deliver it, and fences blade3 once PVE HA has (the
goal: Postgres Ready within 30 lab seconds of PVE's fence). Kubernetes alone never brings a
StatefulSet's pod back from a dead node; a Deployment's pod comes back after the node monitor's
grace period plus the 300 s not-ready toleration.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from kubernetes import client

from alert_handlers.alert import Alert, fingerprint
from alert_handlers.incidents import Incidents
from alert_handlers.remediate import Policy, Remediator
from bench.bench_drain import context
from lab.faults import apply_fault
from lab.scenario import load_scenario
from tests.conftest import RunningLab
from tests.scenarios.homelab_k8s import WHOAMI, core, node_ready, postgres, postgres_on, ready, whoami_on
from tests.scenarios.opsctx import settled

DREWBURR_SCALE = 10  # our own polling (a twentieth of a real second) stays under a lab second
ALONE_SCALE = 50
HORIZON = 900.0  # lab seconds Kubernetes alone is given
Result = tuple[float | None, float | None]


def _power_off(lab: RunningLab) -> tuple[float, float | None]:
    """Pull blade3's cable: (when, and when PVE HA's fence of it will be done), lab seconds."""
    def off() -> tuple[float, float | None]:
        now = lab.lab.clock.now()
        apply_fault(lab.lab, "power-off", "blade3", now)
        return now, lab.lab.pve.fence_due.get("blade3")
    return lab.call(off)


async def _until(lab: RunningLab, check: Callable[[], bool]) -> float | None:
    """The lab time `check` first holds, or None after HORIZON lab seconds."""
    end = lab.lab.clock.now() + HORIZON
    while lab.lab.clock.now() < end:
        if await asyncio.to_thread(check):
            return lab.lab.clock.now()
        await asyncio.sleep(0.05)
    return None


def _since(start: float, at: float | None) -> float | None:
    return at - start if at is not None else None


def _postgres_moved(api: client.CoreV1Api) -> bool:
    node, is_ready = postgres(api)
    return is_ready and node not in ("kube03", "kube05", None)


async def with_drewburr(lab: RunningLab, api: client.CoreV1Api) -> Result:
    """(PVE's fence, Postgres Ready elsewhere), lab seconds after the power-off."""
    ctx = context(lab)

    async def post(text: str, thread: str | None, confirmation: str | None,
                   about: Alert | None = None) -> str | None:
        return None  # nobody reads Slack here
    remediator = Remediator(ctx, Policy(mode="auto", hold_seconds=0, poll_seconds=0.05), time.time,
                            Incidents(ctx.journal, post, time.time))
    queue: asyncio.Queue[Alert] = asyncio.Queue()
    loop = asyncio.create_task(remediator.run(queue))
    start, fence = _power_off(lab)
    await _until(lab, lambda: not node_ready(api, "kube05"))
    labels = {"alertname": "KubeNodeNotReady", "node": "kube05"}
    queue.put_nowait(Alert(name="KubeNodeNotReady", status="firing", labels=labels, annotations={},
                           fingerprint=fingerprint(labels), starts_at=datetime.now(UTC),
                           source="alertmanager"))
    moved = await _until(lab, lambda: _postgres_moved(api))
    loop.cancel()
    return _since(start, fence), _since(start, moved)


async def kubernetes_alone(lab: RunningLab, api: client.CoreV1Api) -> Result:
    """(Postgres Ready elsewhere, the whoami pod from kube05 replaced and Ready), lab seconds."""
    before = whoami_on(api, "kube05")
    start, _ = _power_off(lab)

    def replaced() -> bool:
        return any(p.metadata.name not in before and ready(p)
                   for p in api.list_namespaced_pod("default", label_selector=WHOAMI).items)
    stateful, deployment = await asyncio.gather(_until(lab, lambda: _postgres_moved(api)),
                                                _until(lab, replaced))
    return _since(start, stateful), _since(start, deployment)


def _run(scale: int, measure: Callable[[RunningLab, client.CoreV1Api], object]) -> Result:
    with tempfile.TemporaryDirectory() as tmp, \
            RunningLab(Path(tmp) / "lab", load_scenario(None), time_scale=scale) as lab:
        asyncio.run(settled(context(lab)))
        api = core(lab)
        postgres_on(api, "kube05")
        return asyncio.run(measure(lab, api))  # type: ignore[arg-type,no-any-return]


def _s(value: float | None) -> str:
    return f"{value:.0f}" if value is not None else f"never (not within {HORIZON:.0f})"


def main() -> None:
    fence, moved = _run(DREWBURR_SCALE, with_drewburr)
    stateful, deployment = _run(ALONE_SCALE, kubernetes_alone)
    print("recovery after blade3's power-off, lab seconds (Postgres on kube05, a VM PVE HA does not restart)")
    print(f"  PVE HA fences blade3 after {_s(fence)}")
    gap = moved - fence if moved is not None and fence is not None else None
    goal = "met" if gap is not None and gap <= 30 else "NOT met"
    print(f"  with drewburr: postgres-0 Ready on another blade after {_s(moved)} "
          f"({_s(gap)} after PVE's fence; goal <= 30: {goal})")
    print(f"  Kubernetes alone: postgres-0 (StatefulSet) {_s(stateful)}; "
          f"a whoami (Deployment) pod after {_s(deployment)} (grace 50 + toleration 300 + start)")


if __name__ == "__main__":
    main()
