"""`kubectl top` on the lab: metrics.k8s.io served while metrics-server runs, figures that add up."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.lab.kube import Kubectl
from tests.lab.pve_client import wait_for


def _rows(text: str) -> dict[str, list[str]]:
    lines = text.strip().splitlines()
    return {line.split()[0]: line.split()[1:] for line in lines[1:]}


def _milli(text: str) -> int:
    return int(text.removesuffix("m"))


def test_top_node_shows_every_node_with_usage(kubectl: Kubectl) -> None:
    # metrics-server answers once its pod is ready, a few lab seconds after the lab starts
    wait_for(lambda: kubectl.run("top", "node").returncode == 0, timeout=20, what="node metrics")
    rows = _rows(kubectl("top", "node"))
    assert sorted(rows) == ["kube01", "kube02", "kube03", "kube04", "kube05"]
    for cpu, cpu_share, memory, memory_share in rows.values():
        assert _milli(cpu) > 0 and memory.endswith("Mi") and cpu_share.endswith("%")
        assert 0 < int(memory_share.rstrip("%")) < 100


def test_a_nodes_usage_is_its_pods_and_its_own_daemons(kubectl: Kubectl) -> None:
    node = json.loads(kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes/kube04"))
    pods = json.loads(kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/pods"))["items"]
    placed = json.loads(kubectl("get", "pods", "-A", "-o", "json",
                                "--field-selector", "spec.nodeName=kube04"))
    here = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in placed["items"]}
    pod_nanos = sum(int(c["usage"]["cpu"].removesuffix("n")) for p in pods
                    if (p["metadata"]["namespace"], p["metadata"]["name"]) in here for c in p["containers"])
    assert here and pod_nanos > 0
    assert int(node["usage"]["cpu"].removesuffix("n")) > pod_nanos  # plus kubelet, containerd, K3s


def test_top_pod_lists_containers_with_a_label_selector(kubectl: Kubectl) -> None:
    out = kubectl("top", "pod", "-n", "default", "-l", "app.kubernetes.io/name=whoami", "--containers")
    rows = out.strip().splitlines()[1:]
    assert len(rows) == 3 and all(r.split()[1] == "whoami" for r in rows)


def test_metrics_are_read_only(api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as refused:
        client.CustomObjectsApi(api).create_cluster_custom_object(
            "metrics.k8s.io", "v1beta1", "nodes", {"metadata": {"name": "x"}})
    assert refused.value.status == 405


def test_without_metrics_server_kubectl_says_the_metrics_api_is_not_available(
        kubectl: Kubectl, api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    apps.patch_namespaced_deployment_scale("metrics-server", "kube-system", {"spec": {"replicas": 0}})
    try:
        err = wait_for(lambda: kubectl.run("top", "node").stderr, what="metrics to go away")
        assert "Metrics API not available" in err
    finally:
        apps.patch_namespaced_deployment_scale("metrics-server", "kube-system", {"spec": {"replicas": 1}})
    wait_for(lambda: kubectl.run("top", "node").returncode == 0, timeout=20, what="metrics to come back")
