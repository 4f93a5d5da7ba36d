"""Helpers for driving the lab's Kubernetes API with the official client and kubectl.

The fixtures `kube_lab` and `api` (tests/lab/conftest.py) serve one lab per test module, so
tests make their own namespaces and names.
"""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.conftest import RunningLab

_counter = itertools.count()


def kubeconfig(lab: RunningLab) -> Path:
    return lab.workdir / "kubeconfig"


class Kubectl:
    """The real kubectl against a lab: `kubectl(*args)` is its stdout, `kubectl.fails(*args)` its stderr."""

    def __init__(self, binary: str, config: Path, cache: Path) -> None:
        self.base = [binary, "--kubeconfig", str(config), "--cache-dir", str(cache)]

    def run(self, *args: str, timeout: float = 60,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=timeout,
                              input=stdin)

    def __call__(self, *args: str, timeout: float = 60, stdin: str | None = None) -> str:
        proc = self.run(*args, timeout=timeout, stdin=stdin)
        assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
        return proc.stdout

    def fails(self, *args: str, timeout: float = 60) -> str:
        proc = self.run(*args, timeout=timeout)
        assert proc.returncode != 0, f"kubectl {' '.join(args)} succeeded: {proc.stdout}"
        return proc.stderr


def fresh_namespace(api: client.ApiClient, prefix: str = "t") -> str:
    name = f"{prefix}-{next(_counter)}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def pod(name: str, labels: dict[str, str] | None = None, node: str | None = None) -> dict[str, object]:
    spec: dict[str, object] = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def _ready(conditions: list[Any] | None) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in conditions or [])


def unsteady(api: client.ApiClient) -> list[str]:
    """What is not yet steady, by name (empty when steady): nodes not Ready, pods not Running and
    ready (or Succeeded), Deployments, StatefulSets and DaemonSets not fully available."""
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    waiting = [f"node/{n.metadata.name}" for n in core.list_node().items if not _ready(n.status.conditions)]
    waiting += [f"pod/{p.metadata.name}" for p in core.list_pod_for_all_namespaces().items
                if p.status.phase != "Succeeded"  # a Job's finished pod (helm-install-*) is done, not waiting
                and (p.status.phase != "Running" or not _ready(p.status.conditions)
                     or p.metadata.deletion_timestamp)]
    waiting += [f"deploy/{d.metadata.name}" for d in apps.list_deployment_for_all_namespaces().items
                if (d.status.available_replicas or 0) != d.spec.replicas
                or (d.status.updated_replicas or 0) != d.spec.replicas]
    waiting += [f"sts/{s.metadata.name}" for s in apps.list_stateful_set_for_all_namespaces().items
                if (s.status.available_replicas or 0) != s.spec.replicas]
    waiting += [f"ds/{d.metadata.name}" for d in apps.list_daemon_set_for_all_namespaces().items
                if not d.status.desired_number_scheduled
                or (d.status.number_available or 0) != d.status.desired_number_scheduled]
    return waiting


def service_account_client(api: client.ApiClient, namespace: str, name: str) -> client.ApiClient:
    """A client that authenticates as a ServiceAccount with a TokenRequest's token (as `kubectl
    create token` gets one; a month of lab time, since lab time runs fast)."""
    request = client.CoreV1Api(api).create_namespaced_service_account_token(
        name, namespace, {"spec": {"expirationSeconds": 30 * 86400}})
    return token_client(api, request.status.token)


def token_client(api: client.ApiClient, token: str) -> client.ApiClient:
    """A client for the same API server as `api`, with a bearer token of its own."""
    conf = client.Configuration()
    conf.host, conf.ssl_ca_cert = api.configuration.host, api.configuration.ssl_ca_cert
    conf.api_key = {"authorization": f"Bearer {token}"}
    return client.ApiClient(conf)
