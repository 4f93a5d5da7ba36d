"""What a kubectl user reads off the lab: events of a cordon and of a pod's start, logs, exec."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from lab.faults import apply_fault
from tests.conftest import RunningLab
from tests.lab.kube import Kubectl, fresh_namespace
from tests.lab.pve_client import wait_for


def _reasons(kubectl: Kubectl, namespace: str, name: str) -> list[str]:
    events = json.loads(kubectl("get", "events", "-n", namespace, "-o", "json",
                                "--field-selector", f"involvedObject.name={name}"))["items"]
    return [e["reason"] for e in sorted(events, key=lambda e: e["metadata"]["creationTimestamp"])]


def test_a_cordon_and_an_uncordon_are_reported_by_the_nodes_kubelet(kubectl: Kubectl) -> None:
    kubectl("cordon", "kube04")
    try:
        wait_for(lambda: "NodeNotSchedulable" in _reasons(kubectl, "default", "kube04"), what="cordon event")
    finally:
        kubectl("uncordon", "kube04")
    wait_for(lambda: "NodeSchedulable" in _reasons(kubectl, "default", "kube04"), what="uncordon event")
    described = kubectl("describe", "node", "kube04")
    assert "Node kube04 status is now: NodeNotSchedulable" in described


def test_a_new_pod_is_scheduled_pulled_created_and_started(kubectl: Kubectl, api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    kubectl("run", "web", "-n", ns, "--image=docker.io/library/nginx:1.27")
    wait_for(lambda: "Started" in _reasons(kubectl, ns, "web"), what="the pod to start")
    reasons = _reasons(kubectl, ns, "web")
    assert [r for r in reasons if r in ("Scheduled", "Pulling", "Pulled", "Created", "Started")] == [
        "Scheduled", "Pulling", "Pulled", "Created", "Started"]
    kubectl("run", "web2", "-n", ns, "--image=docker.io/library/nginx:1.27",
            "--overrides", json.dumps({"spec": {"nodeName": kubectl_node(kubectl, ns, "web")}}))
    wait_for(lambda: "Started" in _reasons(kubectl, ns, "web2"), what="the second pod to start")
    assert "already present on machine" in kubectl("describe", "pod", "-n", ns, "web2")


def kubectl_node(kubectl: Kubectl, ns: str, pod: str) -> str:
    return kubectl("get", "pod", "-n", ns, pod, "-o", "jsonpath={.spec.nodeName}")


def _whoami(api: client.ApiClient) -> client.V1Pod:
    pods = client.CoreV1Api(api).list_namespaced_pod("default",
                                                     label_selector="app.kubernetes.io/name=whoami")
    return wait_for(lambda: next((p for p in pods.items if p.status.phase == "Running"), None), what="whoami")


def test_logs_show_what_the_program_prints_at_start(kubectl: Kubectl, api: client.ApiClient) -> None:
    pod = _whoami(api).metadata.name
    out = kubectl("logs", "-n", "default", pod)
    assert out.rstrip().endswith("Starting up on port 80")
    stamped = kubectl("logs", "-n", "default", pod, "--timestamps", "--tail", "1")
    assert stamped.count("\n") == 1 and stamped.split()[0].endswith("Z")
    assert kubectl("logs", "-n", "default", pod, "--tail", "0") == ""
    # the python client reads the same text
    assert client.CoreV1Api(api).read_namespaced_pod_log(pod, "default") == out


def _refused(call: Callable[[], object]) -> tuple[int, str]:
    with pytest.raises(ApiException) as refused:
        call()
    return refused.value.status, json.loads(refused.value.body)["message"]


def test_logs_refuse_what_the_api_server_refuses(kubectl: Kubectl, api: client.ApiClient) -> None:
    core, pod = client.CoreV1Api(api), _whoami(api).metadata.name
    assert "container nosuch is not valid for pod" in kubectl.fails("logs", "-n", "default", pod,
                                                                    "-c", "nosuch")
    assert "previous terminated container" in kubectl.fails("logs", "-n", "default", pod, "--previous")
    # kubectl checks these flags itself; the API server's own answers show through the client
    assert _refused(lambda: core.read_namespaced_pod_log(pod, "default", tail_lines=-1)) == (
        422, "PodLogOptions is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0")
    assert _refused(lambda: core.read_namespaced_pod_log(pod, "default", since_seconds=0))[0] == 422
    ns = fresh_namespace(api)
    core.create_namespaced_pod(ns, {"metadata": {"name": "two"}, "spec": {"containers": [
        {"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]}})
    assert _refused(lambda: core.read_namespaced_pod_log("two", ns)) == (
        400, "a container name must be specified for pod two, choose one of: [a b]")


def test_exec_is_refused_with_a_message_that_says_why(kubectl: Kubectl, api: client.ApiClient) -> None:
    pod = _whoami(api).metadata.name
    err = kubectl.fails("exec", "-n", "default", pod, "--", "ls", timeout=30)
    assert "runs no containers, so exec is not available" in err


def test_logs_of_a_pod_on_a_dead_blade_say_the_kubelet_is_unreachable(
        kube_lab: RunningLab, kubectl: Kubectl, api: client.ApiClient) -> None:
    pods = client.CoreV1Api(api).list_namespaced_pod("default").items
    victim = next(p for p in pods if p.spec.node_name == "kube05" and p.status.phase == "Running")
    lab = kube_lab.lab
    kube_lab.call(lambda: apply_fault(lab, "power-off", "blade3", lab.advance()))
    try:
        err = kubectl.fails("logs", "-n", victim.metadata.namespace, victim.metadata.name,
                            "-c", victim.spec.containers[0].name)
        assert "10250/containerLogs/" in err and "no route to host" in err
    finally:
        kube_lab.call(lambda: apply_fault(lab, "power-on", "blade3", lab.advance()))
