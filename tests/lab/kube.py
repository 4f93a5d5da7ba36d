"""Helpers for driving the lab's Kubernetes API with the official client and kubectl.

The fixtures `kube_lab` and `api` (tests/lab/conftest.py) serve one lab per test module, so
tests make their own namespaces and names.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from kubernetes import client

from tests.conftest import RunningLab

_counter = itertools.count()


def kubeconfig(lab: RunningLab) -> Path:
    return lab.workdir / "kubeconfig"


def fresh_namespace(api: client.ApiClient, prefix: str = "t") -> str:
    name = f"{prefix}-{next(_counter)}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def pod(name: str, labels: dict[str, str] | None = None, node: str | None = None) -> dict[str, object]:
    spec: dict[str, object] = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec}
