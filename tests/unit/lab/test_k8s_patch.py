"""JSON patch, merge patch and strategic merge patch, with Kubernetes' patch strategies."""

from __future__ import annotations

import pytest

from lab.k8s.errors import K8sError
from lab.k8s.patch import (
    STRATEGIC_MERGE_PATCH,
    apply_patch,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)

NODE = {"metadata": {"name": "kube01", "labels": {"a": "1"}, "finalizers": ["x"]},
        "spec": {"taints": [{"key": "k1", "effect": "NoSchedule"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"},
                                  {"type": "MemoryPressure", "status": "False"}]}}
POD = {"spec": {"containers": [{"name": "app", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
                               {"name": "sidecar", "image": "s:1"}]}}


def test_merge_patch_merges_objects_deletes_nulls_and_replaces_lists() -> None:
    out = merge_patch(NODE, {"metadata": {"labels": {"a": None, "b": "2"}},
                             "spec": {"taints": [{"key": "k2", "effect": "NoExecute"}]}})
    assert out["metadata"]["labels"] == {"b": "2"}
    assert out["spec"]["taints"] == [{"key": "k2", "effect": "NoExecute"}]
    assert NODE["metadata"]["labels"] == {"a": "1"}  # the original is untouched


def test_strategic_merge_replaces_taints_whole_as_the_api_types_declare() -> None:
    out = strategic_merge_patch(NODE, {"spec": {"taints": [{"key": "k2", "effect": "NoExecute"}]}})
    assert out["spec"]["taints"] == [{"key": "k2", "effect": "NoExecute"}]


def test_strategic_merge_merges_conditions_by_type() -> None:
    out = strategic_merge_patch(NODE, {"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}})
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "Unknown"},
                                           {"type": "MemoryPressure", "status": "False"}]


def test_strategic_merge_merges_containers_and_env_by_name() -> None:
    out = strategic_merge_patch(POD, {"spec": {"containers": [
        {"name": "app", "image": "a:2", "env": [{"name": "Y", "value": "2"}]}]}})
    app, sidecar = out["spec"]["containers"]
    assert app["image"] == "a:2"
    assert app["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
    assert sidecar == {"name": "sidecar", "image": "s:1"}


def test_strategic_merge_directives() -> None:
    out = strategic_merge_patch(POD, {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["app"]
    out = strategic_merge_patch(NODE, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}})
    assert out["metadata"]["finalizers"] == []
    out = strategic_merge_patch(NODE, {"metadata": {"finalizers": ["y"]}})
    assert out["metadata"]["finalizers"] == ["x", "y"]  # finalizers merge as a set
    out = strategic_merge_patch(NODE, {"status": {"$setElementOrder/conditions": [
        {"type": "MemoryPressure"}, {"type": "Ready"}]}})
    assert [c["type"] for c in out["status"]["conditions"]] == ["MemoryPressure", "Ready"]
    out = strategic_merge_patch(NODE, {"metadata": {"labels": {"$patch": "replace", "z": "9"}}})
    assert out["metadata"]["labels"] == {"z": "9"}


def test_json_patch_operations() -> None:
    out = json_patch(NODE, [
        {"op": "add", "path": "/spec/taints/-", "value": {"key": "k2", "effect": "NoSchedule"}},
        {"op": "replace", "path": "/metadata/labels/a", "value": "9"},
        {"op": "remove", "path": "/status/conditions/1"},
        {"op": "copy", "from": "/metadata/name", "path": "/metadata/labels/name"},
        {"op": "test", "path": "/metadata/labels/a", "value": "9"},
    ])
    assert [t["key"] for t in out["spec"]["taints"]] == ["k1", "k2"]
    assert out["metadata"]["labels"] == {"a": "9", "name": "kube01"}
    assert len(out["status"]["conditions"]) == 1


@pytest.mark.parametrize("ops", [
    [{"op": "replace", "path": "/spec/nothing/here", "value": 1}],
    [{"op": "remove", "path": "/spec/taints/5"}],
    [{"op": "test", "path": "/metadata/name", "value": "other"}],
])
def test_json_patch_that_does_not_apply_is_422(ops: list[dict[str, object]]) -> None:
    with pytest.raises(K8sError) as exc:
        json_patch(NODE, ops)
    assert exc.value.code == 422


def test_custom_resources_refuse_strategic_merge_with_415() -> None:
    with pytest.raises(K8sError) as exc:
        apply_patch({"spec": {}}, STRATEGIC_MERGE_PATCH, {"spec": {"a": 1}}, custom=True)
    assert exc.value.code == 415
    assert "application/merge-patch+json" in exc.value.message
