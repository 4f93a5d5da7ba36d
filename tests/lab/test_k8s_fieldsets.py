"""Field sets, typed merge and managedFields bookkeeping of server-side apply, as plain functions."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from lab.k8s import fieldpaths, lastapplied, managed, managedfields, typed
from lab.k8s.errors import BadRequest, Conflict
from lab.k8s.fieldtypes import kind_type
from lab.k8s.resources import BY_KIND

POD, DEPLOYMENT, CONFIGMAP = kind_type("Pod"), kind_type("Deployment"), kind_type("ConfigMap")
# what a real 1.31 server recorded for `kubectl apply` (client side) creating this Pod
REAL_CREATE_FIELDS = {
    "f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}},
    "f:spec": {"f:containers": {'k:{"name":"nginx"}': {
        ".": {}, "f:image": {}, "f:name": {},
        "f:ports": {".": {}, 'k:{"containerPort":80,"protocol":"TCP"}': {
            ".": {}, "f:containerPort": {}, "f:protocol": {}}},
        "f:resources": {}}}, "f:securityContext": {}}}


def pod() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "nginx", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2", "resources": {},
                                 "ports": [{"containerPort": 80, "protocol": "TCP"}]}],
                 "securityContext": {}}}


def test_fields_v1_round_trips_a_real_servers_tree() -> None:
    paths = fieldpaths.from_fields_v1(REAL_CREATE_FIELDS)
    assert ("f:spec", "f:containers", 'k:{"name":"nginx"}') in paths  # `.` makes the item a member
    assert ("f:spec", "f:containers") not in paths  # a node with children and no `.` is not
    assert fieldpaths.to_fields_v1(paths) == REAL_CREATE_FIELDS


@pytest.mark.parametrize("tree", [[], {"x:y": {}}, {"f:a": {".": {"f:b": {}}}}, {"f:a": 1}])
def test_a_malformed_fields_v1_tree_is_refused(tree: Any) -> None:
    with pytest.raises(ValueError):
        fieldpaths.from_fields_v1(tree)


def test_paths_print_as_the_server_prints_them_in_a_conflict() -> None:
    path = ("f:spec", "f:containers", 'k:{"name":"app"}', "f:ports",
            'k:{"containerPort":80,"protocol":"TCP"}')
    assert fieldpaths.render(path) == '.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"]'
    assert fieldpaths.render(("f:metadata", "f:finalizers", 'v:"a/b"')) == '.metadata.finalizers[="a/b"]'


def test_an_update_at_create_owns_what_it_set_as_a_real_server_records_it() -> None:
    added = typed.compare({}, pod(), POD).added
    tree = fieldpaths.to_fields_v1(added - {("f:apiVersion",), ("f:kind",), ("f:metadata", "f:name")})
    assert tree == REAL_CREATE_FIELDS


def test_the_applied_field_set_has_no_dot_for_maps_and_keys_default_the_protocol() -> None:
    fields = typed.field_set({"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [
        {"name": "c", "ports": [{"containerPort": 53}]}], "tolerations": [{"key": "x"}]}}, POD)
    assert ("f:metadata", "f:labels", "f:a") in fields and ("f:metadata", "f:labels") not in fields
    assert ("f:spec", "f:containers", 'k:{"name":"c"}', "f:ports",
            'k:{"containerPort":53,"protocol":"TCP"}') in fields
    assert ("f:spec", "f:tolerations") in fields  # an atomic list is one field
    assert not any(len(p) > 2 and p[1] == "f:tolerations" for p in fields)


@pytest.mark.parametrize(("obj", "message"), [
    ({"spec": {"bogus": 1}}, ".spec.bogus: field not declared in schema"),
    ({"spec": {"containers": [{"image": "x"}]}},
     '.spec.containers: element 0: associative list with keys has an element that omits key field "name" '
     "(and doesn't have default value)"),
    ({"spec": {"containers": [{"name": "a"}, {"name": "a"}]}},
     '.spec.containers: duplicate entries for key [name="a"]'),
    ({"spec": {"containers": {}}}, ".spec.containers: expected list, got map"),
    ({"metadata": "x"}, ".metadata: expected map, got string"),
    ({"spec": {"priority": "high"}}, ".spec.priority: expected numeric (int or float), got string"),
])
def test_the_schema_refuses_what_structured_merge_diff_refuses(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(typed.TypedError, match=re.escape(message)):
        typed.field_set(obj, POD)


def test_merge_joins_list_maps_by_key_and_sets_as_a_union_and_replaces_atomic_lists() -> None:
    live = {"metadata": {"finalizers": ["a"]}, "spec": {
        "tolerations": [{"key": "x"}],
        "containers": [{"name": "app", "image": "v1", "env": [{"name": "A"}]}]}}
    config = {"metadata": {"finalizers": ["b", "a"]}, "spec": {
        "tolerations": [{"key": "y"}],
        "containers": [{"name": "side", "image": "s"}, {"name": "app", "env": [{"name": "B"}]}]}}
    merged = typed.merge(copy.deepcopy(live), config, POD)
    assert merged["metadata"]["finalizers"] == ["a", "b"]
    assert merged["spec"]["tolerations"] == [{"key": "y"}]
    assert merged["spec"]["containers"] == [
        {"name": "app", "image": "v1", "env": [{"name": "A"}, {"name": "B"}]}, {"name": "side", "image": "s"}]


def test_remove_takes_list_items_by_key_with_everything_under_them() -> None:
    obj = {"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443}]}}
    typed.remove(obj, {("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}'),
                       ("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}', "f:name")})
    assert obj == {"spec": {"ports": [{"port": 443}]}}


def _write(manager: str) -> managed.Write:
    return managed.Write(BY_KIND["Deployment"], manager, "2026-01-01T00:00:00Z")


def _deployment(replicas: int, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": labels},
            "spec": {"replicas": replicas}}


def _owners(obj: dict[str, Any]) -> dict[str, set[fieldpaths.Path]]:
    return {e.manager: e.fields for e in managedfields.decode(obj["metadata"]["managedFields"]) or []}


def test_an_update_takes_the_fields_it_changes_from_an_applier() -> None:
    live = managed.apply(None, _deployment(2, app="web"), _write("bot"), force=False)
    new = copy.deepcopy(live)
    new["spec"]["replicas"] = 3
    managed.update(live, new, _write("kubectl-edit"))
    owners = _owners(new)
    assert owners["kubectl-edit"] == {("f:spec", "f:replicas")}
    assert ("f:spec", "f:replicas") not in owners["bot"]
    assert [(e["manager"], e["operation"]) for e in new["metadata"]["managedFields"]] == [
        ("bot", "Apply"), ("kubectl-edit", "Update")]


def test_conflicts_name_every_field_and_manager_and_force_takes_them() -> None:
    live = managed.apply(None, _deployment(2, app="web"), _write("bot"), force=False)
    with pytest.raises(Conflict) as exc:
        managed.apply(live, _deployment(5, app="other"), _write("human"), force=False)
    assert exc.value.message == ('Apply failed with 2 conflicts: conflicts with "bot":\n'
                                 "- .metadata.labels.app\n- .spec.replicas")
    forced = managed.apply(live, _deployment(5, app="other"), _write("human"), force=True)
    assert "bot" not in _owners(forced)  # it owned nothing else: its entry goes
    assert forced["spec"]["replicas"] == 5


def test_an_object_without_managed_fields_belongs_to_before_first_apply() -> None:
    made_by_the_lab = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                       "spec": {"replicas": 1}}
    with pytest.raises(Conflict) as exc:
        managed.apply(made_by_the_lab, _deployment(2), _write("bot"), force=False)
    assert exc.value.message.endswith('conflict with "before-first-apply" using apps/v1: .spec.replicas')


def test_apply_refuses_managed_fields_in_the_configuration() -> None:
    config = _deployment(1)
    config["metadata"]["managedFields"] = []
    with pytest.raises(BadRequest, match=re.escape("metadata.managedFields must be nil")):
        managed.apply(None, config, _write("bot"), force=False)


def test_an_update_that_removes_its_own_field_owns_it_no_more() -> None:
    created = _deployment(1, app="web")
    managed.update(None, created, _write("human"))
    assert ("f:metadata", "f:labels", "f:app") in _owners(created)["human"]
    unlabelled = copy.deepcopy(created)
    del unlabelled["metadata"]["labels"]
    managed.update(created, unlabelled, _write("human"))
    assert _owners(unlabelled)["human"] == {("f:spec", "f:replicas")}


def test_the_oldest_of_more_than_ten_updaters_merge_into_ancient_changes() -> None:
    live: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}
    for i in range(12):
        new = copy.deepcopy(live)
        new["data"][f"k{i}"] = "v"
        writer = managed.Write(BY_KIND["ConfigMap"], f"m{i:02}", f"2026-01-01T00:00:{i:02}Z")
        managed.update(live, new, writer)
        live = new
    owners = _owners(live)
    assert len(owners) == 10 and "m00" not in owners and "m02" not in owners and "m03" in owners
    assert owners["ancient-changes"] == {("f:data", f"f:k{i}") for i in range(3)}


def test_kubectl_may_take_what_it_last_applied_client_side_while_the_object_still_has_it() -> None:
    last = _deployment(3, app="web")
    live = copy.deepcopy(last)
    live["metadata"]["annotations"] = {lastapplied.ANNOTATION: json.dumps(last)}
    live["spec"]["paused"] = True  # not in the last applied configuration
    allowed = lastapplied.allowed_conflicts(live, DEPLOYMENT, "apps/v1")
    assert {("f:spec", "f:replicas"), ("f:metadata", "f:labels", "f:app")} <= allowed
    assert ("f:spec", "f:paused") not in allowed
    live["spec"]["replicas"] = 5  # changed since by someone else
    assert ("f:spec", "f:replicas") not in lastapplied.allowed_conflicts(live, DEPLOYMENT, "apps/v1")
    assert lastapplied.allowed_conflicts(live, DEPLOYMENT, "apps/v2") == set()


def test_kubectls_server_side_apply_rewrites_an_existing_last_applied_annotation_only() -> None:
    merged = _deployment(4)
    lastapplied.sync(merged, _deployment(4))
    assert "annotations" not in merged["metadata"]
    merged["metadata"]["annotations"] = {lastapplied.ANNOTATION: "{}"}
    lastapplied.sync(merged, _deployment(4))
    text = merged["metadata"]["annotations"][lastapplied.ANNOTATION]
    assert text.endswith("}\n") and json.loads(text)["spec"] == {"replicas": 4}
