"""Each patch type, selectors and pagination, through the official client."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from tests.lab.kube import fresh_namespace, pod


def _node(api: client.ApiClient, name: str) -> client.V1Node:
    """A node no kubelet runs (the lifecycle controller soon taints it unreachable)."""
    room = {"cpu": "2", "memory": "4Gi", "pods": "110"}
    return client.CoreV1Api(api).create_node({"metadata": {"name": name, "labels": {"lab-test": name}},
                                              "spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]},
                                              "status": {"capacity": room, "allocatable": room}})


def _own_taints(node: client.V1Node) -> list[str]:
    """Taints set by the test (the node lifecycle controller adds node.kubernetes.io/* ones)."""
    return [t.key for t in node.spec.taints or [] if not t.key.startswith("node.kubernetes.io/")]


def test_strategic_merge_patch_replaces_the_taint_list_and_merges_labels(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    _node(api, "smp-node")
    v1.patch_node("smp-node", {"metadata": {"labels": {"extra": "1"}},
                               "spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}})
    node = v1.read_node("smp-node")
    assert _own_taints(node) == ["b"]
    assert node.metadata.labels == {"lab-test": "smp-node", "extra": "1"}


def test_strategic_merge_patch_merges_containers_by_name(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    body = pod("two")
    body["spec"]["containers"].append({"name": "sidecar", "image": "envoy:1"})  # type: ignore[index]
    v1.create_namespaced_pod(ns, body)
    v1.patch_namespaced_pod("two", ns, {"spec": {"containers": [{"name": "sidecar", "image": "envoy:2"}]}})
    images = {c.name: c.image for c in v1.read_namespaced_pod("two", ns).spec.containers}
    assert images == {"app": "nginx:1.27", "sidecar": "envoy:2"}


def test_json_patch_edits_by_path(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    _node(api, "jp-node")
    taint = {"key": "c", "effect": "NoSchedule"}
    v1.patch_node("jp-node", [{"op": "add", "path": "/spec/taints/-", "value": taint},
                              {"op": "add", "path": "/spec/unschedulable", "value": True}])
    node = v1.read_node("jp-node")
    assert (_own_taints(node), node.spec.unschedulable) == (["a", "c"], True)


def test_a_json_patch_that_does_not_apply_is_422(api: client.ApiClient) -> None:
    _node(api, "jp-bad")
    with pytest.raises(client.ApiException) as exc:
        client.CoreV1Api(api).patch_node("jp-bad", [{"op": "replace", "path": "/spec/nothing/x", "value": 1}])
    assert exc.value.status == 422


def test_merge_patch_replaces_lists_and_deletes_with_null(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    _node(api, "mp-node")
    v1.patch_node("mp-node", {"metadata": {"labels": {"lab-test": None}}, "spec": {"taints": None}},
                  _content_type="application/merge-patch+json")
    node = v1.read_node("mp-node")
    assert _own_taints(node) == []
    assert not node.metadata.labels


def test_a_patch_carrying_a_stale_resource_version_conflicts(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    cm = v1.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {"v": "1"}})
    v1.patch_namespaced_config_map("c", ns, {"data": {"v": "2"}})
    with pytest.raises(client.ApiException) as exc:
        stale = {"metadata": {"resourceVersion": cm.metadata.resource_version}, "data": {"v": "3"}}
        v1.patch_namespaced_config_map("c", ns, stale)
    assert exc.value.status == 409


def test_custom_resources_take_merge_patch_but_refuse_strategic_merge(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    co = client.CustomObjectsApi(api)
    pool = {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "lan"},
            "spec": {"addresses": ["192.168.1.240-192.168.1.250"]}}
    co.create_namespaced_custom_object("metallb.io", "v1beta1", ns, "ipaddresspools", pool)
    co.patch_namespaced_custom_object("metallb.io", "v1beta1", ns, "ipaddresspools", "lan",
                                      {"spec": {"autoAssign": False}},
                                      _content_type="application/merge-patch+json")
    with pytest.raises(client.ApiException) as exc:
        co.patch_namespaced_custom_object("metallb.io", "v1beta1", ns, "ipaddresspools", "lan",
                                          {"spec": {"autoAssign": True}},
                                          _content_type="application/strategic-merge-patch+json")
    assert (exc.value.status, json.loads(exc.value.body)["reason"]) == (415, "UnsupportedMediaType")
    got = co.get_namespaced_custom_object("metallb.io", "v1beta1", ns, "ipaddresspools", "lan")
    assert got["spec"] == {"addresses": ["192.168.1.240-192.168.1.250"], "autoAssign": False,
                           "avoidBuggyIPs": False}  # the CRD schema's default


def test_label_selectors_filter_lists(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    for name, labels in (("a", {"app": "web", "tier": "front"}), ("b", {"app": "web"}), ("c", {"app": "db"})):
        v1.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": labels}})

    def names(selector: str) -> list[str]:
        return [c.metadata.name for c in v1.list_namespaced_config_map(ns, label_selector=selector).items]

    assert names("app=web") == ["a", "b"]
    assert names("app!=web") == ["c"]
    assert names("app in (db,web),!tier") == ["b", "c"]
    assert names("app notin (web)") == ["c"]
    assert names("tier") == ["a"]


def test_field_selectors_on_pods_and_the_error_for_an_unsupported_field(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    v1.create_namespaced_pod(ns, pod("on-x", node="node-x"))
    v1.create_namespaced_pod(ns, pod("on-y", node="node-y"))
    listed = v1.list_pod_for_all_namespaces(field_selector=f"spec.nodeName=node-x,metadata.namespace={ns}")
    assert [p.metadata.name for p in listed.items] == ["on-x"]
    assert [p.metadata.name for p in v1.list_namespaced_pod(ns, field_selector="metadata.name!=on-x").items] \
        == ["on-y"]
    with pytest.raises(client.ApiException) as exc:
        v1.list_namespaced_pod(ns, field_selector="spec.image=nginx")
    body = json.loads(exc.value.body)
    assert (exc.value.status, body["reason"], body["message"]) == (400, "BadRequest",
                                                                   "field label not supported: spec.image")


def test_limit_and_continue_page_through_a_list(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    for i in range(5):
        v1.create_namespaced_config_map(ns, {"metadata": {"name": f"cm{i}"}})
    seen, token = [], None
    while True:
        page = v1.list_namespaced_config_map(ns, limit=2, _continue=token)
        seen += [c.metadata.name for c in page.items]
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 5 - len(seen)
    assert seen == ["cm0", "cm1", "cm2", "cm3", "cm4"]
