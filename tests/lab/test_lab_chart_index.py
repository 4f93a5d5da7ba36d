"""The lab's mirror of the addons' Helm repositories: index.yaml as `helm repo index` writes it."""

from __future__ import annotations

import json

import requests
import yaml

from tests.conftest import RunningLab


def _control(kube_lab: RunningLab) -> str:
    return str(json.loads((kube_lab.workdir / "lab.json").read_text())["control_url"])


def test_each_mirror_lists_its_charts_versions_newest_first(kube_lab: RunningLab) -> None:
    answer = requests.get(f"{_control(kube_lab)}/charts/metallb/index.yaml", timeout=10)
    assert answer.status_code == 200
    index = yaml.safe_load(answer.text)
    assert index["apiVersion"] == "v1"
    versions = [e["version"] for e in index["entries"]["metallb"]]
    assert versions == ["0.14.9", "0.14.8", "0.14.5"]
    assert all(e["urls"][0].endswith(f"metallb-{e['version']}.tgz") for e in index["entries"]["metallb"])


def test_a_repository_the_lab_does_not_mirror_is_404(kube_lab: RunningLab) -> None:
    answer = requests.get(f"{_control(kube_lab)}/charts/bitnami/index.yaml", timeout=10)
    assert answer.status_code == 404


def test_drewburrs_config_points_the_addons_at_the_mirror(kube_lab: RunningLab) -> None:
    config = yaml.safe_load((kube_lab.workdir / "drewburr.yaml").read_text())
    assert config["addons"]["cert_manager"]["repo"] == f"{_control(kube_lab)}/charts/jetstack"
