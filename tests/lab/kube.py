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
    ready, Deployments, StatefulSets and DaemonSets not fully available."""
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    waiting = [f"node/{n.metadata.name}" for n in core.list_node().items if not _ready(n.status.conditions)]
    waiting += [f"pod/{p.metadata.name}" for p in core.list_pod_for_all_namespaces().items
                if p.status.phase != "Running" or not _ready(p.status.conditions)
                or p.metadata.deletion_timestamp]
    waiting += [f"deploy/{d.metadata.name}" for d in apps.list_deployment_for_all_namespaces().items
                if (d.status.available_replicas or 0) != d.spec.replicas
                or (d.status.updated_replicas or 0) != d.spec.replicas]
    waiting += [f"sts/{s.metadata.name}" for s in apps.list_stateful_set_for_all_namespaces().items
                if (s.status.available_replicas or 0) != s.spec.replicas]
    waiting += [f"ds/{d.metadata.name}" for d in apps.list_daemon_set_for_all_namespaces().items
                if not d.status.desired_number_scheduled
                or (d.status.number_available or 0) != d.status.desired_number_scheduled]
    return waiting
