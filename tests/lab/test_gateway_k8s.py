"""Our Kubernetes gateway against the lab's API server, through the official client."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from infra.errors import Blocked, Conflict, NotFound
from infra.gateways.k8s import K8sGateway
from infra.topology import Pod
from infra.topology_build import parse_nodes, parse_pdbs, parse_pods
from tests.conftest import RunningLab


def k8s(lab: RunningLab) -> K8sGateway:
    return K8sGateway(lab.workdir / "kubeconfig")


async def ready_pods(gw: K8sGateway, owner: str, count: int) -> list[Pod]:
    """The workload's ready pods once there are `count` of them (the lab schedules at start)."""
    for _ in range(100):
        pods = [p for p in parse_pods(await gw.list_pods(), await gw.list_replicasets())
                if p.owner_name == owner and p.ready and not p.deleting]
        if len(pods) >= count:
            return pods
        await asyncio.sleep(0.1)
    raise AssertionError(f"{owner}: fewer than {count} ready pods")


async def test_lists_come_back_as_api_json_that_the_parsers_read(running_lab):
    gw = k8s(running_lab)
    nodes = parse_nodes(await gw.list_nodes(), {}).nodes
    assert sorted(nodes) == ["kube01", "kube02", "kube03", "kube04", "kube05"]
    assert nodes["kube03"].zone == "blade3" and nodes["kube03"].server and not nodes["kube05"].server
    solo = await ready_pods(gw, "ingress-solo", 2)
    assert len(solo) == 2 and {p.node for p in solo} == {"kube05"} and solo[0].owner_kind == "Deployment"
    assert {p.node for p in parse_pods(await gw.list_pods(node="kube03"))} == {"kube03"}
    whoami = next(p for p in parse_pdbs(await gw.list_pdbs()) if p.name == "whoami")
    assert whoami.desired_healthy == 2 and whoami.expected_pods == 3


async def test_cordon_labels_annotations_and_taints_round_trip(running_lab):
    gw = k8s(running_lab)
    await gw.cordon("kube04")
    await gw.set_labels("kube04", {"drewburr.io/test": "yes"})
    await gw.set_annotations("kube04", {"drewburr.io/maintenance": "blade4"})
    await gw.set_taint("kube04", "drewburr.io/maintenance", "NoSchedule", "blade4")
    await gw.set_taint("kube04", "example.com/other", "NoSchedule")
    node = await gw.get_node("kube04")
    assert node["spec"]["unschedulable"] is True
    assert node["metadata"]["labels"]["drewburr.io/test"] == "yes"
    assert node["metadata"]["annotations"]["drewburr.io/maintenance"] == "blade4"
    assert {t["key"] for t in node["spec"]["taints"]} >= {"drewburr.io/maintenance", "example.com/other"}
    await gw.cordon("kube04", on=False)
    await gw.set_labels("kube04", {"drewburr.io/test": None})
    await gw.set_taint("kube04", "drewburr.io/maintenance", "NoSchedule", present=False)
    node = await gw.get_node("kube04")
    assert not node["spec"].get("unschedulable")
    assert "drewburr.io/test" not in node["metadata"]["labels"]
    keys = [t["key"] for t in node["spec"].get("taints") or []]
    assert "example.com/other" in keys and "drewburr.io/maintenance" not in keys


async def test_taints_written_at_once_by_many_writers_all_land(running_lab):
    """Each taint write is conditional on the node's resourceVersion; the losers of a race
    read again instead of failing (or dropping another writer's taint)."""
    gw = k8s(running_lab)
    keys = [f"drewburr.io/writer-{i}" for i in range(4)]
    await asyncio.gather(*(gw.set_taint("kube04", key, "NoSchedule") for key in keys))
    taints = {t["key"] for t in (await gw.get_node("kube04"))["spec"]["taints"]}
    assert taints >= set(keys)
    await asyncio.gather(*(gw.set_taint("kube04", key, "NoSchedule", present=False) for key in keys))
    assert not {t["key"] for t in (await gw.get_node("kube04"))["spec"].get("taints") or []} & set(keys)


async def test_eviction_is_blocked_by_a_pdb_with_the_real_429(running_lab):
    gw = k8s(running_lab)
    whoami = await ready_pods(gw, "whoami", 3)
    for node in await gw.list_nodes():  # no replacement may restore the budget before the second eviction
        await gw.cordon(node["metadata"]["name"])
    await gw.evict(whoami[0].namespace, whoami[0].name)  # minAvailable 2 of 3: one may go
    with pytest.raises(Blocked) as caught:
        await gw.evict(whoami[1].namespace, whoami[1].name)
    assert caught.value.status == 429 and "disruption budget" in caught.value.detail
    with pytest.raises(NotFound):
        await gw.evict("default", "no-such-pod")


async def test_node_watch_sees_a_cordon(running_lab):
    gw = k8s(running_lab)
    version = (await gw.get_node("kube02"))["metadata"]["resourceVersion"]

    async def first_cordon() -> str:
        async for kind, node in gw.watch_nodes(resource_version=version, timeout_seconds=20):
            if kind == "MODIFIED" and node["spec"].get("unschedulable"):
                return node["metadata"]["name"]
        return ""
    watching = asyncio.create_task(first_cordon())
    await asyncio.sleep(0.2)
    await gw.cordon("kube02")
    assert await asyncio.wait_for(watching, 20) == "kube02"


async def test_lease_is_created_renewed_and_a_stale_renewal_conflicts(running_lab):
    gw = k8s(running_lab)
    assert await gw.get_lease("default", "drewburr-leader") is None
    spec = {"holderIdentity": "pod-a", "leaseDurationSeconds": 15, "renewTime": datetime.now(UTC)}
    first = (await gw.create_lease("default", "drewburr-leader", spec))["metadata"]["resourceVersion"]
    with pytest.raises(Conflict):  # a second replica creating it too
        await gw.create_lease("default", "drewburr-leader", {**spec, "holderIdentity": "pod-b"})
    later = {**spec, "renewTime": datetime.now(UTC) + timedelta(seconds=1)}
    renewed = await gw.replace_lease("default", "drewburr-leader", later, first)
    assert renewed["spec"]["holderIdentity"] == "pod-a" and renewed["metadata"]["resourceVersion"] != first
    with pytest.raises(Conflict):
        await gw.replace_lease("default", "drewburr-leader", {**spec, "holderIdentity": "pod-b"}, first)
    assert (await gw.get_lease("default", "drewburr-leader"))["spec"]["holderIdentity"] == "pod-a"


@pytest.mark.parametrize("when", [datetime(2026, 12, 6, 17, 0, 0, tzinfo=UTC),
                                  datetime(2026, 12, 6, 17, 0, 0, 123456, tzinfo=UTC)])
async def test_lease_times_the_python_client_sends_are_judged_like_the_api_server(running_lab, when):
    """The client's models send `datetime.isoformat()`: `+00:00` is a zone Go's RFC3339Micro layout accepts,
    but a whole second comes without a fraction, which it refuses (a string is parsed into a datetime
    first, so it fares the same). The gateway never sends such a time."""
    gw = k8s(running_lab)
    model = client.V1Lease(metadata=client.V1ObjectMeta(name="model"),
                           spec=client.V1LeaseSpec(holder_identity="a", renew_time=when))
    text = {"metadata": {"name": "text"}, "spec": {"renewTime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}}
    for body in (model, text):
        if when.microsecond:
            assert gw.coordination.create_namespaced_lease("default", body).spec.renew_time == when
        else:
            with pytest.raises(ApiException, match=r"cannot parse .{0,4}\+00:00.{0,4} as .{0,4}\.000000"):
                gw.coordination.create_namespaced_lease("default", body)
    ours = await gw.create_lease("default", "ours", {"holderIdentity": "a", "renewTime": when,
                                                     "acquireTime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
    assert ours["spec"]["renewTime"].endswith("Z")  # the server writes MicroTime back in UTC
    sent = datetime.fromisoformat(ours["spec"]["renewTime"].replace("Z", "+00:00"))
    assert timedelta(0) <= sent - when <= timedelta(microseconds=1)
