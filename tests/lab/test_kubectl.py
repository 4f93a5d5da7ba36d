"""kubectl, unmodified, against the lab: what it does agrees with what the Python client sees."""

from __future__ import annotations

import json
from pathlib import Path

from kubernetes import client

from tests.conftest import RunningLab
from tests.lab.kube import Kubectl
from tests.lab.pve_client import wait_for


def _node(api: client.ApiClient, name: str) -> client.V1Node:
    return client.CoreV1Api(api).read_node(name)


def test_get_nodes_as_json_lists_the_nodes_the_client_sees(kubectl: Kubectl, api: client.ApiClient) -> None:
    listed = json.loads(kubectl("get", "nodes", "-o", "json"))
    assert listed["kind"] == "List"
    seen = {n.metadata.name for n in client.CoreV1Api(api).list_node().items}
    assert {item["metadata"]["name"] for item in listed["items"]} == seen
    assert {"kube01", "kube02", "kube03", "kube04", "kube05"} <= seen
    assert all(item["kind"] == "Node" for item in listed["items"])
    by_client = {n.metadata.name: (n.metadata.labels, bool(n.spec.unschedulable),
                                   sorted((t.key, t.effect) for t in n.spec.taints or []))
                 for n in client.CoreV1Api(api).list_node().items}
    assert {i["metadata"]["name"]: (i["metadata"]["labels"], bool(i["spec"].get("unschedulable")),
                                    sorted((t["key"], t["effect"]) for t in i["spec"].get("taints") or []))
            for i in listed["items"]} == by_client


def test_get_nodes_prints_the_servers_table(kubectl: Kubectl) -> None:
    header, *rows = kubectl("get", "nodes").splitlines()
    assert header.split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    kube01 = next(r.split() for r in rows if r.startswith("kube01 "))
    assert kube01[1:3] == ["Ready", "control-plane,etcd,master"]
    assert kube01[4] == "v1.31.4+k3s1"


def test_apply_creates_then_patches_a_manifest(kubectl: Kubectl, api: client.ApiClient,
                                               tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    for value, verb in (("1", "created"), ("2", "configured")):
        manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied, namespace: default}\n"
                            f"data: {{level: '{value}'}}\n")
        assert f"configmap/applied {verb}" in kubectl("apply", "-f", str(manifest))
        assert client.CoreV1Api(api).read_namespaced_config_map("applied", "default").data == {"level": value}
    assert "serverside-applied" in kubectl("apply", "--server-side", "-f", str(manifest))


def test_cordon_and_uncordon(kubectl: Kubectl, api: client.ApiClient) -> None:
    assert "node/kube01 cordoned" in kubectl("cordon", "kube01")
    assert _node(api, "kube01").spec.unschedulable is True
    assert "node/kube01 uncordoned" in kubectl("uncordon", "kube01")
    assert not _node(api, "kube01").spec.unschedulable


def test_label_and_unlabel_a_node(kubectl: Kubectl, api: client.ApiClient) -> None:
    kubectl("label", "node", "kube03", "drewburr.io/maintenance=planned")
    assert _node(api, "kube03").metadata.labels["drewburr.io/maintenance"] == "planned"
    kubectl("label", "node", "kube03", "drewburr.io/maintenance=done", "--overwrite")
    assert _node(api, "kube03").metadata.labels["drewburr.io/maintenance"] == "done"
    kubectl("label", "node", "kube03", "drewburr.io/maintenance-")
    assert "drewburr.io/maintenance" not in _node(api, "kube03").metadata.labels
    assert _node(api, "kube03").metadata.labels["kubernetes.io/hostname"] == "kube03"


def test_taint_and_untaint_a_node(kubectl: Kubectl, api: client.ApiClient) -> None:
    kubectl("taint", "node", "kube02", "dedicated=db:NoSchedule")
    taints = {(t.key, t.value, t.effect) for t in _node(api, "kube02").spec.taints}
    assert ("dedicated", "db", "NoSchedule") in taints
    kubectl("taint", "node", "kube02", "dedicated-")
    assert "dedicated" not in {t.key for t in _node(api, "kube02").spec.taints or []}


def test_drain_evicts_every_pod_but_daemonsets_and_the_node_stays_cordoned(
        kubectl: Kubectl, kube_lab: RunningLab, api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)

    def owner_kinds() -> set[str]:
        pods = v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=kube04").items
        return {ref.kind for p in pods for ref in p.metadata.owner_references or []}

    # the default workloads have landed on kube04
    wait_for(lambda: "ReplicaSet" in owner_kinds(), 30, "a ReplicaSet pod on kube04")
    out = kubectl("drain", "kube04", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s",
                  timeout=90)
    assert "node/kube04 drained" in out
    assert owner_kinds() == {"DaemonSet"}
    assert _node(api, "kube04").spec.unschedulable is True
    assert kube_lab.lab.recorder.count("POST", "/eviction", api="k8s") >= 1


def test_events_sorted_by_last_timestamp_are_the_ones_the_client_sees(kubectl: Kubectl,
                                                                      api: client.ApiClient) -> None:
    # --sort-by asks for whole objects in the table rows (includeObject=Object) and sorts them
    rows = kubectl("get", "events", "-A", "--sort-by=.lastTimestamp", "--no-headers").splitlines()
    events = client.CoreV1Api(api).list_event_for_all_namespaces().items
    assert 0 < len(rows) <= len(events)  # the controllers may record more in between


def test_get_pv_and_volumeattachments_print_the_servers_columns(kubectl: Kubectl) -> None:
    header, *rows = kubectl("get", "pv").splitlines()
    assert header.split()[:7] == ["NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS"]
    assert any(r.split()[1:6] == ["10Gi", "RWO", "Delete", "Bound", "default/data-postgres-0"] for r in rows)
    header, *rows = kubectl("get", "volumeattachments").splitlines()
    assert header.split() == ["NAME", "ATTACHER", "PV", "NODE", "ATTACHED", "AGE"]
    assert rows and all(r.split()[1] == "rbd.csi.ceph.com" and r.split()[4] == "true" for r in rows)


def test_endpoints_and_helmcharts_print_the_servers_columns(kubectl: Kubectl) -> None:
    header, *rows = kubectl("get", "endpoints", "-n", "default").splitlines()
    assert header.split() == ["NAME", "ENDPOINTS", "AGE"]
    assert next(r for r in rows if r.startswith("kubernetes ")).split()[1] == (
        "192.168.1.121:6443,192.168.1.122:6443,192.168.1.123:6443")
    header, *rows = kubectl("get", "helmcharts", "-n", "kube-system").splitlines()
    assert header.split() == ["NAME", "JOB", "CHART", "TARGETNAMESPACE", "VERSION", "REPO", "HELMVERSION",
                              "BOOTSTRAP"]  # the CRD's columns only: it names no Age
    metallb = next(r.split() for r in rows if r.startswith("metallb "))
    assert metallb[1:4] == ["helm-install-metallb", "metallb", "metallb-system"]


def test_drain_as_a_server_dry_run_evicts_nothing(kubectl: Kubectl, api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)

    def on_kube02() -> set[str]:
        pods = v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=kube02").items
        return {p.metadata.name for p in pods if p.metadata.deletion_timestamp is None}
    before = on_kube02()
    out = kubectl("drain", "kube02", "--ignore-daemonsets", "--delete-emptydir-data", "--dry-run=server")
    assert "evicting pod" in out and "(server dry run)" in out
    assert on_kube02() == before
    assert not _node(api, "kube02").spec.unschedulable


def test_scale_as_a_server_dry_run_keeps_the_replicas(kubectl: Kubectl, api: client.ApiClient) -> None:
    out = kubectl("scale", "deployment/whoami", "-n", "default", "--replicas=7", "--dry-run=server")
    assert "scaled (server dry run)" in out
    assert client.AppsV1Api(api).read_namespaced_deployment("whoami", "default").spec.replicas == 3
