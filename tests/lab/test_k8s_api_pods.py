"""Pod deletion, eviction and binding through the API reach the cluster's controllers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client, config

from lab.scenario import Timings, load_scenario
from tests.conftest import RunningLab
from tests.lab.kube import fresh_namespace, kubeconfig, pod
from tests.lab.pve_client import wait_for


def _gone(v1: client.CoreV1Api, name: str, ns: str) -> bool:
    try:
        v1.read_namespaced_pod(name, ns)
    except client.ApiException as exc:
        return exc.status == 404
    return False


def _running_pod(api: client.ApiClient, ns: str, name: str) -> None:
    v1 = client.CoreV1Api(api)
    v1.create_namespaced_pod(ns, pod(name, labels={"app": name}))
    wait_for(lambda: v1.read_namespaced_pod(name, ns).status.phase == "Running", 20)


def test_a_deleted_pod_terminates_gracefully_then_disappears(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    _running_pod(api, ns, "graceful")
    answer = v1.delete_namespaced_pod("graceful", ns)
    assert answer.metadata.deletion_timestamp is not None
    assert answer.metadata.deletion_grace_period_seconds == 30
    wait_for(lambda: _gone(v1, "graceful", ns), 20)


def test_grace_period_zero_deletes_at_once(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    _running_pod(api, ns, "forced")
    v1.delete_namespaced_pod("forced", ns, grace_period_seconds=0)
    assert _gone(v1, "forced", ns)


def test_eviction_through_policy_v1_deletes_the_pod(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    _running_pod(api, ns, "evictee")
    v1.create_namespaced_pod_eviction("evictee", ns, {"apiVersion": "policy/v1", "kind": "Eviction",
                                                      "metadata": {"name": "evictee", "namespace": ns}})
    wait_for(lambda: _gone(v1, "evictee", ns), 20)


def test_eviction_blocked_by_a_budget_is_429_with_the_real_wording(api: client.ApiClient) -> None:
    v1, policy = client.CoreV1Api(api), client.PolicyV1Api(api)
    ns = fresh_namespace(api)
    _running_pod(api, ns, "solo")
    policy.create_namespaced_pod_disruption_budget(ns, {"metadata": {"name": "solo-pdb"}, "spec": {
        "minAvailable": 1, "selector": {"matchLabels": {"app": "solo"}}}})
    wait_for(lambda: policy.read_namespaced_pod_disruption_budget("solo-pdb", ns).status.current_healthy
                == 1, 20)
    with pytest.raises(client.ApiException) as exc:
        v1.create_namespaced_pod_eviction("solo", ns, {"apiVersion": "policy/v1", "kind": "Eviction",
                                                       "metadata": {"name": "solo", "namespace": ns}})
    body = json.loads(exc.value.body)
    assert (exc.value.status, body["reason"]) == (429, "TooManyRequests")
    assert body["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert v1.read_namespaced_pod("solo", ns).metadata.deletion_timestamp is None


def test_binding_places_a_pending_pod_on_a_node(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    body = pod("bound")
    body["spec"]["schedulerName"] = "manual"  # type: ignore[index]  # the lab's scheduler leaves it alone
    v1.create_namespaced_pod(ns, body)
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bound"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "kube02"}}
    # the server answers a Status, which this client cannot read as a V1Binding: take it raw
    answer = json.loads(v1.create_namespaced_pod_binding("bound", ns, binding, _preload_content=False).data)
    assert (answer["kind"], answer["status"]) == ("Status", "Success")
    assert v1.read_namespaced_pod("bound", ns).spec.node_name == "kube02"


def test_a_pod_created_through_the_api_tolerates_dead_nodes_for_the_scenarios_time(tmp_path: Path) -> None:
    scenario = load_scenario(None).model_copy(update={"timings": Timings(pod_eviction_toleration=120),
                                                      "workloads": "none"})
    with RunningLab(tmp_path / "lab", scenario, time_scale=50) as lab:
        v1 = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig(lab))))
        for dry_run in (None, "All"):
            made = v1.create_namespaced_pod("default", pod("short-fuse"), dry_run=dry_run)
            assert {(t.key, t.toleration_seconds) for t in made.spec.tolerations} == {
                ("node.kubernetes.io/not-ready", 120), ("node.kubernetes.io/unreachable", 120)}
