"""Fixtures for the lab's Kubernetes API: one lab per test module, and a client built from its kubeconfig."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client, config

from lab.scenario import load_scenario
from tests.conftest import RunningLab
from tests.lab.kube import Kubectl, kubeconfig
from tests.tools import require


@pytest.fixture(scope="module")
def kube_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with RunningLab(tmp_path_factory.mktemp("k8s") / "lab", load_scenario(None), time_scale=50) as lab:
        yield lab


@pytest.fixture(scope="module")
def api(kube_lab: RunningLab) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig(kube_lab)))


@pytest.fixture(scope="module")
def kubectl(kube_lab: RunningLab, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    """kubectl, unmodified, against this module's lab; the test fails if kubectl is missing."""
    return Kubectl(require("kubectl"), kubeconfig(kube_lab), tmp_path_factory.mktemp("kubectl-cache"))
