"""What `addons install kube-prometheus-stack` gives Prometheus and Alertmanager, checked by their own
tools: the PrometheusRule's groups pass `promtool check rules`, the Alertmanager config (with its
webhook receiver reading drewburr's token from the mounted Secret) passes `amtool check-config`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from infra.addons import manifests
from infra.addons.spec import KubePrometheusStack
from tests.tools import require


def test_the_prometheus_rule_passes_promtool(tmp_path: Path) -> None:
    rule = manifests.kube_prometheus_stack(KubePrometheusStack(), "t0ken").after[0]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    checked = subprocess.run([require("promtool", "make debs (prometheus)"), "check", "rules", str(path)],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 4 rules found" in checked.stdout


def test_the_alertmanager_config_passes_amtool(tmp_path: Path) -> None:
    chart = manifests.kube_prometheus_stack(KubePrometheusStack(), "t0ken").chart
    config = yaml.safe_load(chart["spec"]["valuesContent"])["alertmanager"]["config"]
    hook = config["receivers"][0]["webhook_configs"][0]
    assert hook["http_config"]["authorization"]["credentials_file"] == (
        "/etc/alertmanager/secrets/drewburr-webhook/token")
    path = tmp_path / "alertmanager.yaml"
    path.write_text(yaml.safe_dump(config))
    checked = subprocess.run([require("amtool", "make debs (prometheus-alertmanager)"), "check-config",
                              str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert " - 1 receivers" in checked.stdout
