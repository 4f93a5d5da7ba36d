"""Objects the lab serves validate against the Kubernetes 1.31 schemas (kubernetes-validate, strict)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest
from kubernetes import client

LISTS: dict[str, Callable[[client.ApiClient], Callable[..., Any]]] = {
    "Node": lambda api: client.CoreV1Api(api).list_node,
    "Pod": lambda api: client.CoreV1Api(api).list_pod_for_all_namespaces,
    "Namespace": lambda api: client.CoreV1Api(api).list_namespace,
    "Service": lambda api: client.CoreV1Api(api).list_service_for_all_namespaces,
    "PersistentVolume": lambda api: client.CoreV1Api(api).list_persistent_volume,
    "PersistentVolumeClaim":
        lambda api: client.CoreV1Api(api).list_persistent_volume_claim_for_all_namespaces,
    "Deployment": lambda api: client.AppsV1Api(api).list_deployment_for_all_namespaces,
    "ReplicaSet": lambda api: client.AppsV1Api(api).list_replica_set_for_all_namespaces,
    "StatefulSet": lambda api: client.AppsV1Api(api).list_stateful_set_for_all_namespaces,
    "DaemonSet": lambda api: client.AppsV1Api(api).list_daemon_set_for_all_namespaces,
    "PodDisruptionBudget": lambda api: client.PolicyV1Api(api).list_pod_disruption_budget_for_all_namespaces,
    "Lease": lambda api: client.CoordinationV1Api(api).list_lease_for_all_namespaces,
    "CustomResourceDefinition": lambda api: client.ApiextensionsV1Api(api).list_custom_resource_definition,
    "Event": lambda api: client.CoreV1Api(api).list_event_for_all_namespaces,
    "VolumeAttachment": lambda api: client.StorageV1Api(api).list_volume_attachment,
    "Endpoints": lambda api: client.CoreV1Api(api).list_endpoints_for_all_namespaces,
}


def _problems(items: list[dict[str, Any]], kind: str, api_version: str) -> list[str]:
    problems = []
    for item in items:
        obj = {"kind": kind, "apiVersion": api_version, **item}
        try:
            kubernetes_validate.validate(obj, "1.31", strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}: "
                            f"{'.'.join(map(str, exc.path))}: {exc.message}")
    return problems


@pytest.mark.parametrize("kind", sorted(LISTS))
def test_every_object_of_the_default_homelab_validates(api: client.ApiClient, kind: str) -> None:
    raw = json.loads(LISTS[kind](api)(_preload_content=False).data)
    assert raw["kind"] == f"{kind}List"
    assert raw["items"], f"the default homelab has no {kind}"
    assert _problems(raw["items"], kind, raw["apiVersion"]) == []


def test_a_list_envelope_and_an_object_written_through_the_api_validate(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    body = {"metadata": {"name": "schema"}, "data": {"a": "b"}}
    cm = json.loads(v1.create_namespaced_config_map("default", body, _preload_content=False).data)
    kubernetes_validate.validate(cm, "1.31", strict=True)
    listed = json.loads(v1.list_namespaced_config_map("default", _preload_content=False).data)
    kubernetes_validate.validate({**listed, "items": [{"kind": "ConfigMap", "apiVersion": "v1", **i}
                                                      for i in listed["items"]]}, "1.31", strict=True)
