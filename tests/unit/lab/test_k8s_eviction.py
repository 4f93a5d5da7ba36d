"""The eviction API against PodDisruptionBudgets, and pod deletion as the kubelet finishes it."""

from __future__ import annotations

import json

import pytest

from lab.k8s.controllers.base import PDB
from lab.k8s.errors import BadRequest, NotFound, TooManyRequests
from tests.conftest import REFERENCE
from tests.unit.lab.k8s_world import World, running_ready

FACTS = json.loads((REFERENCE / "k8s" / "eviction-errors.json").read_text())["too_many_requests_429"]
EVICTION = {"apiVersion": "policy/v1", "kind": "Eviction"}


def _evict(w: World, namespace: str, name: str) -> dict:
    w.run(1)  # the controllers have seen what came before
    return w.k8s.create_namespaced_pod_eviction(
        namespace, name, {**EVICTION, "metadata": {"name": name, "namespace": namespace}}
    )


def test_whoami_budget_allows_one_disruption_of_three():
    w = World()
    status = w.store.get(PDB, "default", "whoami")["status"]
    assert (
        status["currentHealthy"],
        status["desiredHealthy"],
        status["expectedPods"],
        status["disruptionsAllowed"],
    ) == (3, 2, 3, 1)


def test_second_eviction_is_refused_with_the_api_servers_429():
    w = World()
    first, second = [p["metadata"]["name"] for p in w.pods("default", "whoami")][:2]
    assert _evict(w, "default", first)["status"] == "Success"
    assert "deletionTimestamp" in w.pod("default", first)["metadata"]
    with pytest.raises(TooManyRequests) as refused:
        _evict(w, "default", second)
    body = refused.value.status()
    assert body["code"] == 429 and body["reason"] == "TooManyRequests"
    assert body["message"] == FACTS["message"]
    assert body["details"]["causes"] == [
        {
            "reason": "DisruptionBudget",
            "message": "The disruption budget whoami needs 2 healthy pods and has 2 currently",
        }
    ]
    assert "retryAfterSeconds" not in body["details"]
    assert "deletionTimestamp" not in w.pod("default", second)["metadata"]


def test_eviction_is_allowed_again_once_the_replacement_is_ready():
    w = World()
    first, second = [p["metadata"]["name"] for p in w.pods("default", "whoami")][:2]
    _evict(w, "default", first)
    w.run(40, step=2)  # grace period, then the replacement runs
    assert len([p for p in w.live_pods("default", "whoami") if running_ready(p)]) == 3
    assert _evict(w, "default", second)["status"] == "Success"


def test_daemonset_pods_can_be_evicted_through_the_api():
    w = World()
    speaker = w.pods("metallb-system", "metallb-speaker")[0]["metadata"]["name"]
    assert _evict(w, "metallb-system", speaker)["status"] == "Success"


def test_eviction_errors_for_a_missing_pod_and_a_mismatched_name():
    w = World()
    with pytest.raises(NotFound):
        _evict(w, "default", "nope")
    name = w.pods("default", "whoami")[0]["metadata"]["name"]
    with pytest.raises(BadRequest, match="name in URL does not match name in Eviction object"):
        w.k8s.create_namespaced_pod_eviction("default", name, {**EVICTION, "metadata": {"name": "other"}})


def test_graceful_delete_is_finished_by_a_live_kubelet_after_the_grace_period():
    w = World()
    name = w.pods("default", "ingress-solo")[0]["metadata"]["name"]
    deleted = w.k8s.delete_namespaced_pod("default", name, 20)
    assert deleted["metadata"]["deletionGracePeriodSeconds"] == 20
    w.run(15)
    assert "deletionTimestamp" in w.pod("default", name)["metadata"]  # still Terminating within its grace
    w.run(10)
    assert name not in {p["metadata"]["name"] for p in w.pods("default")}


def test_a_dead_kubelet_leaves_deleted_pods_terminating_until_forced():
    w = World()
    name = w.pods("default", "ingress-solo")[0]["metadata"]["name"]
    w.power_off_blade_of("kube05")
    w.k8s.delete_namespaced_pod("default", name, None)
    w.run(120, step=5)
    assert "deletionTimestamp" in w.pod("default", name)["metadata"]
    w.k8s.delete_namespaced_pod("default", name, 0)
    assert name not in {p["metadata"]["name"] for p in w.pods("default")}


def test_a_not_ready_pod_on_a_dead_node_is_evicted_without_spending_the_budget():
    w = World()
    dead = next(p for p in w.pods("default", "whoami") if p["spec"]["nodeName"] in ("kube03", "kube05"))
    w.power_off_blade_of(dead["spec"]["nodeName"])
    w.run(60, step=5)
    status = w.store.get(PDB, "default", "whoami")["status"]
    assert (status["currentHealthy"], status["disruptionsAllowed"]) == (2, 0)
    assert _evict(w, "default", dead["metadata"]["name"])["status"] == "Success"
    pod = w.pod("default", dead["metadata"]["name"])
    assert "deletionTimestamp" in pod["metadata"]
    assert any(
        c["type"] == "DisruptionTarget" and c["reason"] == "EvictionByEvictionAPI"
        for c in pod["status"]["conditions"]
    )
    healthy = next(
        p for p in w.pods("default", "whoami") if p["metadata"]["name"] != dead["metadata"]["name"]
    )
    with pytest.raises(TooManyRequests):
        _evict(w, "default", healthy["metadata"]["name"])


def test_a_dry_run_eviction_checks_the_budget_and_changes_nothing():
    w = World()
    first, second = [p["metadata"]["name"] for p in w.pods("default", "whoami")][:2]
    w.run(1)
    dry = {**EVICTION, "metadata": {"name": first}, "deleteOptions": {"dryRun": ["All"]}}
    for _ in range(2):  # the budget allows one; a dry run spends none of it
        assert w.k8s.create_namespaced_pod_eviction("default", first, dry)["status"] == "Success"
    assert "deletionTimestamp" not in w.pod("default", first)["metadata"]
    assert w.store.get(PDB, "default", "whoami")["status"]["disruptionsAllowed"] == 1
    _evict(w, "default", first)
    with pytest.raises(TooManyRequests):
        w.k8s.create_namespaced_pod_eviction("default", second, {**dry, "metadata": {"name": second}})
