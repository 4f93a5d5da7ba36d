"""`bootstrap` as deploy/ installs drewburr: the base's ServiceAccount and RBAC and a DrewburrOperator PVE
token, on the lab's bare scenario (bootstrap refuses where a cluster exists, as on the deploy tests' lab).

The identity bootstrap uses for Kubernetes is `kubernetes.kubeconfig`'s: it lists the nodes (none yet),
then reads and labels each new node as provision does. In the lab the new servers join the lab's one API,
where the ServiceAccount lives; the kubeconfig bootstrap fetches is the new cluster's admin, stored for
the operator (and for `addons`), never used with the ServiceAccount's rights."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from lab.scenario import load_scenario
from tests.conftest import RunningLab
from tests.lab.deployed import BASE, drewburr, drewburr_config, operator_privileges, pve_token
from tests.lab.deployed import service_account_kubeconfig as sa_kubeconfig
from tests.lab.kube import Kubectl
from tests.scenarios.test_bootstrap import BARE


@pytest.fixture(scope="module")
def kube_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """This module's lab (tests/lab/conftest.py's fixtures use it): the bare scenario."""
    with RunningLab(tmp_path_factory.mktemp("bare") / "lab", load_scenario(BARE), time_scale=50) as lab:
        yield lab


def test_bootstrap_succeeds_as_the_service_account_and_the_operator_token(
        kube_lab: RunningLab, api: client.ApiClient, kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl("apply", "-f", str(BASE / "namespace.yaml"))
    kubectl("apply", "-n", "drewburr", "-f", str(BASE / "rbac.yaml"))
    config = drewburr_config(kube_lab, tmp_path / "drewburr.yaml", sa_kubeconfig(kube_lab, tmp_path / "sa"),
                             pve_token(kube_lab, operator_privileges()))
    code, out = drewburr(config, "bootstrap --servers 1 --agents 0 --yes")
    assert code == 0, out
    nodes = client.CoreV1Api(api).list_node().items
    assert [n.metadata.name for n in nodes] == ["kube01"]
    assert "topology.kubernetes.io/zone" in nodes[0].metadata.labels  # labelled as the ServiceAccount
    stored = yaml.safe_load(Path(yaml.safe_load(config.read_text())["bootstrap"]["kubeconfig"]).read_text())
    assert stored["users"][0]["user"] != {"token": kube_lab.service_account_token("drewburr", "drewburr")}


def test_the_addons_install_on_the_new_cluster_as_the_service_account(
        kube_lab: RunningLab, tmp_path: Path) -> None:
    """On the cluster bootstrap made (no HelmChart of the homelab's yet): every object is created, so the
    `create` of each apply rule is exercised, not only `patch`."""
    config = drewburr_config(kube_lab, tmp_path / "drewburr.yaml", sa_kubeconfig(kube_lab, tmp_path / "sa"),
                             pve_token(kube_lab, operator_privileges()))
    code, out = drewburr(config, "addons install all --yes")
    assert code == 0, out
    code, out = drewburr(config, "addons status --json")
    assert code == 0 and all(row["ready"] for row in json.loads(out)), out
