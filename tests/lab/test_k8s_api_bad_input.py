"""Bad requests get the API server's `Status` (400/404/405/415/422), never a traceback or a 500."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for

CM = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
HELMCHARTS = "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts"
JSON, MERGE, SMP, JSON_PATCH = ("application/json", "application/merge-patch+json",
                                "application/strategic-merge-patch+json", "application/json-patch+json")
CASES = [
    ("POST", CM, JSON, b"", 400, "BadRequest"),
    ("POST", CM, JSON, b"[1, 2]", 400, "BadRequest"),
    ("POST", CM, JSON, b'"text"', 400, "BadRequest"),
    ("POST", CM, JSON, b'{"metadata": "x"}', 400, "BadRequest"),
    ("POST", CM, JSON, b'{"apiVersion": "apps/v1", "metadata": {"name": "a"}}', 400, "BadRequest"),
    ("POST", CM, JSON, b'{"metadata": {"name": "Bad_Name"}}', 422, "Invalid"),
    ("POST", CM, JSON, b'{"metadata": {"name": "a", "labels": {"x": 1}}}', 400, "BadRequest"),
    ("POST", CM, JSON, b'{"metadata": {"name": "a", "labels": ["x"]}}', 400, "BadRequest"),
    ("POST", CM, JSON, b'{"metadata": {"name": "a", "labels": {"bad key!": "x"}}}', 422, "Invalid"),
    ("POST", CM, JSON, b'{"metadata": {"name": "a", "labels": {"k": "white space"}}}', 422, "Invalid"),
    ("POST", CM, JSON, b'{"metadata": {"name": "rv", "resourceVersion": "5"}}', 500, "InternalError"),
    ("POST", "/api/v1/namespaces/Nope!/configmaps", JSON, b'{"metadata": {"name": "a"}}', 404, "NotFound"),
    ("POST", "/api/v1/pods", JSON, b'{"metadata": {"name": "a"}}', 405, "MethodNotAllowed"),
    ("PUT", CM + "/missing", JSON, b'{"metadata": {"name": "missing"}}', 404, "NotFound"),
    ("PATCH", CM + "/missing", MERGE, b"{}", 404, "NotFound"),
    ("PATCH", CM + "/base", MERGE, b"{nope", 400, "BadRequest"),
    ("PATCH", CM + "/base", MERGE, b"[]", 400, "BadRequest"),
    ("PATCH", CM + "/base", JSON_PATCH, b'{"op": "add"}', 400, "BadRequest"),
    ("PATCH", CM + "/base", JSON_PATCH, b'[{"op": "jump", "path": "/x"}]', 422, "Invalid"),
    ("PATCH", CM + "/base", JSON_PATCH, b'[{"op": "add", "path": "no-slash", "value": 1}]', 422, "Invalid"),
    ("PATCH", CM + "/base", SMP, b'{"metadata": {"name": "other"}}', 400, "BadRequest"),
    ("PATCH", CM + "/base", "text/plain", b"{}", 415, "UnsupportedMediaType"),
    ("PATCH", CM + "/base", "application/apply-patch+yaml", b"data: {a: b}", 422, "Invalid"),
    ("DELETE", CM + "/base", JSON, b"{broken", 400, "BadRequest"),
    ("DELETE", CM + "/base?gracePeriodSeconds=soon", JSON, b"", 400, "BadRequest"),
    ("GET", CM + "?labelSelector=a%3D%28", JSON, b"", 400, "BadRequest"),
    ("GET", CM + "?fieldSelector=nonsense", JSON, b"", 400, "BadRequest"),
    ("GET", CM + "?limit=many", JSON, b"", 400, "BadRequest"),
    ("GET", CM + "?limit=99999999999999999999", JSON, b"", 400, "BadRequest"),
    ("GET", CM + "?resourceVersionMatch=Exact", JSON, b"", 422, "Invalid"),
    ("GET", CM + "?watch=1&resourceVersionMatch=NotOlderThan", JSON, b"", 422, "Invalid"),
    ("GET", CM + "?continue=%%%", JSON, b"", 400, "BadRequest"),
    ("GET", CM + "?watch=1&resourceVersion=abc", JSON, b"", 400, "BadRequest"),
    ("GET", CM + "?watch=1&timeoutSeconds=forever", JSON, b"", 400, "BadRequest"),
    ("GET", CM + "?watch=1&sendInitialEvents=true&allowWatchBookmarks=true", JSON, b"", 422, "Invalid"),
    ("GET", "/api/v1/namespaces/default/configmaps/base/status", JSON, b"", 404, "NotFound"),
    ("DELETE", "/api/v1/namespaces/kube-system", JSON, b"", 403, "Forbidden"),
    ("GET", "/apis/apps/v2/deployments", JSON, b"", 404, "NotFound"),
    ("POST", "/api/v1/namespaces/default/pods/nopod/eviction", JSON, b'{"metadata": {"name": "x"}}', 400,
     "BadRequest"),
    ("POST", CM, "text/plain", b'{"metadata": {"name": "a"}}', 415, "UnsupportedMediaType"),
    ("POST", CM, JSON, b'{"metadata": {"name": "a"}, "data": {"k": 5}}', 400, "BadRequest"),
    ("POST", PODS, JSON, b'{"metadata": {"name": "a"}, "spec": {"containers": "x"}}', 400, "BadRequest"),
    ("POST", PODS, JSON, b'{"metadata": {"name": "a"}, "spec": {"containers": [{"name": "c", "image": "i", '
     b'"resources": {"requests": {"cpu": "lots"}}}]}}', 400, "BadRequest"),
    ("POST", DEPLOYMENTS, JSON, b'{"metadata": {"name": "a"}, "spec": {"replicas": "3"}}', 400, "BadRequest"),
    ("POST", PODS, JSON, b'{"metadata": {"name": "a"}, "spec": {"containers": [null]}}', 422, "Invalid"),
    ("POST", DEPLOYMENTS, JSON, b'{"metadata": {"name": "a"}, "spec": {"selector": {"matchLabels": '
     b'{"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, '
     b'"spec": {"containers": [{"name": "c"}]}}}}', 422, "Invalid"),
    ("POST", "/apis/coordination.k8s.io/v1/namespaces/default/leases", JSON,
     b'{"metadata": {"name": "a"}, "spec": {"leaseDurationSeconds": 1.5}}', 400, "BadRequest"),
    ("PATCH", CM + "/base", MERGE, b'{"data": {"a": [1]}}', 422, "Invalid"),
    ("POST", "/apis/coordination.k8s.io/v1/namespaces/default/leases", JSON,
     b'{"metadata": {"name": "a"}, "spec": {"renewTime": "yesterday"}}', 400, "BadRequest"),
    ("POST", "/api/v1/namespaces/default/secrets", JSON, b'{"metadata": {"name": "a"}, "data": {"k": "!"}}',
     400, "BadRequest"),
    ("POST", "/api/v1/namespaces/default/secrets", JSON,
     b'{"metadata": {"name": "a"}, "type": "kubernetes.io/tls", "data": {}}', 422, "Invalid"),
    ("POST", "/apis/batch/v1/namespaces/default/jobs", JSON, b'{"metadata": {"name": "a"}, "spec": {}}', 422,
     "Invalid"),
    ("POST", "/apis/batch/v1/namespaces/default/jobs", JSON,
     b'{"metadata": {"name": "a"}, "spec": {"backoffLimit": "six"}}', 400, "BadRequest"),
    ("GET", "/api/v1/namespaces/default/pods/nopod/log", JSON, b"", 404, "NotFound"),
    ("POST", DEPLOYMENTS, JSON, b'{"metadata": {"name": "a"}, "spec": {}}', 422, "Invalid"),
    ("POST", HELMCHARTS, JSON, b'{"metadata": {"name": "a"}, "spec": "x"}', 422, "Invalid"),
    ("POST", HELMCHARTS, JSON, b'{"metadata": {"name": "a"}, "spec": {"chart": 5}}', 422, "Invalid"),
    ("PATCH", CM + "/base", SMP, b'{"data": {"a": 1}}', 422, "Invalid"),
    ("PATCH", CM + "/base", JSON_PATCH, b'[{"op": "test", "path": "/metadata/name", "value": "other"}]', 422,
     "Invalid"),
]


@pytest.fixture(scope="module")
def call(kube_lab: RunningLab):  # type: ignore[no-untyped-def]
    base = f"https://127.0.0.1:{kube_lab.server.ports.k8s}"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {kube_lab.server.k8s_token}"
    ca = kube_lab.ca_file  # per request: a session's verify loses to REQUESTS_CA_BUNDLE
    session.post(base + CM, json={"metadata": {"name": "base"}}, timeout=10, verify=ca)

    def send(method: str, path: str, content_type: str, body: bytes) -> requests.Response:
        return session.request(method, base + path, data=body, headers={"Content-Type": content_type},
                               timeout=10, verify=ca)
    return send


@pytest.mark.parametrize(("method", "path", "content_type", "body", "code", "reason"), CASES,
                         ids=[f"{c[0]} {c[1].rsplit('/', 1)[-1]} {c[3][:30]!r}" for c in CASES])
def test_bad_input_gets_a_status_with_the_real_reason(call, method: str, path: str,  # type: ignore[no-untyped-def]
                                                      content_type: str, body: bytes, code: int,
                                                      reason: str) -> None:
    response = call(method, path, content_type, body)
    status = response.json()
    assert (response.status_code, status["kind"], status["reason"]) == (code, "Status", reason)
    assert status["code"] == code
    assert "Traceback" not in status["message"]


def test_a_body_that_does_not_decode_is_refused_in_the_decoders_words(call) -> None:  # type: ignore[no-untyped-def]
    status = call("POST", PODS, JSON, b'{"metadata": {"name": "a"}, "spec": {"containers": "x"}}').json()
    assert status["message"] == ('Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal '
                                 "string into Go struct field PodSpec.spec.containers of type []v1.Container")
    status = call("PATCH", CM + "/base", MERGE, b'{"data": {"a": 1}}').json()
    assert status["message"].startswith(' "" is invalid: patch: Invalid value: "{')
    assert status["details"]["causes"][0]["field"] == "patch"


def test_a_workload_without_selector_or_containers_is_422_as_the_server_words_it(call) -> None:  # type: ignore[no-untyped-def]
    status = call("POST", DEPLOYMENTS, JSON, b'{"metadata": {"name": "empty"}, "spec": {}}').json()
    assert status["message"] == (
        'Deployment.apps "empty" is invalid: [spec.selector: Required value, spec.template.metadata.labels: '
        "Invalid value: map[string]string(nil): `selector` does not match template `labels`, "
        "spec.template.spec.containers: Required value]")


def test_each_container_needs_a_name_and_an_image(call) -> None:  # type: ignore[no-untyped-def]
    body = b'{"metadata": {"name": "nameless"}, "spec": {"containers": [null]}}'
    status = call("POST", PODS, JSON, body).json()
    assert status["message"] == ('Pod "nameless" is invalid: [spec.containers[0].name: Required value, '
                                 "spec.containers[0].image: Required value]")


def test_a_null_item_in_a_list_of_objects_decodes_as_an_empty_object(call, kube_lab: RunningLab) -> None:  # type: ignore[no-untyped-def]
    before = list(kube_lab.lab.k8s.errors)
    node = call("POST", "/api/v1/nodes", JSON, b'{"metadata": {"name": "nulls"}, "spec": {"taints": [null]}}')
    assert (node.status_code, node.json()["spec"]["taints"]) == (201, [{}])
    service = call("POST", "/api/v1/namespaces/default/services", JSON,
                   b'{"metadata": {"name": "nulls"}, "spec": {"ports": [null]}}')
    assert service.status_code == 201
    written = kube_lab.lab.clock.now()
    wait_for(lambda: kube_lab.lab.k8s.last_round > written, what="a controller round after both writes")
    assert kube_lab.lab.k8s.errors == before


def test_a_custom_resource_must_fit_its_crds_schema(call) -> None:  # type: ignore[no-untyped-def]
    status = call("POST", HELMCHARTS, JSON, b'{"metadata": {"name": "typo"}, "spec": {"chart": 5}}').json()
    assert status["message"] == ('HelmChart.helm.cattle.io "typo" is invalid: spec.chart: Invalid value: '
                                 '"integer": spec.chart in body must be of type string: "integer"')


def test_list_options_are_validated_in_the_servers_words(call) -> None:  # type: ignore[no-untyped-def]
    status = call("GET", CM + "?resourceVersion=1&resourceVersionMatch=Newest", JSON, b"").json()
    assert status["message"] == ('ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported '
                                 'value: "Newest": supported values: "Exact", "NotOlderThan", ""')
    assert status["details"]["causes"][0]["reason"] == "FieldValueNotSupported"
