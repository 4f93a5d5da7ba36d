"""One agent's provision in lab seconds, step by step, beside the floor: the sum of the lab's own
durations for the same steps (the clone task, QEMU's start, the guest's boot and cloud-init's
first run, K3s' download and start, its registration and CNI). What is left is drewburr's
overhead (polling, API calls, its own steps); it must stay under 5 % of the floor. A step can
look quicker than its floor when the lab ran ahead while the step before it was still polling:
the total is what counts.

The VM is not HA-managed, so the floor has no CRM rounds in it. The lab runs 4x real time: slow
enough that a real-time poll (50 ms) costs a fifth of a lab second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from pathlib import Path

from bench.bench_drain import context
from commands.provision import provision
from infra.operations.provision_check import Ask
from infra.operations.provision_spec import ProvisionOptions
from lab.guest.services import CLOUD_INIT_FIRST_BOOT
from lab.k8s.guest import DOWNLOAD
from lab.k8s.k3s_fate import AGENT_START, CNI, REGISTER
from lab.pve.qemu import QEMU_START
from lab.scenario import load_scenario
from tests.conftest import RunningLab

SCALE = 4
RESIZE_TASK = 1.0  # lab seconds of PVE's resize task in the lab
GROUPS = {"clone": ["clone"], "start": ["start"], "agent": ["agent"], "K3s": ["k3s"],
          "Ready": ["join", "label", "ready"], "other": ["place", "configure", "resize", "ha"]}


def floor(lab: RunningLab) -> dict[str, float]:
    timings = lab.lab.scenario.timings
    return {"clone": timings.clone, "start": QEMU_START, "agent": timings.vm_boot + CLOUD_INIT_FIRST_BOOT,
            "K3s": DOWNLOAD + AGENT_START, "Ready": REGISTER + CNI, "other": RESIZE_TASK}


async def timed(lab: RunningLab) -> dict[str, float]:
    """Lab seconds each step took, from its first `running` to its `done`."""
    ctx = context(lab)
    assert isinstance(ctx.provision, ProvisionOptions)
    ctx.provision = dataclasses.replace(ctx.provision, ha=False)
    started: dict[str, float] = {}
    took: dict[str, float] = {}

    async def clock(op, step) -> None:  # type: ignore[no-untyped-def]
        now = lab.lab.clock.now()
        if step.outcome == "running":
            started.setdefault(step.name, now)
        elif step.outcome == "done":
            took[step.name] = now - started[step.name]

    result = await provision(ctx, Ask(name="kube06", memory_mib=2048), yes=True, listener=clock)
    assert result.code == 0, result.text
    return took


def main() -> None:
    scenario = load_scenario(None).model_copy(update={"workloads": "none"})
    with tempfile.TemporaryDirectory() as tmp, \
            RunningLab(Path(tmp) / "lab", scenario, time_scale=SCALE) as lab:
        took = asyncio.run(timed(lab))
        least = floor(lab)
    print(f"provision of one K3s agent (not HA), lab seconds at {SCALE}x real time")
    print(f"{'step':<8} {'took':>7} {'floor':>7} {'overhead':>9}")
    for group, steps in GROUPS.items():
        spent = sum(took[s] for s in steps)
        print(f"{group:<8} {spent:>7.1f} {least[group]:>7.1f} {spent - least[group]:>9.1f}")
    total, bottom = sum(took.values()), sum(least.values())
    share = (total - bottom) / bottom
    print(f"{'total':<8} {total:>7.1f} {bottom:>7.1f} {total - bottom:>9.1f}  "
          f"overhead {share:.1%} of the floor (must stay under 5 %: {'ok' if share < 0.05 else 'OVER'})")


if __name__ == "__main__":
    main()
