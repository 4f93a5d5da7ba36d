"""Concurrent live migrations share the blades' NICs: parallelism cannot beat the wire."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.pve.links import Transfer, fair_rates
from lab.pve.migrate import MIGRATE_OVERHEAD
from lab.pve.objects import GIB
from lab.scenario import BladeSpec, Scenario, VmSpec
from tests.conftest import RunningLab
from tests.lab.pve_client import proxmox, vm_resource, wait_task

NIC = 10e9 / 8  # bytes per lab second of a 10 Gb/s NIC
VMS = range(201, 211)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[RunningLab]:
    """Ten 1 GiB guests on blade1 (not HA, so each POST is the migration itself)."""
    blades = [BladeSpec(name=f"blade{i}", mon=i <= 3) for i in range(1, 5)]
    vms = [VmSpec(vmid=v, name=f"vm{v}", blade="blade1", memory_gib=1) for v in VMS]
    with RunningLab(tmp_path / "lab", Scenario(name="ten", blades=blades, vms=vms, workloads="none"),
                    time_scale=20) as running:
        yield running


def test_ten_parallel_migrations_off_one_blade_take_their_memory_over_its_nic(lab: RunningLab) -> None:
    api = proxmox(lab)
    targets = ["blade2", "blade3", "blade4"]
    upids = [api.nodes("blade1").qemu(v).migrate.post(target=targets[i % 3], online=1)
             for i, v in enumerate(VMS)]
    tasks = [wait_task(api, upid, 60) for upid in upids]
    assert {t["exitstatus"] for t in tasks} == {"OK"}
    assert {vm_resource(api, v)["node"] for v in VMS} == set(targets)
    makespan = max(t["endtime"] for t in tasks) - min(t["starttime"] for t in tasks)  # lab seconds
    wire = len(VMS) * GIB / NIC  # every byte leaves through blade1's one NIC
    assert makespan >= wire
    # the fixed costs overlap: together they take far less than one after the other
    assert makespan < wire + len(VMS) * MIGRATE_OVERHEAD
    log = [line["t"] for line in api.nodes("blade1").tasks(upids[-1]).log.get()]
    speed = next(t for t in log if "average migration speed" in t)
    assert " MiB/s" in speed  # a share of the NIC; alone it would have had 1.2 GiB/s


def _transfer(source: str, target: str, cap: float = float("inf")) -> Transfer:
    return Transfer(source, target, GIB, cap, lambda t: None)


def test_fair_share_splits_each_nic_and_gives_what_a_capped_transfer_leaves() -> None:
    bandwidth = {"a": 100.0, "b": 100.0, "c": 100.0}
    one_to_two = [_transfer("a", "b"), _transfer("a", "c")]
    fair_rates(one_to_two, bandwidth.__getitem__)
    assert [t.rate for t in one_to_two] == [50.0, 50.0]
    capped = [_transfer("a", "b", cap=10.0), _transfer("a", "c")]
    fair_rates(capped, bandwidth.__getitem__)
    assert [t.rate for t in capped] == [10.0, 90.0]
    crossing = [_transfer("a", "c"), _transfer("b", "c"), _transfer("a", "b")]
    fair_rates(crossing, bandwidth.__getitem__)
    assert [t.rate for t in crossing] == [50.0, 50.0, 50.0]  # c's ingress and a's egress, halved
