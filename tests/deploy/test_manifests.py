"""The example overlay, rendered by kubectl's kustomize, fits drewburr: the ConfigMap and the Secrets the
Deployment hands it make a config that loads, and the objects that refer to each other agree."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import load_settings
from tests.lab.deployed import OVERLAY
from tests.tools import require

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, str], Obj]:
    out = subprocess.run([require("kubectl"), "kustomize", str(OVERLAY)], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    objects = {}
    for obj in yaml.safe_load_all(out):
        name = obj["metadata"]["name"]
        if obj["kind"] in ("ConfigMap", "Secret"):  # generated: the name carries a hash suffix
            name = re.sub(r"-[a-z0-9]{10}$", "", name)
        objects[obj["kind"], name] = obj
    return objects


def container(rendered: dict[tuple[str, str], Obj]) -> Obj:
    (only,) = rendered["Deployment", "drewburr"]["spec"]["template"]["spec"]["containers"]
    return only


def secret_value(rendered: dict[tuple[str, str], Obj], ref: Obj) -> str | None:
    secret = next(o for (kind, _), o in rendered.items()
                  if kind == "Secret" and o["metadata"]["name"] == ref["name"])
    value = secret.get("data", {}).get(ref["key"])
    assert value is not None or ref.get("optional"), f"{ref} names no key of the Secret"
    return None if value is None else base64.b64decode(value).decode()


def test_the_configmap_and_the_secrets_make_a_config_that_loads(rendered, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    spec = container(rendered)
    config = tmp_path / "drewburr.yaml"
    config.write_text(rendered["ConfigMap", "drewburr-config"]["data"]["drewburr.yaml"])
    env = {}
    for var in spec["env"]:
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        value = secret_value(rendered, ref) if ref else var["value"]
        if value is not None:
            env[var["name"]] = value
    assert env.pop("DREWBURR_CONFIG") == "/etc/drewburr/drewburr.yaml"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(config)
    assert settings.proxmox.token_secret.get_secret_value() == env["DREWBURR_PROXMOX__TOKEN_SECRET"]
    assert settings.slack.bot_token is not None and settings.slack.app_token is not None
    assert settings.webhooks.token is not None
    assert settings.kubernetes.kubeconfig is None  # the pod's ServiceAccount
    mounts = {m["name"]: m["mountPath"] for m in spec["volumeMounts"]}
    assert settings.server.host == "0.0.0.0"
    assert settings.server.port == spec["ports"][0]["containerPort"]
    assert (settings.journal.backend, settings.journal.namespace) == ("kubernetes", "drewburr")
    assert settings.leader.enabled and settings.leader.namespace == "drewburr"
    assert settings.proxmox.ca_file is not None and settings.proxmox.ca_file.parent == Path(mounts["config"])


def test_the_objects_that_refer_to_each_other_agree(rendered) -> None:
    pod = rendered["Deployment", "drewburr"]["spec"]["template"]
    labels = pod["metadata"]["labels"]
    port_name = container(rendered)["ports"][0]["name"]
    service = rendered["Service", "drewburr"]["spec"]
    assert service["selector"].items() <= labels.items() and service["ports"][0]["targetPort"] == port_name
    monitor = rendered["ServiceMonitor", "drewburr"]["spec"]
    service_labels = rendered["Service", "drewburr"]["metadata"]["labels"]
    assert monitor["selector"]["matchLabels"].items() <= service_labels.items()
    assert monitor["endpoints"][0]["port"] == service["ports"][0]["name"]
    budget = rendered["PodDisruptionBudget", "drewburr"]["spec"]
    assert budget["selector"]["matchLabels"].items() <= labels.items()
    assert pod["spec"]["serviceAccountName"] == rendered["ServiceAccount", "drewburr"]["metadata"]["name"]
    (spread,) = pod["spec"]["topologySpreadConstraints"]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    assert spread["whenUnsatisfiable"] == "DoNotSchedule"  # two blades or wait: never both on one
    probes = container(rendered)
    assert (probes["livenessProbe"]["httpGet"]["path"], probes["readinessProbe"]["httpGet"]["path"]) == (
        "/healthz", "/readyz")
