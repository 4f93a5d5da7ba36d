"""Random bodies and parameters on the API's routes: always a `Status` as the server sends, never our 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.k8s import registry
from lab.k8s import watch as watches
from lab.k8s.http import parse_target
from tests.conftest import RunningLab

NS = "/namespaces/default"
COLLECTIONS = [
    "/api/v1" + NS + "/configmaps", "/api/v1" + NS + "/pods", "/api/v1" + NS + "/services",
    "/api/v1" + NS + "/secrets", "/api/v1" + NS + "/events", "/api/v1" + NS + "/endpoints",
    "/api/v1" + NS + "/persistentvolumeclaims", "/api/v1/persistentvolumes", "/api/v1/nodes",
    "/api/v1/namespaces",
    "/apis/apps/v1" + NS + "/deployments", "/apis/apps/v1" + NS + "/statefulsets",
    "/apis/apps/v1" + NS + "/daemonsets", "/apis/apps/v1" + NS + "/replicasets",
    "/apis/policy/v1" + NS + "/poddisruptionbudgets", "/apis/coordination.k8s.io/v1" + NS + "/leases",
    "/apis/storage.k8s.io/v1/volumeattachments", "/apis/helm.cattle.io/v1" + NS + "/helmcharts",
    "/apis/metallb.io/v1beta1" + NS + "/ipaddresspools",
    "/api/v1" + NS + "/serviceaccounts", "/apis/rbac.authorization.k8s.io/v1" + NS + "/roles",
    "/apis/rbac.authorization.k8s.io/v1" + NS + "/rolebindings",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
    "/apis/authorization.k8s.io/v1/subjectaccessreviews",
    "/apis/authorization.k8s.io/v1" + NS + "/localsubjectaccessreviews",
    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    "/apis/batch/v1" + NS + "/jobs", "/apis/networking.k8s.io/v1" + NS + "/ingresses",
    "/apis/networking.k8s.io/v1/ingressclasses", "/apis/storage.k8s.io/v1/storageclasses",
    "/apis/discovery.k8s.io/v1" + NS + "/endpointslices", "/apis/events.k8s.io/v1" + NS + "/events",
    "/apis/cert-manager.io/v1/clusterissuers", "/apis/cert-manager.io/v1" + NS + "/certificates",
]
# field names of the kinds above, so that random objects reach past `metadata`
KEYS = st.sampled_from(["metadata", "name", "labels", "annotations", "namespace", "spec", "status", "data",
                        "containers", "image", "resources", "requests", "cpu", "selector", "matchLabels",
                        "matchExpressions", "key", "operator", "values", "template", "replicas", "nodeName",
                        "taints", "effect", "unschedulable", "minAvailable", "maxUnavailable", "ports",
                        "port", "type", "chart", "valuesContent", "set", "finalizers", "ownerReferences",
                        "resourceVersion", "deletionTimestamp", "tolerations", "volumes", "conditions",
                        "verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs", "kind",
                        "apiGroup", "clusterRoleSelectors", "resourceAttributes", "nonResourceAttributes",
                        "verb", "resource", "group", "user", "groups", "expirationSeconds", "audiences",
                        "boundObjectRef",
                        "stringData", "immutable", "backoffLimit", "completions", "parallelism",
                        "activeDeadlineSeconds", "ttlSecondsAfterFinished", "restartPolicy", "command",
                        "renewTime", "acquireTime", "rules", "ingressClassName", "provisioner", "endpoints",
                        "addresses", "regarding", "note", "eventTime", "issuerRef", "secretName", "acme",
                        "dnsNames", "binaryData", "tls.crt"])
SCALARS = st.none() | st.booleans() | st.integers(-3, 2**40) | st.floats(allow_nan=False) | st.sampled_from(
    ["", "x", "a-b", "kube01", "Bad_Name", "NoExecute", "In", "100m", "lots", "1Gi", "25%", "default",
     "YWJj", "Never", "OnFailure", "kubernetes.io/tls", "ClusterIssuer", "2026-01-01T00:00:00.000001Z"])
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(KEYS | st.text(max_size=4), inner, max_size=4), max_leaves=20)
OBJECTS = st.fixed_dictionaries({"metadata": st.fixed_dictionaries({"name": st.just("fuzz")}, optional={
    "labels": VALUES, "namespace": VALUES, "resourceVersion": VALUES})}, optional={
        "spec": VALUES, "status": VALUES, "data": VALUES, "kind": SCALARS, "apiVersion": SCALARS,
        "rules": VALUES, "roleRef": VALUES, "subjects": VALUES, "aggregationRule": VALUES,
        "stringData": VALUES, "type": SCALARS, "immutable": SCALARS, "regarding": VALUES,
        "endpoints": VALUES})
PATCH_TYPES = st.sampled_from(["application/merge-patch+json", "application/strategic-merge-patch+json",
                               "application/json-patch+json", "application/json", "text/plain",
                               "application/apply-patch+yaml"])
APPLY_OPTIONS = st.fixed_dictionaries({"fieldManager": st.sampled_from(["fuzz", "other", ""])}, optional={
    "force": st.sampled_from(["true", "false", "x"]), "dryRun": st.just("All"),
    "fieldValidation": st.sampled_from(["Strict", "Warn", "x"])})
OPS = st.sampled_from(["add", "remove", "replace", "test", "move"])
POINTERS = st.sampled_from(["/spec", "/metadata/labels/a", "/x/0", "/spec/taints/-", "", "no-slash"])
JSON_PATCH = st.lists(st.fixed_dictionaries({"op": OPS, "path": POINTERS},
                                            optional={"value": VALUES, "from": st.just("/spec")}), max_size=3)
PARAMS = st.sampled_from(["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion",
                          "resourceVersionMatch", "watch", "timeoutSeconds", "dryRun", "fieldManager",
                          "gracePeriodSeconds", "propagationPolicy", "fieldValidation", "force"])
QUERY = st.dictionaries(PARAMS, st.text(max_size=8) | st.sampled_from(["0", "1", "-1", "true", "All", "a=b",
                                                                        "a in (b)"]), max_size=3)
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"  # what kubectl get asks for
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def _check(response: requests.Response) -> None:
    assert response.status_code != 500 or "resourceVersion should not be set" in response.text, response.text
    if response.status_code >= 400:
        status = response.json()
        assert (status["kind"], status["code"]) == ("Status", response.status_code)
        assert "Traceback" not in status["message"] and "Internal error" not in status["message"]


class Api:
    def __init__(self, lab: RunningLab) -> None:
        self.base = f"https://127.0.0.1:{lab.server.ports.k8s}"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {lab.server.k8s_token}"
        self.ca = lab.ca_file

    def send(self, method: str, path: str, body: Any = None, content_type: str = "application/json",
             params: dict[str, str] | None = None, accept: str = "application/json") -> requests.Response:
        data = None if body is None else json.dumps(body)
        params = {**(params or {}), "timeoutSeconds": "0"} if (params or {}).get("watch") else params
        return self.session.request(method, self.base + path, data=data, params=params, verify=self.ca,
                                    headers={"Content-Type": content_type, "Accept": accept}, timeout=20)


def test_random_creates_and_writes_get_a_status(kube_lab: RunningLab) -> None:
    api = Api(kube_lab)

    @FUZZ
    @given(st.sampled_from(COLLECTIONS), OBJECTS, PATCH_TYPES, JSON_PATCH, VALUES)
    def run(collection: str, obj: dict[str, Any], patch_type: str, json_patch: list[Any], merge: Any) -> None:
        _check(api.send("POST", collection, obj))
        _check(api.send("PUT", collection + "/fuzz", obj))
        _check(api.send("PATCH", collection + "/fuzz", json_patch if "json-patch" in patch_type else merge,
                        patch_type))
        _check(api.send("GET", collection, accept=TABLE, params={"includeObject": "Object"}))
        api.send("DELETE", collection + "/fuzz", params={"gracePeriodSeconds": "0"})
    run()
    assert kube_lab.call(lambda: list(kube_lab.lab.k8s.errors)) == []


def test_random_query_parameters_get_a_status(kube_lab: RunningLab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watches, "FRESH_WAIT", 0.05)  # a resourceVersion from the future is waited for
    api = Api(kube_lab)

    @FUZZ
    @given(st.sampled_from(COLLECTIONS), QUERY)
    def run(collection: str, query: dict[str, str]) -> None:
        _check(api.send("GET", collection, params=query))
        _check(api.send("DELETE", collection + "/nothing-here", params=query))
    run()


def test_random_subresource_writes_get_a_status(kube_lab: RunningLab) -> None:
    api = Api(kube_lab)
    pods, deployments = COLLECTIONS[1], COLLECTIONS[10]
    containers = [{"name": "c", "image": "i"}]
    api.send("POST", pods, {"metadata": {"name": "target"}, "spec": {"containers": containers}})
    api.send("POST", deployments, {"metadata": {"name": "target"}, "spec": {
        "selector": {"matchLabels": {"app": "t"}},
        "template": {"metadata": {"labels": {"app": "t"}}, "spec": {"containers": containers}}}})

    @FUZZ
    @given(VALUES, OBJECTS, PATCH_TYPES)
    def run(body: Any, obj: dict[str, Any], patch_type: str) -> None:
        _check(api.send("POST", pods + "/target/eviction", body))
        _check(api.send("POST", pods + "/target/binding", body))
        _check(api.send("PUT", pods + "/target/status", {**obj, "metadata": {"name": "target"}}))
        _check(api.send("PATCH", deployments + "/target/scale", body, patch_type))
        _check(api.send("PUT", deployments + "/target/scale", body))
        _check(api.send("POST", "/api/v1" + NS + "/serviceaccounts/default/token", {**obj, "spec": body}))
        _check(api.send("GET", pods + "/target/log", params=body if isinstance(body, dict) else None))
    run()
    assert kube_lab.call(lambda: list(kube_lab.lab.k8s.errors)) == []


def _type_meta(lab: RunningLab, collection: str) -> dict[str, str]:
    parts = collection.strip("/").split("/")
    group, version, tail = ("", parts[1], parts[2:]) if parts[0] == "api" else (parts[1], parts[2], parts[3:])
    served = lab.call(lambda: registry.served(lab.lab.k8s.store).by_path)
    res = parse_target(group, version, "/".join(tail), served).res
    return {"apiVersion": res.api_version, "kind": res.kind}


def test_random_apply_bodies_get_a_status(kube_lab: RunningLab) -> None:
    api = Api(kube_lab)

    @FUZZ
    @given(st.sampled_from(COLLECTIONS), OBJECTS, VALUES, APPLY_OPTIONS, st.sampled_from(("obj", "any", "")))
    def run(collection: str, obj: dict[str, Any], other: Any, options: dict[str, str], shape: str) -> None:
        meta = _type_meta(kube_lab, collection)  # past the version check: the typed conversion, the merge
        body = {"obj": {**obj, **meta}, "any": {**other, **meta} if isinstance(other, dict) else other,
                "": other}[shape]
        for _ in range(2):  # the second apply finds the first one's object and managedFields
            _check(api.send("PATCH", collection + "/fuzz", body, "application/apply-patch+yaml", options))
        api.send("DELETE", collection + "/fuzz", params={"gracePeriodSeconds": "0"})
    run()
    assert kube_lab.call(lambda: list(kube_lab.lab.k8s.errors)) == []


CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
FUZZ_CRD = {"metadata": {"name": "fuzzes.fuzz.example"}, "spec": {
    "group": "fuzz.example", "scope": "Namespaced", "names": {"plural": "fuzzes", "kind": "Fuzz"},
    "versions": [{"name": "v1", "served": True, "storage": True,
                  "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                           "statusReplicasPath": ".status.replicas"}},
                  "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                      "spec": {"type": "object", "required": ["replicas"], "properties": {
                          "replicas": {"type": "integer", "minimum": 0, "default": 1},
                          "port": {"x-kubernetes-int-or-string": True},
                          "type": {"type": "string", "enum": ["a", "b"], "maxLength": 1},
                          "selector": {"type": "object", "additionalProperties": {"type": "string"}},
                          "ports": {"type": "array", "maxItems": 2, "items": {
                              "type": "object",
                              "properties": {"port": {"type": "number", "maximum": 65535}}}},
                          "data": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
                      "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]}}
SCHEMAS = st.recursive(
    st.fixed_dictionaries({}, optional={"type": st.sampled_from(["object", "string", "array", "x"]),
                                        "x-kubernetes-preserve-unknown-fields": st.booleans(),
                                        "x-kubernetes-int-or-string": st.booleans(), "default": VALUES,
                                        "enum": st.lists(SCALARS, max_size=2), "minimum": st.integers(-2, 2),
                                        "nullable": st.booleans(), "required": st.lists(KEYS, max_size=2)}),
    lambda inner: st.fixed_dictionaries({"type": st.just("object")}, optional={
        "properties": st.dictionaries(KEYS, inner, max_size=3), "items": inner,
        "additionalProperties": inner}),
    max_leaves=8)


def test_random_crds_and_custom_objects_get_a_status(kube_lab: RunningLab) -> None:
    api = Api(kube_lab)
    assert api.send("POST", CRDS, FUZZ_CRD).status_code == 201
    fuzzes = "/apis/fuzz.example/v1" + NS + "/fuzzes"

    @FUZZ
    @given(OBJECTS, PATCH_TYPES, JSON_PATCH, VALUES, SCHEMAS, st.sampled_from(["fuzzes", "Fuzz", "x"]))
    def run(obj: dict[str, Any], patch_type: str, json_patch: list[Any], merge: Any, schema: Any,
            plural: str) -> None:
        _check(api.send("POST", fuzzes, obj))
        _check(api.send("PUT", fuzzes + "/fuzz", obj))
        _check(api.send("PATCH", fuzzes + "/fuzz", json_patch if "json-patch" in patch_type else merge,
                        patch_type))
        _check(api.send("PUT", fuzzes + "/fuzz/status", obj))
        _check(api.send("PATCH", fuzzes + "/fuzz/scale", merge, patch_type))
        _check(api.send("GET", fuzzes, accept=TABLE))
        api.send("DELETE", fuzzes + "/fuzz")
        crd = json.loads(json.dumps(FUZZ_CRD).replace("fuzzes", plural))
        crd["metadata"]["name"] = "randoms.fuzz.example"
        crd["spec"]["names"] = {"plural": "randoms", "kind": "Random"}
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = schema
        created = api.send("POST", CRDS, crd)
        _check(created)
        if created.status_code == 201:
            _check(api.send("POST", "/apis/fuzz.example/v1" + NS + "/randoms", obj))
            _check(api.send("GET", "/openapi/v3/apis/fuzz.example/v1"))
            api.send("DELETE", CRDS + "/randoms.fuzz.example")
        _check(api.send("PUT", CRDS + "/fuzzes.fuzz.example", {**obj, "spec": merge}))
    run()
    assert kube_lab.call(lambda: list(kube_lab.lab.k8s.errors)) == []


def test_random_openapi_and_discovery_requests_get_an_answer(kube_lab: RunningLab) -> None:
    api = Api(kube_lab)
    media = st.sampled_from(["application/json", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
                             "*/*", "text/html", "application/*;q=0.5", "", ";;", "application/yaml",
                             "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                             "application/json;g=apidiscovery.k8s.io;v=v9;as=x", "application/json;g"])

    @FUZZ
    @given(st.lists(media, max_size=3), st.text(max_size=12), st.text(max_size=6))
    def run(accept: list[str], group: str, version: str) -> None:
        v2 = api.send("GET", "/openapi/v2", accept=",".join(accept))
        assert v2.status_code in (200, 406)
        assert api.send("GET", f"/openapi/v3/apis/{group or 'x'}/{version or 'v1'}").status_code in (200, 404)
        for path in ("/api", "/apis"):
            found = api.send("GET", path, accept=",".join(accept))
            assert found.status_code in (200, 406), found.text
    run()
