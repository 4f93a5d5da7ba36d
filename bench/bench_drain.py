"""Drain makespan of blade3 in the lab, against the limit and against sequential migration.

The limit is the memory of blade3's running VMs over blade3's NIC bandwidth (all of it must
cross that one link, which concurrent migrations share fairly), plus one migration's fixed
cost (setup and switch-over): running migrations in parallel only wins by overlapping those
fixed costs and HA manager rounds, never by a faster wire. Times are lab seconds (the lab
runs 10x real time for this part).
Also: the API calls of one `status`, per system, for the 4-blade and a 64-blade lab.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from pathlib import Path

from bot.cli_ops import build_context
from bot.config import load_settings
from commands.drain import drain
from commands.restore import restore
from commands.status import status
from infra.operations.context import Context
from lab.pve.migrate import MIGRATE_OVERHEAD
from lab.scenario import BladeSpec, Scenario, VmSpec, load_scenario
from tests.conftest import RunningLab

FAST = {"poll_seconds": 0.05, "eviction_retry_seconds": 0.2}
# Slow enough that our own polling and planning (tenths of a real second) stay small in lab seconds.
MAKESPAN_SCALE = 10


def context(lab: RunningLab, **options: object) -> Context:
    ctx = build_context(load_settings(lab.workdir / "drewburr.yaml"))
    ctx.options = dataclasses.replace(ctx.options, **FAST, **options)  # type: ignore[arg-type]
    return ctx


async def migrate_makespan(lab: RunningLab, per_nic: int) -> float:
    """Lab seconds of the drain's migrate step; then blade3 is restored for the next run."""
    ctx = context(lab, migrations_per_nic=per_nic)
    marks: dict[str, float] = {}

    async def clock(op, step) -> None:  # type: ignore[no-untyped-def]
        if step.name == "migrate" and step.outcome in ("running", "done"):
            marks.setdefault(step.outcome, lab.lab.clock.now())

    result = await drain(ctx, "blade3", yes=True, listener=clock)
    assert result.code == 0, result.text
    assert (await restore(ctx, "blade3", yes=True)).code == 0
    return marks["done"] - marks["running"]


def makespan() -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            RunningLab(Path(tmp) / "lab", load_scenario(None), time_scale=MAKESPAN_SCALE) as lab:
        pve = lab.lab.pve
        moving = [vm for vm in pve.vms.values() if vm.node == "blade3" and vm.status == "running"]
        bandwidth = pve.blades["blade3"].nic_bandwidth  # bytes per lab second
        wire = sum(vm.memory for vm in moving) / bandwidth
        limit = wire + MIGRATE_OVERHEAD
        sequential = asyncio.run(migrate_makespan(lab, 1))
        parallel = asyncio.run(migrate_makespan(lab, 2))
    print(f"drain blade3 (migrate step, one run): {len(moving)} VMs, "
          f"{sum(vm.memory for vm in moving) / 2**30:.0f} GiB over {bandwidth * 8 / 1e9:.0f} Gb/s")
    print(f"  limit (memory / shared NIC bandwidth {wire:.1f} + fixed cost {MIGRATE_OVERHEAD:.0f}) "
          f"{limit:.1f} lab s; sequential (1 per NIC) {sequential:.1f} lab s; "
          f"parallel (2 per NIC) {parallel:.1f} lab s")
    print(f"  parallel / limit = {parallel / limit:.2f}; parallel / sequential = {parallel / sequential:.2f} "
          "(what parallelism saves is overlapped fixed costs and HA rounds, not wire time)")


def big_scenario(blades: int, vms_per_blade: int) -> Scenario:
    specs = [BladeSpec(name=f"blade{i}", memory_gib=256, mon=i <= 3) for i in range(1, blades + 1)]
    vms = [VmSpec(vmid=100 + n, name=f"kube{n:03d}", blade=f"blade{n % blades + 1}", memory_gib=2,
                  k3s="server" if n < 3 else "agent", ha=True)
           for n in range(blades * vms_per_blade)]
    return Scenario(name=f"{blades}-blades", blades=specs, vms=vms, workloads="none")


def status_calls() -> None:
    print("status: API calls of one `drewburr status`, per system (must not grow with VMs)")
    print(f"{'scenario':<14} {'VMs':>5} {'PVE calls':>10} {'K8s calls':>10}")
    for name, scenario in (("4 blades", load_scenario(None)), ("64 blades", big_scenario(64, 4))):
        with tempfile.TemporaryDirectory() as tmp, \
                RunningLab(Path(tmp) / "lab", scenario, time_scale=50) as lab:
            ctx = context(lab)
            recorded = lab.lab.recorder.requests
            start = lab.call(len, recorded)
            asyncio.run(status(ctx))
            seen = lab.call(lambda r=recorded, n=start: r[n:])
            pve_calls = sum(r.api == "pve" for r in seen)
            k8s_calls = sum(r.api == "k8s" for r in seen)
            print(f"{name:<14} {len(scenario.vms):>5} {pve_calls:>10} {k8s_calls:>10}")


def main() -> None:
    makespan()
    status_calls()


if __name__ == "__main__":
    main()
