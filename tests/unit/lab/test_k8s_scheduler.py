"""Where the scheduler puts pods: taints, selectors, room, cordons and zone spread."""

from __future__ import annotations

import pytest

from lab.k8s.controllers.base import NODE
from lab.k8s.errors import Conflict
from tests.unit.lab.k8s_world import World, homelab, running_ready

ZONE = "topology.kubernetes.io/zone"


def _pod(name: str, **spec) -> dict:
    return {
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}], **spec},
    }


def _create(w: World, pod: dict) -> dict:
    w.k8s.create_pod(pod)
    w.run(5)
    return w.pod("default", pod["metadata"]["name"])


def _unschedulable_message(pod: dict) -> str:
    cond = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    return cond["message"]


def test_default_workloads_reach_steady_state():
    w = World()
    pods = w.pods()
    assert pods and all(running_ready(p) for p in pods)
    zones = {
        w.node(p["spec"]["nodeName"])["metadata"]["labels"]["topology.kubernetes.io/zone"]
        for p in w.pods("default", "whoami")
    }
    assert len(zones) == 3
    assert {p["spec"]["nodeName"] for p in w.pods("default", "ingress-solo")} == {"kube05"}
    assert len(w.pods("kube-system", "traefik")) == 2


def test_node_selector_with_no_matching_node_leaves_the_pod_pending_with_the_reason():
    w = World(homelab(workloads="none"))
    pod = _create(w, _pod("picky", nodeSelector={"disk": "ssd"}))
    assert "nodeName" not in pod["spec"]
    assert _unschedulable_message(pod) == (
        "0/5 nodes are available: 5 node(s) didn't match Pod's node affinity/selector. preemption: "
        "0/5 nodes are available: 5 Preemption is not helpful for scheduling."
    )


def test_untolerated_taints_and_cordons_keep_pods_away():
    w = World(homelab(workloads="none"))
    for name in ("kube01", "kube02", "kube03"):
        w.store.mutate(
            NODE,
            "",
            name,
            lambda o: o["spec"].update(taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
        )
    w.store.mutate(NODE, "", "kube04", lambda o: o["spec"].update(unschedulable=True))
    assert _create(w, _pod("web"))["spec"]["nodeName"] == "kube05"
    tolerant = _pod(
        "db",
        tolerations=[{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}],
        nodeSelector={"kubernetes.io/hostname": "kube02"},
    )
    assert _create(w, tolerant)["spec"]["nodeName"] == "kube02"
    w.store.mutate(NODE, "", "kube05", lambda o: o["spec"].update(unschedulable=True))
    message = _unschedulable_message(_create(w, _pod("late")))
    assert "1 node(s) were unschedulable" not in message  # both cordoned nodes counted together
    assert "2 node(s) were unschedulable" in message
    assert "3 node(s) had untolerated taint {dedicated: db}" in message


def test_requests_beyond_allocatable_do_not_fit():
    w = World(homelab(workloads="none"))
    big = _pod("big")
    big["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "5", "memory": "1Gi"}}
    assert "5 Insufficient cpu" in _unschedulable_message(_create(w, big))
    fits = _pod("fits")
    fits["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "3500m", "memory": "5Gi"}}
    assert _create(w, fits)["spec"]["nodeName"] in ("kube04", "kube05")  # the 6 GiB agents


def test_zone_spread_places_one_pod_per_zone_first():
    w = World(homelab(workloads="none"))
    zones = [
        w.node(_create(w, _spread_pod(f"g{i}"))["spec"]["nodeName"])["metadata"]["labels"][ZONE]
        for i in range(4)
    ]
    assert sorted(zones) == ["blade1", "blade2", "blade3", "blade4"]


def test_zone_spread_counts_tainted_zones_so_a_third_pod_waits():
    w = World(homelab(workloads="none"))
    for name in ("kube03", "kube04", "kube05"):  # blade3 and blade4: no room for this group
        w.store.mutate(
            NODE, "", name, lambda o: o["spec"].update(taints=[{"key": "maint", "effect": "NoSchedule"}])
        )
    first, second = (_create(w, _spread_pod(n))["spec"]["nodeName"] for n in ("g0", "g1"))
    assert {first, second} == {"kube01", "kube02"}
    third = _create(w, _spread_pod("g2"))
    assert "nodeName" not in third["spec"]
    assert "2 node(s) didn't match pod topology spread constraints" in _unschedulable_message(third)


def _spread_pod(name: str) -> dict:
    pod = _pod(
        name,
        topologySpreadConstraints=[
            {
                "maxSkew": 1,
                "topologyKey": ZONE,
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"group": "g"}},
            }
        ],
    )
    pod["metadata"]["labels"]["group"] = "g"
    return pod


def test_a_pod_for_another_scheduler_waits_until_bound_through_the_binding_api():
    w = World(homelab(workloads="none"))
    pod = _create(w, _pod("custom", schedulerName="my-scheduler"))
    assert "nodeName" not in pod["spec"] and pod["status"]["phase"] == "Pending"
    answer = w.k8s.create_namespaced_pod_binding(
        "default",
        "custom",
        {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": "custom"},
            "target": {"apiVersion": "v1", "kind": "Node", "name": "kube04"},
        },
    )
    assert answer["status"] == "Success"
    w.run(5)
    assert (
        running_ready(w.pod("default", "custom"))
        and w.pod("default", "custom")["spec"]["nodeName"] == "kube04"
    )
    with pytest.raises(Conflict, match='pod custom is already assigned to node "kube04"'):
        w.k8s.create_namespaced_pod_binding(
            "default", "custom", {"target": {"kind": "Node", "name": "kube01"}}
        )


def test_schedule_anyway_prefers_an_empty_zone_over_an_emptier_node():
    w = World(homelab(workloads="none"))
    for node in ("kube01", "kube02", "kube04"):  # load them so that blade3's two nodes are the emptiest
        filler = _pod(f"fill-{node}", nodeName=node)
        filler["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "2", "memory": "2Gi"}}
        _create(w, filler)
    zones = []
    for i in range(2):
        pod = _spread_pod(f"s{i}")
        pod["spec"]["topologySpreadConstraints"][0]["whenUnsatisfiable"] = "ScheduleAnyway"
        zones.append(w.node(_create(w, pod)["spec"]["nodeName"])["metadata"]["labels"][ZONE])
    assert zones[0] == "blade3" and zones[1] != "blade3"


def test_best_effort_pods_spread_over_nodes_rather_than_pile_up():
    w = World(homelab(workloads="none"))
    nodes = {_create(w, _pod(f"b{i}"))["spec"]["nodeName"] for i in range(5)}
    assert len(nodes) == 5
