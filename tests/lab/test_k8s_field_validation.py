"""fieldValidation=Ignore|Warn|Strict on create, update and patch, through the client and kubectl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.conftest import RunningLab
from tests.lab.kube import Kubectl, fresh_namespace
from tests.lab.pve_client import wait_for
from tests.lab.test_k8s_api_fuzz import Api
from tests.lab.test_k8s_server_side_apply import deployment, error


class Sent(NamedTuple):
    status: int
    warnings: list[str]
    body: dict[str, Any]


def send(api: client.ApiClient, method: str, path: str, body: Any = None, **query: str) -> Sent:
    """A request through the client's transport, with a body its typed models would refuse (they
    forbid unknown fields)."""
    media = "application/merge-patch+json" if method == "PATCH" else "application/json"
    request = api.param_serialize(method, path, query_params=list(query.items()), body=body,
                                  header_params={"Content-Type": media, "Accept": "application/json"},
                                  auth_settings=["BearerToken"])
    response = api.call_api(*request)
    return Sent(response.status, response.getheaders().getlist("Warning"), json.loads(response.read()))


def test_unknown_fields_warn_by_default_and_are_never_saved(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "fv")
    body = {"metadata": {"name": "c", "bogus": 1}, "data": {"k": "v"}, "extra": {"deep": True}}
    sent = send(api, "POST", f"/api/v1/namespaces/{ns}/configmaps", body)
    assert sent.status == 201
    # in the order of the document, as the strict decoder finds them
    assert sent.warnings == ['299 - "unknown field \\"metadata.bogus\\""',
                             '299 - "unknown field \\"extra\\""']
    saved = send(api, "GET", f"/api/v1/namespaces/{ns}/configmaps/c").body
    assert "extra" not in saved and "bogus" not in saved["metadata"]
    assert client.CoreV1Api(api).read_namespaced_config_map("c", ns).data == {"k": "v"}


def test_a_refused_write_still_carries_its_warnings(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "fv")
    body = {"metadata": {"name": "Bad_Name"}, "x": 1}
    sent = send(api, "POST", f"/api/v1/namespaces/{ns}/configmaps", body)
    assert (sent.status, sent.body["reason"]) == (422, "Invalid")
    assert sent.warnings == ['299 - "unknown field \\"x\\""']


def test_ignore_drops_unknown_fields_silently(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "fv")
    sent = send(api, "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "c"}, "extra": 1},
                fieldValidation="Ignore")
    assert (sent.status, sent.warnings) == (201, [])
    assert "extra" not in send(api, "GET", f"/api/v1/namespaces/{ns}/configmaps/c").body


def test_strict_refuses_unknown_fields_on_create_update_and_patch(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "fv")
    path = f"/apis/apps/v1/namespaces/{ns}/deployments"
    body = deployment(ns, "web", 1)
    body["spec"]["template"]["spec"]["containers"][0]["bogus"] = "x"
    refused = send(api, "POST", path, body, fieldValidation="Strict")
    assert (refused.status, refused.body["reason"]) == (400, "BadRequest")
    assert refused.body["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field '
        '"spec.template.spec.containers[0].bogus"')
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment(ns, deployment(ns, "web", 1), field_validation="Strict")
    with pytest.raises(ApiException) as exc:  # a patch is a plain dict: the typed client sends it as is
        apps.patch_namespaced_deployment("web", ns, {"spec": {"bogus": 1, "paused": True}},
                                         field_validation="Strict")
    assert (exc.value.status, error(exc)["message"]) == (
        400, 'strict decoding error: unknown field "spec.bogus"')
    assert not apps.read_namespaced_deployment("web", ns).spec.paused
    replaced = send(api, "PUT", path + "/web", {**deployment(ns, "web", 1), "status": {"nope": 1}},
                    fieldValidation="Strict")
    assert replaced.body["message"].endswith('strict decoding error: unknown field "status.nope"')


def test_a_field_sent_twice_is_a_duplicate_field(kube_lab: RunningLab, api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "fv")
    raw = Api(kube_lab)  # the typed client cannot send a key twice: plain HTTP can
    body = b'{"metadata": {"name": "c"}, "data": {"k": "1"}, "data": {"k": "2"}}'
    path = f"/api/v1/namespaces/{ns}/configmaps"
    refused = raw.session.post(raw.base + path, data=body, params={"fieldValidation": "Strict"},
                               verify=raw.ca, headers={"Content-Type": "application/json"}, timeout=20)
    assert (refused.status_code, refused.json()["message"]) == (400, (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field '
        '"data"'))
    warned = raw.session.post(raw.base + path, data=body, verify=raw.ca,
                              headers={"Content-Type": "application/json"}, timeout=20)
    assert warned.headers["Warning"] == '299 - "duplicate field \\"data\\""'
    assert warned.json()["data"] == {"k": "2"}  # the last one wins, as in Go


def test_an_unsupported_directive_is_invalid(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "fv")
    with pytest.raises(ApiException) as exc:
        client.CoreV1Api(api).create_namespaced_config_map(ns, {"metadata": {"name": "c"}},
                                                           field_validation="Loose")
    assert (exc.value.status, error(exc)["message"]) == (422, (
        'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported '
        'values: "", "Ignore", "Strict", "Warn"'))


def test_an_unsupported_dry_run_is_invalid_and_writes_nothing(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "fv")
    sent = send(api, "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "c"}}, dryRun="Yes")
    assert (sent.status, sent.body["message"]) == (422, (
        'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: "Yes": supported values: "All"'))
    assert client.CoreV1Api(api).list_namespaced_config_map(ns).items == []
    client.CoreV1Api(api).create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
    deleted = send(api, "DELETE", f"/api/v1/namespaces/{ns}/configmaps/c", dryRun="x")
    assert (deleted.status, deleted.body["message"]) == (422, (
        'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: "x": supported values: "All"'))
    assert [c.metadata.name for c in client.CoreV1Api(api).list_namespaced_config_map(ns).items] == ["c"]


def test_kubectl_apply_is_strict_by_default_and_warns_when_asked(kubectl: Kubectl, api: client.ApiClient,
                                                                 tmp_path: Path) -> None:
    ns = fresh_namespace(api, "fv")
    body = deployment(ns, "web", 1)
    body["spec"]["bogus"] = True
    manifest = tmp_path / "web.yaml"
    manifest.write_text(json.dumps(body))
    assert (f'Error from server (BadRequest): error when creating "{manifest}": Deployment in version "v1" '
            'cannot be handled as a Deployment: strict decoding error: unknown field "spec.bogus"'
            ) in kubectl.fails("apply", "-f", str(manifest))
    warned = kubectl.run("apply", "--validate=warn", "-f", str(manifest))
    assert warned.returncode == 0, warned.stderr
    assert 'Warning: unknown field "spec.bogus"' in warned.stderr
    assert "deployment.apps/web created" in warned.stdout
    assert ".spec.bogus: field not declared in schema" in kubectl.fails("apply", "--server-side", "-f",
                                                                        str(manifest))


GIZMOS = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
          "metadata": {"name": "gizmos.fv.example"}, "spec": {
              "group": "fv.example", "scope": "Namespaced", "names": {"plural": "gizmos", "kind": "Gizmo"},
              "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                  "type": "object", "properties": {"spec": {"type": "object", "properties": {
                      "size": {"type": "integer"}}}}}}}]}}


def test_a_custom_objects_unknown_fields_follow_the_same_directive(api: client.ApiClient) -> None:
    ns = fresh_namespace(api, "fv")
    client.ApiextensionsV1Api(api).create_custom_resource_definition(GIZMOS)
    path = f"/apis/fv.example/v1/namespaces/{ns}/gizmos"

    gizmo = {"apiVersion": "fv.example/v1", "kind": "Gizmo", "metadata": {"name": "g"},
             "spec": {"size": 1, "colour": "red"}}
    sent = wait_for(lambda: (s := send(api, "POST", path, gizmo)).status != 404 and s, what="Gizmos served")
    assert sent.status == 201 and sent.warnings == ['299 - "unknown field \\"spec.colour\\""']
    assert sent.body["spec"] == {"size": 1}
    patched = send(api, "PATCH", path + "/g", {"spec": {"colour": "blue"}}, fieldValidation="Strict")
    assert (patched.status, patched.body["message"]) == (
        400, 'strict decoding error: unknown field "spec.colour"')
