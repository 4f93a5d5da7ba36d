"""Kubernetes moves for the remediation scenarios, through the official client: put the Postgres
StatefulSet's pod on a chosen node, see where it runs, read a node's taints."""

from __future__ import annotations

from typing import Any

from kubernetes import client, config

from tests.lab.pve_client import wait_for

OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"


def core(lab: Any) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(lab.workdir / "kubeconfig")))


def postgres(api: client.CoreV1Api) -> tuple[str | None, bool]:
    """(the node postgres-0 runs on, whether it is Ready)."""
    try:
        pod = api.read_namespaced_pod("postgres-0", "default")
    except client.ApiException:
        return None, False
    ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
    return pod.spec.node_name, ready and pod.metadata.deletion_timestamp is None


def postgres_on(api: client.CoreV1Api, node: str) -> None:
    """Move postgres-0 to `node` the way a person would: cordon the others, delete it, uncordon."""
    others = [n.metadata.name for n in api.list_node().items if n.metadata.name != node]
    for name in others:
        api.patch_node(name, {"spec": {"unschedulable": True}})
    try:
        if postgres(api)[0] != node:
            api.delete_namespaced_pod("postgres-0", "default")
        wait_for(lambda: postgres(api) == (node, True), timeout=60, what=f"postgres-0 Ready on {node}")
    finally:
        for name in others:
            api.patch_node(name, {"spec": {"unschedulable": None}})


def taints(api: client.CoreV1Api, node: str) -> set[str]:
    return {t.key for t in api.read_node(node).spec.taints or []}
