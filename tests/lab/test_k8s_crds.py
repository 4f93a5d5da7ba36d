"""CustomResourceDefinitions through the official client: a kind created at run time is served
(discovery, CRUD, status, watch, schema), CRD validation, and deleting a CRD takes its kind."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, watch

from tests.lab.kube import Kubectl, fresh_namespace

Obj = dict[str, Any]
WIDGET_SCHEMA: Obj = {"type": "object", "properties": {
    "spec": {"type": "object", "required": ["size"], "properties": {
        "size": {"type": "integer", "minimum": 1},
        "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
    "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}


def crd(plural: str, kind: str, scope: str = "Namespaced", schema: Obj | None = None,
        name: str | None = None) -> Obj:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name or f"{plural}.example.com"},
            "spec": {"group": "example.com", "scope": scope,
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": schema or WIDGET_SCHEMA}}]}}


def widget(name: str, spec: Obj) -> Obj:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def status_of(exc: pytest.ExceptionInfo[client.ApiException]) -> tuple[int, str, str]:
    body = json.loads(exc.value.body)
    return exc.value.status, body["reason"], body["message"]


@pytest.fixture(scope="module")
def widgets(api: client.ApiClient) -> str:
    """The Widget CRD, created once for the module; returns a namespace to use."""
    ext = client.ApiextensionsV1Api(api)
    created = ext.create_custom_resource_definition(crd("widgets", "Widget"))
    conditions = {c.type: (c.status, c.reason) for c in created.status.conditions}
    assert conditions == {"NamesAccepted": ("True", "NoConflicts"),
                          "Established": ("True", "InitialNamesAccepted")}
    assert created.status.accepted_names.list_kind == "WidgetList"
    return fresh_namespace(api, "widgets")


def test_a_crd_created_at_run_time_is_in_discovery(api: client.ApiClient, widgets: str) -> None:
    co = client.CustomObjectsApi(api)
    listed = {r.name: r for r in co.get_api_resources("example.com", "v1").resources}
    assert set(listed) == {"widgets", "widgets/status"}
    assert (listed["widgets"].kind, listed["widgets"].namespaced, listed["widgets"].singular_name) == (
        "Widget", True, "widget")
    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    assert groups["example.com"].preferred_version.group_version == "example.com/v1"


def test_custom_objects_are_pruned_defaulted_and_served(api: client.ApiClient, widgets: str) -> None:
    co = client.CustomObjectsApi(api)
    sent = widget("w1", {"size": 2, "bogus": 1, "extra": {"anything": {"goes": True}}})
    sent["topLevel"] = "dropped"
    created = co.create_namespaced_custom_object("example.com", "v1", widgets, "widgets", sent)
    assert created["spec"] == {"size": 2, "color": "red", "extra": {"anything": {"goes": True}}}
    assert "topLevel" not in created
    got = co.get_namespaced_custom_object("example.com", "v1", widgets, "widgets", "w1")
    assert got["spec"] == created["spec"] and got["metadata"]["uid"] == created["metadata"]["uid"]
    names = [i["metadata"]["name"] for i in co.list_namespaced_custom_object(
        "example.com", "v1", widgets, "widgets")["items"]]
    assert names == ["w1"]


def test_the_status_subresource_is_the_only_way_to_write_status(api: client.ApiClient, widgets: str) -> None:
    co = client.CustomObjectsApi(api)
    made = co.create_namespaced_custom_object("example.com", "v1", widgets, "widgets",
                                              {**widget("w2", {"size": 1}), "status": {"ready": True}})
    assert "status" not in made  # a status subresource: status is not set on create
    co.patch_namespaced_custom_object("example.com", "v1", widgets, "widgets", "w2",
                                      {"status": {"ready": True}})
    assert "status" not in co.get_namespaced_custom_object("example.com", "v1", widgets, "widgets", "w2")
    done = co.patch_namespaced_custom_object_status("example.com", "v1", widgets, "widgets", "w2",
                                                    {"status": {"ready": True}, "spec": {"size": 9}})
    assert (done["status"], done["spec"]["size"]) == ({"ready": True}, 1)
    with pytest.raises(client.ApiException) as exc:
        co.patch_namespaced_custom_object_status("example.com", "v1", widgets, "widgets", "w2",
                                                 {"status": {"ready": "yes"}})
    assert status_of(exc) == (422, "Invalid", 'Widget.example.com "w2" is invalid: status.ready: Invalid '
                              'value: "string": status.ready in body must be of type boolean: "string"')


def test_a_watch_sees_custom_objects_come_and_go(api: client.ApiClient, widgets: str) -> None:
    co = client.CustomObjectsApi(api)
    listed = co.list_namespaced_custom_object("example.com", "v1", widgets, "widgets")
    rv = listed["metadata"]["resourceVersion"]
    co.create_namespaced_custom_object("example.com", "v1", widgets, "widgets", widget("w3", {"size": 3}))
    co.delete_namespaced_custom_object("example.com", "v1", widgets, "widgets", "w3")
    seen = []
    for event in watch.Watch().stream(co.list_namespaced_custom_object, "example.com", "v1", widgets,
                                      "widgets", resource_version=rv, timeout_seconds=10):
        seen.append((event["type"], event["object"]["metadata"]["name"]))
        if event["type"] == "DELETED":
            break
    assert seen == [("ADDED", "w3"), ("DELETED", "w3")]


@pytest.mark.parametrize(("spec", "message"), [
    ({"size": "big"},
     'spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"'),
    ({"size": 0}, "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"),
    ({"size": 1, "color": "green"},
     'spec.color: Unsupported value: "green": supported values: "red", "blue"'),
    ({"color": "red"}, "spec.size: Required value"),
    ({"size": 1, "tags": ["a", "b", "c"]}, "spec.tags: Too many: 3: must have at most 2 items"),
])
def test_schema_violations_are_422_in_the_apiservers_words(api: client.ApiClient, widgets: str, spec: Obj,
                                                           message: str) -> None:
    with pytest.raises(client.ApiException) as exc:
        client.CustomObjectsApi(api).create_namespaced_custom_object("example.com", "v1", widgets, "widgets",
                                                                     widget("bad", spec))
    assert status_of(exc) == (422, "Invalid", f'Widget.example.com "bad" is invalid: {message}')
    assert json.loads(exc.value.body)["details"]["causes"][0]["field"] == message.split(":")[0]


def test_an_addon_kind_checks_its_chart_schema(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    pool = {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "lan"},
            "spec": {"addresses": "10.0.0.1", "bogusField": True}}
    with pytest.raises(client.ApiException) as exc:
        client.CustomObjectsApi(api).create_namespaced_custom_object("metallb.io", "v1beta1", ns,
                                                                     "ipaddresspools", pool)
    assert status_of(exc) == (422, "Invalid", 'IPAddressPool.metallb.io "lan" is invalid: spec.addresses: '
                              'Invalid value: "string": spec.addresses in body must be of type array: '
                              '"string"')


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["metadata"].update(name="wrong.example.com"),
     'metadata.name: Invalid value: "wrong.example.com": must be spec.names.plural+"."+spec.group'),
    (lambda c: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].pop("type"),
     "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for "
     "specified object fields"),
    (lambda c: c["spec"]["versions"][0].pop("schema"),
     "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"),
    (lambda c: c["spec"].update(scope="Global"),
     'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"'),
    (lambda c: (c["spec"].update(group="storage.k8s.io"), c["metadata"].update(name="gizmos.storage.k8s.io")),
     'metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval '
     'annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111'),
])
def test_a_crd_the_apiserver_refuses_is_422(api: client.ApiClient, change: Any, message: str) -> None:
    body = copy.deepcopy(crd("gizmos", "Gizmo"))
    change(body)
    with pytest.raises(client.ApiException) as exc:
        client.ApiextensionsV1Api(api).create_custom_resource_definition(body)
    name = body["metadata"]["name"]
    assert status_of(exc) == (422, "Invalid",
                              f'CustomResourceDefinition.apiextensions.k8s.io "{name}" is invalid: {message}')


def test_a_cluster_scoped_kind_and_deleting_its_crd(api: client.ApiClient) -> None:
    ext, co = client.ApiextensionsV1Api(api), client.CustomObjectsApi(api)
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    ext.create_custom_resource_definition(crd("sprockets", "Sprocket", "Cluster", schema))
    co.create_cluster_custom_object("example.com", "v1", "sprockets", {
        "apiVersion": "example.com/v1", "kind": "Sprocket", "metadata": {"name": "s1"}, "teeth": 12})
    assert co.get_cluster_custom_object("example.com", "v1", "sprockets", "s1")["teeth"] == 12
    ext.delete_custom_resource_definition("sprockets.example.com")
    with pytest.raises(client.ApiException) as exc:
        co.list_cluster_custom_object("example.com", "v1", "sprockets")
    assert exc.value.status == 404
    assert "sprockets" not in {r.name for r in co.get_api_resources("example.com", "v1").resources}
    ext.create_custom_resource_definition(crd("sprockets", "Sprocket", "Cluster", schema))
    assert co.list_cluster_custom_object("example.com", "v1", "sprockets")["items"] == []  # its objects went


def test_a_second_crd_for_a_taken_kind_is_not_established(api: client.ApiClient, widgets: str) -> None:
    other = crd("widgetz", "Widget")
    made = client.ApiextensionsV1Api(api).create_custom_resource_definition(other)
    conditions = {c.type: c.status for c in made.status.conditions}
    assert conditions == {"NamesAccepted": "False", "Established": "False"}
    with pytest.raises(client.ApiException) as exc:
        client.CustomObjectsApi(api).list_namespaced_custom_object("example.com", "v1", widgets, "widgetz")
    assert exc.value.status == 404


def test_the_scale_subresource_follows_the_crds_paths(api: client.ApiClient, kubectl: Kubectl) -> None:
    body = crd("pools", "Pool", schema={"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
        "status": {"type": "object", "properties": {"count": {"type": "integer"},
                                                    "selector": {"type": "string"}}}}})
    body["spec"]["versions"][0]["subresources"]["scale"] = {
        "specReplicasPath": ".spec.size", "statusReplicasPath": ".status.count",
        "labelSelectorPath": ".status.selector"}
    client.ApiextensionsV1Api(api).create_custom_resource_definition(body)
    ns, co = fresh_namespace(api), client.CustomObjectsApi(api)
    co.create_namespaced_custom_object("example.com", "v1", ns, "pools", {
        "apiVersion": "example.com/v1", "kind": "Pool", "metadata": {"name": "p"}, "spec": {"size": 1}})
    co.patch_namespaced_custom_object_status("example.com", "v1", ns, "pools", "p",
                                             {"status": {"count": 1, "selector": "app=p"}})
    assert "pool.example.com/p scaled" in kubectl("scale", "pool", "p", "-n", ns, "--replicas=4")
    scale = co.get_namespaced_custom_object_scale("example.com", "v1", ns, "pools", "p")
    assert (scale["spec"]["replicas"], scale["status"]) == (4, {"replicas": 1, "selector": "app=p"})
    assert co.get_namespaced_custom_object("example.com", "v1", ns, "pools", "p")["spec"] == {"size": 4}
    body["metadata"]["name"], body["spec"]["names"] = "pumps.example.com", {"plural": "pumps", "kind": "Pump"}
    body["spec"]["versions"][0]["subresources"]["scale"]["specReplicasPath"] = ".status.size"
    with pytest.raises(client.ApiException) as exc:
        client.ApiextensionsV1Api(api).create_custom_resource_definition(body)
    assert status_of(exc)[2].endswith('spec.versions[0].subresources.scale.specReplicasPath: Invalid value: '
                                      '".status.size": should be a json path under .spec')


def test_a_crds_scope_cannot_change(api: client.ApiClient, widgets: str) -> None:
    with pytest.raises(client.ApiException) as exc:
        client.ApiextensionsV1Api(api).patch_custom_resource_definition("widgets.example.com",
                                                                        {"spec": {"scope": "Cluster"}})
    assert status_of(exc) == (422, "Invalid", 'CustomResourceDefinition.apiextensions.k8s.io '
                              '"widgets.example.com" is invalid: spec.scope: Invalid value: "Cluster": '
                              'field is immutable')


def test_kubectl_apply_is_strict_about_unknown_fields_unless_told_not_to_be(
        api: client.ApiClient, widgets: str, kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "w.yaml"
    manifest.write_text("apiVersion: example.com/v1\nkind: Widget\n"
                        f"metadata: {{name: strict, namespace: {widgets}}}\nspec: {{size: 1, colour: red}}\n")
    error = kubectl.fails("apply", "-f", str(manifest))
    assert ('Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field '
            '"spec.colour"') in error
    assert "widget.example.com/strict created" in kubectl("apply", "--validate=false", "-f", str(manifest))
    co = client.CustomObjectsApi(api)
    got = co.get_namespaced_custom_object("example.com", "v1", widgets, "widgets", "strict")
    assert got["spec"] == {"size": 1, "color": "red"}


def test_deleting_a_crd_ends_the_watches_of_its_kind(api: client.ApiClient) -> None:
    ext, co = client.ApiextensionsV1Api(api), client.CustomObjectsApi(api)
    ext.create_custom_resource_definition(crd("blips", "Blip", schema={
        "type": "object", "x-kubernetes-preserve-unknown-fields": True}))
    ns = fresh_namespace(api)
    co.create_namespaced_custom_object("example.com", "v1", ns, "blips", {
        "apiVersion": "example.com/v1", "kind": "Blip", "metadata": {"name": "b"}})
    stream = co.list_namespaced_custom_object("example.com", "v1", ns, "blips", watch=True,
                                              timeout_seconds=300,
                                              _preload_content=False, _request_timeout=60)
    lines = stream.stream(decode_content=True)  # the raw chunks of the watch
    assert json.loads(next(lines))["type"] == "ADDED"
    ext.delete_custom_resource_definition("blips.example.com")
    rest = b"".join(lines)  # ends when the server ends the watch (the read times out otherwise)
    assert [json.loads(line)["type"] for line in rest.splitlines()] == ["DELETED"]


def _discovery(api: client.ApiClient, path: str, accept: str) -> tuple[str, Any]:
    response = api.call_api(*api.param_serialize("GET", path, header_params={"Accept": accept},
                                                 auth_settings=["BearerToken"]))
    response.read()
    return response.getheader("Content-Type"), json.loads(response.data)


def test_aggregated_discovery_lists_a_run_time_kind(api: client.ApiClient, widgets: str) -> None:
    aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    media, body = _discovery(api, "/apis", f"{aggregated},application/json")
    assert (media, body["kind"]) == (aggregated, "APIGroupDiscoveryList")
    assert body["apiVersion"] == "apidiscovery.k8s.io/v2"
    group = next(g for g in body["items"] if g["metadata"]["name"] == "example.com")
    (version,) = group["versions"]
    widget_entry = next(r for r in version["resources"] if r["resource"] == "widgets")
    assert widget_entry["responseKind"] == {"group": "example.com", "version": "v1", "kind": "Widget"}
    assert (widget_entry["scope"], widget_entry["subresources"][0]["subresource"]) == ("Namespaced", "status")
    _, core = _discovery(api, "/api", aggregated)
    pods = next(r for r in core["items"][0]["versions"][0]["resources"] if r["resource"] == "pods")
    eviction = next(s for s in pods["subresources"] if s["subresource"] == "eviction")
    assert eviction["responseKind"] == {"group": "policy", "version": "v1", "kind": "Eviction"}
    media, legacy = _discovery(api, "/apis", "application/json")
    assert media.startswith("application/json") and legacy["kind"] == "APIGroupList"


def test_a_kind_served_in_two_versions_reads_in_the_version_asked(api: client.ApiClient) -> None:
    body = crd("dials", "Dial", schema={"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    stored = body["spec"]["versions"][0]
    body["spec"]["versions"] = [{**stored, "name": "v1beta1", "storage": False}, stored]
    client.ApiextensionsV1Api(api).create_custom_resource_definition(body)
    ns, co = fresh_namespace(api), client.CustomObjectsApi(api)
    assert {v.version for v in client.ApisApi(api).get_api_versions().groups
            if v.name == "example.com" for v in v.versions} == {"v1", "v1beta1"}
    co.create_namespaced_custom_object("example.com", "v1beta1", ns, "dials", {
        "apiVersion": "example.com/v1beta1", "kind": "Dial", "metadata": {"name": "d"}, "angle": 90})
    got = co.get_namespaced_custom_object("example.com", "v1", ns, "dials", "d")
    assert (got["apiVersion"], got["angle"]) == ("example.com/v1", 90)
    listed = co.list_namespaced_custom_object("example.com", "v1", ns, "dials")
    assert [i["apiVersion"] for i in listed["items"]] == ["example.com/v1"]
    events = watch.Watch().stream(co.list_namespaced_custom_object, "example.com", "v1beta1", ns, "dials",
                                  timeout_seconds=5)
    assert next(events)["object"]["apiVersion"] == "example.com/v1beta1"
    events.close()
