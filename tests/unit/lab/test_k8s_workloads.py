"""Deployments roll, ReplicaSets and StatefulSets scale, and the loop stays idle when nothing moves."""

from __future__ import annotations

from lab.k8s.controllers.base import DAEMONSET, DEPLOYMENT, PDB, REPLICASET, STATEFULSET
from lab.k8s.controllers.events import EVENT
from lab.k8s.crds import known
from lab.k8s.metrics import metric_families
from lab.k8s.resources import BY_KIND
from tests.unit.lab.k8s_world import World, running_ready


def test_a_template_change_rolls_whoami_to_a_new_replicaset_without_dropping_below_the_budget():
    w = World()
    old = {
        rs["metadata"]["name"]
        for rs in w.store.list(REPLICASET, "default")
        if rs["metadata"]["name"].startswith("whoami-")
    }
    w.store.mutate(
        DEPLOYMENT,
        "default",
        "whoami",
        lambda o: o["spec"]["template"]["spec"]["containers"][0].update(image="traefik/whoami:v1.11.0"),
    )
    lowest = 3
    for _ in range(40):
        w.run(1)
        lowest = min(lowest, sum(running_ready(p) for p in w.live_pods("default", "whoami")))
    assert lowest >= 3  # maxUnavailable 25% of 3 rounds down to 0: surge first
    new = [
        rs
        for rs in w.store.list(REPLICASET, "default")
        if rs["metadata"]["name"].startswith("whoami-") and rs["metadata"]["name"] not in old
    ]
    assert len(new) == 1 and new[0]["status"]["readyReplicas"] == 3
    assert new[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    pods = w.live_pods("default", "whoami")
    assert {p["metadata"]["labels"]["pod-template-hash"] for p in pods} == {
        new[0]["metadata"]["labels"]["pod-template-hash"]
    }
    status = w.store.get(DEPLOYMENT, "default", "whoami")["status"]
    assert (status["updatedReplicas"], status["availableReplicas"]) == (3, 3)
    assert w.store.get(PDB, "default", "whoami")["status"]["currentHealthy"] == 3


def test_statefulset_scales_up_one_ordinal_at_a_time_and_down_from_the_top():
    w = World()
    w.store.mutate(STATEFULSET, "default", "postgres", lambda o: o["spec"].update(replicas=3))
    w.run(1)
    assert sorted(p["metadata"]["name"] for p in w.pods("default", "postgres")) == [
        "postgres-0",
        "postgres-1",
    ]
    w.run(20)
    assert sorted(p["metadata"]["name"] for p in w.pods("default", "postgres")) == [
        "postgres-0",
        "postgres-1",
        "postgres-2",
    ]
    assert w.store.get(STATEFULSET, "default", "postgres")["status"]["readyReplicas"] == 3
    w.store.mutate(STATEFULSET, "default", "postgres", lambda o: o["spec"].update(replicas=1))
    w.run(2)
    assert "deletionTimestamp" in w.pod("default", "postgres-2")["metadata"]
    assert "deletionTimestamp" not in w.pod("default", "postgres-1")["metadata"]
    w.run(120)
    assert [p["metadata"]["name"] for p in w.pods("default", "postgres")] == ["postgres-0"]


def test_steady_state_writes_only_lease_renewals():
    w = World()
    before = w.store.resource_version
    w.run(60)
    assert w.store.resource_version - before <= 5 * 7  # five leases, renewed every 10 s


def test_kube_state_metrics_show_a_dead_node_and_its_taints():
    w = World()
    w.power_off_blade_of("kube05")
    w.run(60, step=5)
    families = {f.name: f for f in metric_families(w.k8s, w.now)}
    ready = {
        (s.labels["node"], s.labels["status"]): s.value
        for s in families["kube_node_status_condition"].samples
        if s.labels["condition"] == "Ready"
    }
    assert (
        ready[("kube05", "unknown")] == 1
        and ready[("kube05", "true")] == 0
        and ready[("kube01", "true")] == 1
    )
    taints = {
        (s.labels["node"], s.labels["key"], s.labels["effect"])
        for s in families["kube_node_spec_taint"].samples
    }
    assert ("kube05", "node.kubernetes.io/unreachable", "NoSchedule") in taints
    assert {s.labels["node"]: s.value for s in families["kube_node_spec_unschedulable"].samples}[
        "kube05"
    ] == 0
    info = {s.labels["pod"]: s.labels["node"] for s in families["kube_pod_info"].samples}
    assert info["postgres-0"] == w.pod("default", "postgres-0")["spec"]["nodeName"]
    phases = {
        (s.labels["pod"], s.labels["phase"]): s.value for s in families["kube_pod_status_phase"].samples
    }
    assert phases[("postgres-0", "Running")] == 1
    solo = w.pods("default", "ingress-solo")[0]["metadata"]["name"]
    ready_pods = {
        (s.labels["pod"], s.labels["condition"]): s.value for s in families["kube_pod_status_ready"].samples
    }
    assert ready_pods[(solo, "false")] == 1
    budget = {
        s.labels["poddisruptionbudget"]: s.value
        for s in families["kube_poddisruptionbudget_status_pod_disruptions_allowed"].samples
    }
    assert budget["whoami"] == 0  # its pod on blade3 is not ready: no disruption left
    deploys = {
        s.labels["deployment"]: s.value for s in families["kube_deployment_status_replicas_available"].samples
    }
    assert deploys["ingress-solo"] == 0 and deploys["whoami"] == 2


ODD = [
    ("Node", {"metadata": {"name": "bare"}}),
    (
        "Pod",
        {"metadata": {"name": "nameless", "namespace": "default"}, "spec": {"containers": [{"image": "x"}]}},
    ),
    (
        "Pod",
        {
            "metadata": {"name": "vols", "namespace": "default"},
            "spec": {"containers": [{"name": "c"}], "volumes": ["junk", {"persistentVolumeClaim": None}]},
        },
    ),
    (
        "Pod",
        {
            "metadata": {"name": "skew", "namespace": "default"},
            "spec": {
                "containers": [{"name": "c"}],
                "priority": "high",
                "topologySpreadConstraints": [{"maxSkew": "x", "topologyKey": "kubernetes.io/hostname"}],
                "tolerations": [{"operator": "Exists", "tolerationSeconds": "soon"}],
            },
        },
    ),
    ("Deployment", {"metadata": {"name": "empty", "namespace": "default"}}),
    ("ReplicaSet", {"metadata": {"name": "nothing", "namespace": "default"}, "spec": {"replicas": None}}),
    (
        "StatefulSet",
        {
            "metadata": {"name": "sts", "namespace": "default"},
            "spec": {"replicas": "two", "volumeClaimTemplates": [{"spec": {}}]},
        },
    ),
    ("DaemonSet", {"metadata": {"name": "ds", "namespace": "default"}, "spec": {}}),
    (
        "PodDisruptionBudget",
        {
            "metadata": {"name": "bogus", "namespace": "default"},
            "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Bogus"}]}},
        },
    ),
    ("PersistentVolumeClaim", {"metadata": {"name": "pvc", "namespace": "default"}}),
    ("HelmChart", {"metadata": {"name": "blank", "namespace": "kube-system"}}),
    (
        "HelmChart",
        {
            "metadata": {"name": "listy", "namespace": "kube-system"},
            "spec": {"chart": "x", "valuesContent": "- a\n- b\n", "set": {"a.b": 1}},
        },
    ),
]


def test_odd_objects_the_api_lets_in_do_not_stop_the_controllers():
    w = World()
    for kind, obj in ODD:
        res = BY_KIND.get(kind) or known(kind)
        w.store.create(res, {"apiVersion": res.api_version, "kind": kind, **obj})
    w.run(10)  # World.run fails on any controller error
    assert {f.name for f in metric_families(w.k8s, w.now)} >= {"kube_node_status_condition", "kube_pod_info"}
    w.power_off_blade_of("kube05")
    w.run(60, step=5)
    assert w.ready("kube05")["status"] == "Unknown"
    assert not any(running_ready(p) for p in w.pods("default", "ingress-solo"))
    assert all(
        running_ready(p) for p in w.pods("kube-system") if p["spec"]["nodeName"] not in ("kube03", "kube05")
    )


def test_scaling_a_deployment_adds_and_removes_pods_and_says_so():
    w = World()
    w.store.mutate(DEPLOYMENT, "default", "ingress-solo", lambda o: o["spec"].update(replicas=4))
    w.run(10)
    assert len([p for p in w.live_pods("default", "ingress-solo") if running_ready(p)]) == 4
    w.store.mutate(DEPLOYMENT, "default", "ingress-solo", lambda o: o["spec"].update(replicas=1))
    w.run(40)
    assert len(w.pods("default", "ingress-solo")) == 1
    messages = [e["message"] for e in w.store.list(EVENT, "default") if e["reason"] == "ScalingReplicaSet"]
    assert any(m.endswith("to 4 from 2") for m in messages) and any(
        m.endswith("to 1 from 4") for m in messages
    )


def test_recreate_strategy_stops_every_old_pod_before_starting_new_ones():
    w = World()
    w.store.mutate(
        DEPLOYMENT,
        "default",
        "ingress-solo",
        lambda o: (
            o["spec"].update(strategy={"type": "Recreate"}),
            o["spec"]["template"]["spec"]["containers"][0].update(image="nginx:1.27.3"),
        ),
    )
    w.run(2)
    images = {p["spec"]["containers"][0]["image"] for p in w.pods("default", "ingress-solo")}
    assert images == {"nginx:1.27.2"}  # the old ones are still terminating: nothing new yet
    w.run(40)
    pods = w.pods("default", "ingress-solo")
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"nginx:1.27.3"} and len(pods) == 2


def _roll_exporter(w: World) -> str:
    name = "kube-prometheus-stack-prometheus-node-exporter"
    w.store.mutate(
        DAEMONSET,
        "monitoring",
        name,
        lambda o: o["spec"]["template"]["spec"]["containers"][0].update(image="node-exporter:v1.9.0"),
    )
    return name


def test_a_daemonset_rolls_one_node_at_a_time():
    w = World()
    name = _roll_exporter(w)
    most_down = 0
    for _ in range(60):
        w.run(2)
        most_down = max(most_down, 5 - sum(running_ready(p) for p in w.live_pods("monitoring", name)))
    images = {p["spec"]["containers"][0]["image"] for p in w.live_pods("monitoring", name)}
    assert images == {"node-exporter:v1.9.0"} and most_down <= 1


def test_a_daemonset_roll_stalls_while_nodes_are_dead():
    w = World()
    w.power_off_blade_of("kube05")
    w.run(60, step=5)
    name = _roll_exporter(w)
    w.run(120, step=2)
    updated = {
        p["spec"].get("nodeName")
        or p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"
        ][0]["matchFields"][0]["values"][0]
        for p in w.live_pods("monitoring", name)
        if p["spec"]["containers"][0]["image"] == "node-exporter:v1.9.0"
    }
    # the dead nodes' (unavailable) pods are replaced at once, one healthy one within maxUnavailable: then the
    # new pods on the dead nodes never become available and the roll waits, as a real one does
    assert updated > {"kube03", "kube05"} and len(updated) == 3
