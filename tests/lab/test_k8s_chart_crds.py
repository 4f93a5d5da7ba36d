"""The addon CRDs come with their chart's install, not from the start; K3s' own helm.cattle.io is there."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from kubernetes import client, config

from lab.scenario import load_scenario
from tests.conftest import RunningLab
from tests.lab.kube import kubeconfig

ADDON_GROUPS = {"metallb.io", "cert-manager.io", "monitoring.coreos.com", "traefik.io"}


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[client.ApiClient]:
    """A cluster where nothing is installed yet (no default workloads)."""
    scenario = load_scenario(None).model_copy(update={"workloads": "none"})
    with RunningLab(tmp_path_factory.mktemp("bare") / "lab", scenario, time_scale=50) as lab:
        yield config.new_client_from_config(config_file=str(kubeconfig(lab)))


def groups(api: client.ApiClient) -> set[str]:
    return {g.name for g in client.ApisApi(api).get_api_versions().groups}


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


REPOS = {"metallb": "https://metallb.github.io/metallb", "cert-manager": "https://charts.jetstack.io",
         "kube-prometheus-stack": "https://prometheus-community.github.io/helm-charts"}


def chart(name: str, target: str, values: str = "") -> dict[str, object]:
    return {"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart", "metadata": {"name": name},
            "spec": {"chart": name, "repo": REPOS[name], "targetNamespace": target, "createNamespace": True,
                     "valuesContent": values}}


def install(api: client.ApiClient, name: str, target: str, values: str = "") -> None:
    client.CustomObjectsApi(api).create_namespaced_custom_object("helm.cattle.io", "v1", "kube-system",
                                                                 "helmcharts", chart(name, target, values))


def test_only_k3s_own_crds_exist_before_any_chart(bare: client.ApiClient) -> None:
    names = {c.metadata.name for c in client.ApiextensionsV1Api(bare).list_custom_resource_definition().items}
    assert names == {"helmcharts.helm.cattle.io", "helmchartconfigs.helm.cattle.io"}
    assert "helm.cattle.io" in groups(bare) and not ADDON_GROUPS & groups(bare)


def test_a_charts_install_brings_its_crds_and_serves_their_kinds(bare: client.ApiClient) -> None:
    install(bare, "metallb", "metallb-system")
    wait_for(lambda: "metallb.io" in groups(bare), "the MetalLB CRDs")
    co = client.CustomObjectsApi(bare)
    kinds = {r.kind for r in co.get_api_resources("metallb.io", "v1beta1").resources}
    assert {"IPAddressPool", "L2Advertisement"} <= kinds
    pool = co.create_namespaced_custom_object("metallb.io", "v1beta1", "metallb-system", "ipaddresspools", {
        "apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "lan"},
        "spec": {"addresses": ["192.168.1.240-192.168.1.250"]}})
    assert pool["spec"] == {"addresses": ["192.168.1.240-192.168.1.250"], "autoAssign": True,
                            "avoidBuggyIPs": False}


def test_cert_manager_brings_its_crds_only_when_its_values_ask(bare: client.ApiClient) -> None:
    install(bare, "kube-prometheus-stack", "monitoring")
    wait_for(lambda: "monitoring.coreos.com" in groups(bare), "the prometheus-operator CRDs")
    install(bare, "cert-manager", "cert-manager")  # crds.enabled defaults to false in the chart
    wait_for(lambda: any(d.metadata.name == "cert-manager" for d in client.AppsV1Api(bare)
                         .list_namespaced_deployment("cert-manager").items), "the cert-manager release")
    assert "cert-manager.io" not in groups(bare)
    client.CustomObjectsApi(bare).patch_namespaced_custom_object(
        "helm.cattle.io", "v1", "kube-system", "helmcharts", "cert-manager",
        {"spec": {"valuesContent": "crds:\n  enabled: true\n"}})
    wait_for(lambda: "cert-manager.io" in groups(bare), "the cert-manager CRDs")
    listed = client.CustomObjectsApi(bare).get_api_resources("cert-manager.io", "v1").resources
    kinds = {r.kind for r in listed}
    assert {"ClusterIssuer", "Issuer", "Certificate"} <= kinds
