"""Fixtures of the deploy tests (`pytest_plugins` there): the example overlay applied to the module's lab,
and drewburr's config with the deployed identities."""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.conftest import RunningLab
from tests.lab.deployed import (
    OVERLAY,
    Deployed,
    drewburr_config,
    operator_privileges,
    pve_token,
    service_account_kubeconfig,
)
from tests.lab.kube import Kubectl
from tests.lab.pve_client import wait_for


def groups(api: client.ApiClient) -> set[str]:
    return {g.name for g in client.ApisApi(api).get_api_versions().groups}


@pytest.fixture(scope="module")
def applied(kube_lab: RunningLab, api: client.ApiClient, kubectl: Kubectl) -> str:
    """kubectl's output for `apply -k` of the example overlay, once kube-prometheus-stack (installed by a
    HelmChart in the default homelab) has brought the ServiceMonitor and PrometheusRule CRDs."""
    wait_for(lambda: "monitoring.coreos.com" in groups(api), timeout=60, what="the prometheus-operator CRDs")
    return kubectl("apply", "-k", str(OVERLAY))


@pytest.fixture(scope="module")
def deployed(kube_lab: RunningLab, applied: str, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    folder = tmp_path_factory.mktemp("deployed")
    kubeconfig = service_account_kubeconfig(kube_lab, folder / "kubeconfig")
    config = drewburr_config(kube_lab, folder / "drewburr.yaml", kubeconfig,
                             pve_token(kube_lab, operator_privileges()))
    return Deployed(kube_lab, config, kubeconfig)
