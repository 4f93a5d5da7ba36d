"""kubectl, unmodified, on /openapi/v2 and /openapi/v3: `apply -k` with default validation,
`explain` of built-in and custom kinds, and the protobuf swagger document client-go decodes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client

from tests.lab.kube import Kubectl

BASE = {
    "kustomization.yaml": "namespace: shop\n"
                          "resources: [ns.yaml, crd.yaml, gadget.yaml, rbac.yaml, app.yaml]\n"
                          "configMapGenerator:\n- name: settings\n  literals: [mode=demo]\n",
    "ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    "crd.yaml": """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.kustomize.example}
spec:
  group: kustomize.example
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns: [{name: Size, type: integer, jsonPath: .spec.size}]
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, description: How big the gadget is.}
""",
    "gadget.yaml": "apiVersion: kustomize.example/v1\nkind: Gadget\nmetadata: {name: g1}\nspec: {size: 3}\n",
    "rbac.yaml": """apiVersion: v1
kind: ServiceAccount
metadata: {name: web}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: gadget-reader}
rules:
- apiGroups: [kustomize.example]
  resources: [gadgets]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: web-reads-gadgets}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gadget-reader}
subjects: [{kind: ServiceAccount, name: web}]
""",
    "app.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers:
      - name: web
        image: nginx:1.27
        envFrom: [{configMapRef: {name: settings}}]
""",
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("base")
    for name, text in BASE.items():
        (path / name).write_text(text)
    return path


def test_apply_k_with_default_validation_then_again_once_the_crd_is_established(
        kubectl: Kubectl, base: Path, api: client.ApiClient) -> None:
    first = kubectl.run("apply", "-k", str(base))
    # as on a real cluster: kubectl maps every object before applying, so the CRD's own kind is not
    # known yet in the run that creates the CRD
    assert first.returncode == 1
    assert 'no matches for kind "Gadget" in version "kustomize.example/v1"' in first.stderr
    assert "ensure CRDs are installed first" in first.stderr
    assert "customresourcedefinition.apiextensions.k8s.io/gadgets.kustomize.example created" in first.stdout
    assert "deployment.apps/web created" in first.stdout
    assert "serviceaccount/web created" in first.stdout
    assert "clusterrolebinding.rbac.authorization.k8s.io/web-reads-gadgets created" in first.stdout
    second = kubectl("apply", "-k", str(base))
    assert "gadget.kustomize.example/g1 created" in second
    assert "deployment.apps/web unchanged" in second
    (base / "app.yaml").write_text(BASE["app.yaml"].replace("replicas: 1", "replicas: 2"))
    third = kubectl.run("apply", "-k", str(base))
    assert (third.returncode, third.stderr) == (0, "")
    assert "deployment.apps/web configured" in third.stdout
    deploy = client.AppsV1Api(api).read_namespaced_deployment("web", "shop")
    assert deploy.spec.replicas == 2
    assert deploy.spec.template.spec.containers[0].env_from[0].config_map_ref.name.startswith("settings-")
    # kustomize set the binding's subject namespace; RBAC now lets the ServiceAccount read gadgets only
    who = "--as=system:serviceaccount:shop:web"
    assert kubectl("auth", "can-i", "list", "gadgets.kustomize.example", "-n", "shop", who).strip() == "yes"
    assert kubectl.run("auth", "can-i", "delete", "gadgets.kustomize.example", "-n", "shop",
                       who).stdout.strip() == "no"
    header, row = kubectl("get", "gadgets", "-n", "shop").splitlines()
    assert header.split() == ["NAME", "SIZE"] and row.split() == ["g1", "3"]


def test_explain_reads_the_v3_schemas_of_built_in_and_custom_kinds(kubectl: Kubectl) -> None:
    replicas = kubectl("explain", "deployment.spec.replicas")
    assert "FIELD: replicas <integer>" in replicas
    assert "Number of desired pods." in replicas
    assert "FIELD: addresses <[]string>" in kubectl("explain", "ipaddresspools.spec.addresses")


def test_explain_from_the_v2_protobuf_document(kubectl: Kubectl) -> None:
    out = kubectl("explain", "pods.spec.nodeName", "--output=plaintext-openapiv2")
    assert "FIELD:    nodeName <string>" in out


def test_openapi_v2_as_json_follows_the_served_kinds(api: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api)
    body = {"metadata": {"name": "dials.openapi.example"}, "spec": {
        "group": "openapi.example", "scope": "Cluster", "names": {"plural": "dials", "kind": "Dial"},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
            "type": "object", "properties": {"spec": {"type": "object", "properties": {
                "angle": {"type": "integer", "maximum": 360}}}}}}}]}}

    def definitions() -> dict[str, dict[str, object]]:
        request = api.param_serialize("GET", "/openapi/v2", header_params={"Accept": "application/json"},
                                      auth_settings=["BearerToken"])
        response = api.call_api(*request)
        response.read()
        return json.loads(response.data)["definitions"]  # type: ignore[no-any-return]

    assert "io.k8s.api.apps.v1.Deployment" in definitions()
    assert "example.openapi.v1.Dial" not in definitions()
    ext.create_custom_resource_definition(body)
    dial = definitions()["example.openapi.v1.Dial"]
    assert dial["x-kubernetes-group-version-kind"] == [
        {"group": "openapi.example", "version": "v1", "kind": "Dial"}]
    assert dial["properties"]["spec"]["properties"]["angle"] == {"type": "integer", "maximum": 360}
    ext.delete_custom_resource_definition("dials.openapi.example")
    assert "example.openapi.v1.Dial" not in definitions()
