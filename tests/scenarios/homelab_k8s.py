"""Kubernetes moves for the remediation scenarios, through the official client: put a pod on a
chosen node (the Postgres StatefulSet's, a whoami replica), see where it runs, read a node's taints."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kubernetes import client, config

from tests.lab.pve_client import wait_for

OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"
WHOAMI = "app.kubernetes.io/name=whoami"


def core(lab: Any) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(lab.workdir / "kubeconfig")))


def ready(pod: Any) -> bool:
    return pod.metadata.deletion_timestamp is None and any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def node_ready(api: client.CoreV1Api, node: str) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in api.read_node(node).status.conditions or [])


def postgres(api: client.CoreV1Api) -> tuple[str | None, bool]:
    """(the node postgres-0 runs on, whether it is Ready)."""
    try:
        pod = api.read_namespaced_pod("postgres-0", "default")
    except client.ApiException:
        return None, False
    return pod.spec.node_name, ready(pod)


@contextmanager
def only(api: client.CoreV1Api, node: str) -> Iterator[None]:
    """Every other node cordoned for a while, as a person moving a pod by hand would."""
    others = [n.metadata.name for n in api.list_node().items if n.metadata.name != node]
    for name in others:
        api.patch_node(name, {"spec": {"unschedulable": True}})
    try:
        yield
    finally:
        for name in others:
            api.patch_node(name, {"spec": {"unschedulable": None}})


def postgres_on(api: client.CoreV1Api, node: str) -> None:
    with only(api, node):
        if postgres(api)[0] != node:
            api.delete_namespaced_pod("postgres-0", "default")
        wait_for(lambda: postgres(api) == (node, True), timeout=60, what=f"postgres-0 Ready on {node}")


def whoami_on(api: client.CoreV1Api, node: str) -> set[str]:
    """One whoami (Deployment) replica Ready on `node`; returns the names of its pods then."""
    def pods() -> list[Any]:
        return api.list_namespaced_pod("default", label_selector=WHOAMI).items
    with only(api, node):
        if not any(p.spec.node_name == node for p in pods()):
            api.delete_namespaced_pod(pods()[0].metadata.name, "default")
        wait_for(lambda: any(p.spec.node_name == node and ready(p) for p in pods()), timeout=60,
                 what=f"a whoami pod Ready on {node}")
    return {p.metadata.name for p in pods()}


def taints(api: client.CoreV1Api, node: str) -> set[str]:
    return {t.key for t in api.read_node(node).spec.taints or []}
