"""Leader election through a Lease on the lab's API server, as client-go's leaderelection does it.
Each replica's clock is a number the test moves: expiry is judged by the observer's own clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import yaml

from bot.config import LeaderConfig
from bot.leader import Elector
from infra.gateways.k8s import K8sGateway
from tests.conftest import RunningLab
from tests.tools import free_port

CONFIG = LeaderConfig(enabled=True, namespace="default", lease_seconds=15, renew_seconds=10, retry_seconds=2)


class Replica:
    def __init__(self, lab: RunningLab, name: str) -> None:
        self.now = 1000.0
        self.changes: list[bool] = []
        self.gw = K8sGateway(lab.workdir / "kubeconfig")
        self.elector = Elector(self.gw, CONFIG, name, self.changes.append, clock=lambda: self.now)

    async def lease(self) -> dict:
        found = await self.gw.get_lease("default", CONFIG.lease_name)
        assert found is not None
        return found["spec"]


async def test_the_first_takes_the_lease_and_renewing_keeps_acquire_time(running_lab):
    a = Replica(running_lab, "a")
    await a.elector.step()
    first = await a.lease()
    assert a.elector.leading and a.changes == [True]
    assert (first["holderIdentity"], first["leaseDurationSeconds"], first["leaseTransitions"]) == ("a", 15, 0)
    a.now += 2
    await asyncio.sleep(0.01)  # the wall clock moves on, so renewTime does
    await a.elector.step()
    renewed = await a.lease()
    assert renewed["acquireTime"] == first["acquireTime"] and renewed["renewTime"] > first["renewTime"]
    assert renewed["leaseTransitions"] == 0 and a.changes == [True]


async def test_a_held_lease_is_never_taken_before_it_expired_by_the_observers_clock(running_lab):
    a, b = Replica(running_lab, "a"), Replica(running_lab, "b")
    await a.elector.step()
    await b.elector.step()  # b first sees the record now, by its clock
    b.now += 14.9
    await b.elector.step()
    assert not b.elector.leading and (await b.lease())["holderIdentity"] == "a"
    b.now += 0.2  # 15.1 s since b saw it change: expired, whatever renewTime says
    await b.elector.step()
    taken = await b.lease()
    assert b.elector.leading and b.changes == [True]
    assert (taken["holderIdentity"], taken["leaseTransitions"]) == ("b", 1)
    a.now += 2
    await a.elector.step()  # a learns it was taken over and steps down at once
    assert not a.elector.leading and a.changes == [True, False]


async def test_a_renewing_holder_keeps_it_even_with_a_renew_time_from_an_hour_ago(running_lab):
    """A holder whose clock is behind writes old renewTimes; the observer judges by its own clock."""
    a, b = Replica(running_lab, "a"), Replica(running_lab, "b")
    old = datetime.now(UTC) - timedelta(hours=1)
    created = await a.gw.create_lease("default", CONFIG.lease_name, {
        "holderIdentity": "a", "leaseDurationSeconds": 15, "acquireTime": old, "renewTime": old})
    await b.elector.step()
    assert not b.elector.leading
    for _ in range(3):  # a renews every 10 s of b's clock; each change restarts b's count
        b.now += 10
        version = created["metadata"]["resourceVersion"]
        created = await a.gw.replace_lease("default", CONFIG.lease_name, {
            "holderIdentity": "a", "leaseDurationSeconds": 15, "renewTime": old + timedelta(seconds=b.now)},
            version)
        await b.elector.step()
        assert not b.elector.leading


async def test_a_released_lease_is_taken_at_once_and_racing_replicas_get_one_leader(running_lab):
    replicas = [Replica(running_lab, name) for name in "abc"]
    await asyncio.gather(*(r.elector.step() for r in replicas))
    leaders = [r for r in replicas if r.elector.leading]
    assert len(leaders) == 1
    leader = leaders[0]
    await leader.elector.release()
    released = await leader.lease()
    assert released["holderIdentity"] in ("", None) and not leader.elector.leading
    nxt = next(r for r in replicas if r is not leader)
    await nxt.elector.step()  # no waiting for expiry: the holder gave it up
    assert nxt.elector.leading and (await nxt.lease())["holderIdentity"] == nxt.elector.identity


async def test_a_leader_that_cannot_renew_steps_down_before_the_lease_expires(running_lab, tmp_path):
    a = Replica(running_lab, "a")
    await a.elector.step()
    kubeconfig = yaml.safe_load((running_lab.workdir / "kubeconfig").read_text())
    kubeconfig["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"  # nobody there
    (tmp_path / "gone").write_text(yaml.safe_dump(kubeconfig))
    a.elector.k8s = K8sGateway(tmp_path / "gone")
    a.now += 9
    await a.elector.step()
    assert a.elector.leading  # 9 s without renewing: still within renew_seconds
    a.now += 1.5
    await a.elector.step()
    assert not a.elector.leading and a.changes == [True, False]
