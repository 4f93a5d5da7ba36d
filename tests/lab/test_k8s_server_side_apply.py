"""Server-side apply and managedFields, through the kubernetes client and kubectl as two writers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.lab.kube import Kubectl, fresh_namespace

APPLY = "application/apply-patch+yaml"


def deployment(ns: str, name: str, replicas: int | None = None, **spec: Any) -> dict[str, Any]:
    pod_spec = spec.pop("pod_spec", {"containers": [{"name": "app", "image": "nginx:1.27"}]})
    body: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}, **spec}}
    if replicas is not None:
        body["spec"]["replicas"] = replicas
    return body


def apply_deployment(api: client.ApiClient, body: dict[str, Any], manager: str = "drewburr",
                     **kwargs: Any) -> client.V1Deployment:
    meta = body["metadata"]
    return client.AppsV1Api(api).patch_namespaced_deployment(
        meta["name"], meta["namespace"], body, field_manager=manager, _content_type=APPLY, **kwargs)


def entries(obj: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """managedFields by (manager, operation), as plain JSON."""
    raw = client.ApiClient().sanitize_for_serialization(obj.metadata.managed_fields or [])
    return {(e["manager"], e["operation"]): e for e in raw}


def error(exc: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    return json.loads(exc.value.body)  # type: ignore[no-any-return]


def test_apply_creates_the_object_and_records_its_manager(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "ssa")
    body = deployment(ns, "web", 2, pod_spec={"containers": [{
        "name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
        "env": [{"name": "MODE", "value": "a"}]}]})
    created = apply_deployment(api, body)
    assert created.spec.replicas == 2
    (entry,) = entries(created).values()
    assert (entry["manager"], entry["operation"], entry["apiVersion"], entry["fieldsType"]) == (
        "drewburr", "Apply", "apps/v1", "FieldsV1")
    assert created.metadata.managed_fields[0].time is not None  # the client parsed it as a date
    fields = entry["fieldsV1"]
    assert fields["f:spec"]["f:replicas"] == {}
    assert fields["f:spec"]["f:selector"] == {}  # an atomic struct is one field
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert container["."] == {} and container["f:image"] == {}
    assert container["f:ports"]['k:{"containerPort":80,"protocol":"TCP"}'] == {".": {}, "f:containerPort": {}}
    assert container["f:env"]['k:{"name":"MODE"}'] == {".": {}, "f:name": {}, "f:value": {}}
    assert "f:name" not in fields.get("f:metadata", {})  # name, uid, resourceVersion are nobody's


def test_a_write_without_field_manager_is_recorded_under_the_user_agent(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "ssa")
    cm = client.CoreV1Api(api).create_namespaced_config_map(ns, {"metadata": {"name": "c"},
                                                                 "data": {"k": "v"}})
    (entry,) = entries(cm).values()
    assert (entry["manager"], entry["operation"], entry["apiVersion"]) == (
        "OpenAPI-Generator", "Update", "v1")
    assert entry["fieldsV1"] == {"f:data": {".": {}, "f:k": {}}}


def test_conflict_with_kubectls_client_side_apply_and_force(kubectl: Kubectl, api: client.ApiClient,
                                                            tmp_path: Path) -> None:
    ns = fresh_namespace(api, "ssa")
    manifest = tmp_path / "web.yaml"
    manifest.write_text(json.dumps(deployment(ns, "web", 3)))
    kubectl("apply", "-f", str(manifest))
    with pytest.raises(ApiException) as exc:
        apply_deployment(api, deployment(ns, "web", 5))
    status = error(exc)
    assert (exc.value.status, status["reason"]) == (409, "Conflict")
    assert status["message"] == ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
                                 "using apps/v1: .spec.replicas")
    assert status["details"]["causes"] == [{
        "reason": "FieldManagerConflict", "field": ".spec.replicas",
        "message": 'conflict with "kubectl-client-side-apply" using apps/v1'}]
    assert client.AppsV1Api(api).read_namespaced_deployment("web", ns).spec.replicas == 3

    forced = apply_deployment(api, deployment(ns, "web", 5), force=True)
    assert forced.spec.replicas == 5
    owners = entries(forced)
    assert "f:replicas" in owners[("drewburr", "Apply")]["fieldsV1"]["f:spec"]
    assert "f:replicas" not in owners[("kubectl-client-side-apply", "Update")]["fieldsV1"]["f:spec"]


def test_kubectl_server_side_apply_conflicts_with_the_bot_until_forced(
        kubectl: Kubectl, api: client.ApiClient, tmp_path: Path) -> None:
    ns = fresh_namespace(api, "ssa")
    apply_deployment(api, deployment(ns, "web", 2))
    manifest = tmp_path / "web.yaml"
    manifest.write_text(json.dumps(deployment(ns, "web", 4)))
    refused = kubectl.fails("apply", "--server-side", "-f", str(manifest))
    assert 'Apply failed with 1 conflict: conflict with "drewburr": .spec.replicas' in refused
    same = tmp_path / "same.yaml"  # the same value is no conflict: both own it
    same.write_text(json.dumps(deployment(ns, "web", 2)))
    kubectl("apply", "--server-side", "-f", str(same))
    shared = entries(client.AppsV1Api(api).read_namespaced_deployment("web", ns))
    assert all("f:replicas" in shared[(m, "Apply")]["fieldsV1"]["f:spec"] for m in ("drewburr", "kubectl"))

    assert "serverside-applied" in kubectl("apply", "--server-side", "--force-conflicts", "-f", str(manifest))
    after = client.AppsV1Api(api).read_namespaced_deployment("web", ns)
    assert after.spec.replicas == 4
    assert "f:replicas" not in entries(after)[("drewburr", "Apply")]["fieldsV1"]["f:spec"]


def test_a_field_dropped_from_an_apply_is_removed_unless_another_owns_it(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "ssa")
    v1 = client.CoreV1Api(api)

    def apply(data: dict[str, str], manager: str = "drewburr") -> client.V1ConfigMap:
        return v1.patch_namespaced_config_map("c", ns, {"apiVersion": "v1", "kind": "ConfigMap",
                                                        "metadata": {"name": "c"}, "data": data},
                                              field_manager=manager, _content_type=APPLY)
    apply({"a": "1", "b": "2", "shared": "s"})
    apply({"shared": "s"}, manager="other")
    v1.patch_namespaced_config_map("c", ns, {"data": {"edited": "e"}}, field_manager="human")
    assert apply({"a": "1"}).data == {"a": "1", "shared": "s", "edited": "e"}
    assert apply({}).data == {"shared": "s", "edited": "e"}


def test_a_defaulted_field_the_applier_drops_comes_back_defaulted(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "ssa")
    apply_deployment(api, deployment(ns, "web", 3))
    assert apply_deployment(api, deployment(ns, "web")).spec.replicas == 1  # the API server's default


def test_list_items_merge_by_their_keys_between_managers(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "ssa")
    apply_deployment(api, deployment(ns, "web", 1, pod_spec={"containers": [{
        "name": "app", "image": "nginx:1.27", "env": [{"name": "A", "value": "1"}]}]}))
    sidecar = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
               "spec": {"template": {"spec": {"containers": [
                   {"name": "app", "env": [{"name": "B", "value": "2"}]},
                   {"name": "proxy", "image": "envoy:1",
                    "ports": [{"containerPort": 9901, "protocol": "TCP"}]}]}}}}
    merged = apply_deployment(api, sidecar, manager="mesh")
    containers = {c.name: c for c in merged.spec.template.spec.containers}
    assert [e.name for e in containers["app"].env] == ["A", "B"]
    assert containers["app"].image == "nginx:1.27" and containers["proxy"].image == "envoy:1"
    # the bot's next apply without env A drops only A: B is the mesh's
    again = apply_deployment(api, deployment(ns, "web", 1))
    app = next(c for c in again.spec.template.spec.containers if c.name == "app")
    assert [e.name for e in app.env] == ["B"]


def test_managed_fields_are_cleared_by_an_empty_entry(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "ssa")
    v1 = client.CoreV1Api(api)
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {"k": "v"}})
    cleared = v1.patch_namespaced_config_map("c", ns, {"metadata": {"managedFields": [{}]}})
    assert cleared.metadata.managed_fields is None
    assert v1.read_namespaced_config_map("c", ns).metadata.managed_fields is None


def test_apply_needs_a_field_manager_and_honours_dry_run(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "ssa")
    apps = client.AppsV1Api(api)
    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_deployment("web", ns, deployment(ns, "web", 1), _content_type=APPLY)
    assert (exc.value.status, error(exc)["message"]) == (
        422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply '
        "patch")
    dry = apply_deployment(api, deployment(ns, "web", 1), dry_run="All")
    assert dry.metadata.managed_fields[0].manager == "drewburr"
    with pytest.raises(ApiException) as exc:
        apps.read_namespaced_deployment("web", ns)
    assert exc.value.status == 404
    apply_deployment(api, deployment(ns, "web", 1))
    apply_deployment(api, deployment(ns, "web", 7), dry_run="All")
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 1


def test_apply_refuses_fields_the_schema_does_not_declare(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "ssa")
    body = deployment(ns, "web", 1)
    body["spec"]["bogus"] = True
    with pytest.raises(ApiException) as exc:
        apply_deployment(api, body)
    assert error(exc)["message"] == (
        f"failed to create typed patch object ({ns}/web; apps/v1, Kind=Deployment): "
        ".spec.bogus: field not declared in schema")
    no_metadata = {**deployment(ns, "web"), "metadata": "web"}
    with pytest.raises(ApiException) as exc:
        client.AppsV1Api(api).patch_namespaced_deployment("web", ns, no_metadata, field_manager="drewburr",
                                                          _content_type=APPLY)
    assert (exc.value.status, error(exc)["message"]) == (400, "failed to create typed patch object (apps/v1, "
                                                         "Kind=Deployment): .metadata: expected map, got "
                                                         "string")
    with pytest.raises(ApiException) as exc:
        apply_deployment(api, {**deployment(ns, "web", 1), "apiVersion": "apps/v1beta1"})
    assert error(exc)["message"] == "invalid object type: apps/v1beta1, Kind=Deployment"


def test_status_and_scale_writes_are_recorded_with_their_subresource(kubectl: Kubectl,
                                                                     api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "ssa")
    apply_deployment(api, deployment(ns, "web", 2))
    kubectl("scale", "-n", ns, "deployment/web", "--replicas=4")
    apps = client.AppsV1Api(api)
    apps.patch_namespaced_deployment_status("web", ns, {"status": {"observedGeneration": 99}},
                                            field_manager="operator")
    apps.patch_namespaced_deployment_status(
        "web", ns, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                    "status": {"conditions": [{"type": "Checked", "status": "True"}]}},
        field_manager="checker", _content_type=APPLY)
    raw = client.ApiClient().sanitize_for_serialization(
        apps.read_namespaced_deployment("web", ns).metadata.managed_fields)
    by_manager = {(e["manager"], e.get("subresource")): e for e in raw}
    assert by_manager[("checker", "status")]["operation"] == "Apply"
    assert by_manager[("checker", "status")]["fieldsV1"] == {"f:status": {"f:conditions": {
        'k:{"type":"Checked"}': {".": {}, "f:status": {}, "f:type": {}}}}}
    assert by_manager[("kubectl", "scale")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert by_manager[("operator", "status")]["fieldsV1"] == {"f:status": {"f:observedGeneration": {}}}
    assert "f:replicas" not in by_manager[("drewburr", None)]["fieldsV1"]["f:spec"]
    with pytest.raises(ApiException) as exc:  # the scale's new owner now stands in the bot's way
        apply_deployment(api, deployment(ns, "web", 2))
    assert error(exc)["message"] == ('Apply failed with 1 conflict: conflict with "kubectl" with subresource '
                                     '"scale" using apps/v1: .spec.replicas')


def test_a_replace_of_what_the_client_read_keeps_the_managed_fields(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "ssa")
    v1 = client.CoreV1Api(api)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    v1.patch_namespaced_config_map("c", ns, body, field_manager="drewburr", _content_type=APPLY)
    read = v1.read_namespaced_config_map("c", ns)  # the client parses managedFields' times, sends +00:00
    read.data["b"] = "2"
    replaced = v1.replace_namespaced_config_map("c", ns, read, field_manager="editor")
    owners = entries(replaced)
    assert owners[("editor", "Update")]["fieldsV1"] == {"f:data": {"f:b": {}}}
    assert owners[("drewburr", "Apply")]["fieldsV1"] == {"f:data": {"f:a": {}}}
    raw = json.loads(v1.read_namespaced_config_map("c", ns, _preload_content=False).data)
    assert all(e["time"].endswith("Z") for e in raw["metadata"]["managedFields"])


def test_kubectl_moves_from_client_side_to_server_side_apply_without_conflicts(
        kubectl: Kubectl, api: client.ApiClient, tmp_path: Path) -> None:
    ns = fresh_namespace(api, "ssa")
    manifest = tmp_path / "web.yaml"
    manifest.write_text(json.dumps(deployment(ns, "web", 3)))
    kubectl("apply", "-f", str(manifest))
    manifest.write_text(json.dumps(deployment(ns, "web", 4)))
    # .spec.replicas is kubectl-client-side-apply's, but still as last applied: kubectl takes it
    assert "serverside-applied" in kubectl("apply", "--server-side", "-f", str(manifest))
    apps = client.AppsV1Api(api)
    after = apps.read_namespaced_deployment("web", ns)
    assert after.spec.replicas == 4
    last = json.loads(after.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["spec"]["replicas"] == 4  # kept in step for a later client-side apply
    # a field someone else changed since is a conflict again
    apps.patch_namespaced_deployment("web", ns, {"spec": {"replicas": 6}}, field_manager="autoscaler")
    manifest.write_text(json.dumps(deployment(ns, "web", 5)))
    assert 'conflict with "autoscaler" using apps/v1: .spec.replicas' in kubectl.fails(
        "apply", "--server-side", "-f", str(manifest))
