"""The addons' config (defaults, validation) and the objects made from it: pure, no cluster."""

from __future__ import annotations

import base64

import pytest
import yaml
from pydantic import ValidationError

from infra.addons import manifests
from infra.addons.spec import AddonsConfig, CertManager, address_range, chosen
from tests.conftest import REFERENCE


@pytest.mark.parametrize("text", ["192.168.1.240-192.168.1.250", "192.168.1.240/28", "fd00::10-fd00::20",
                                  "10.0.0.5-10.0.0.5"])
def test_metallb_takes_ranges_and_cidrs(text: str) -> None:
    assert address_range(text) == text


@pytest.mark.parametrize(("text", "why"), [
    ("192.168.1.250-192.168.1.240", "lower to a higher"), ("10.0.0.1-fd00::1", "one family"),
    ("192.168.1.300-192.168.1.310", "does not appear to be an IPv4 or IPv6 address"),
    ("192.168.1.241/28", "has host bits set"), ("lots", "neither FIRST-LAST nor a CIDR")])
def test_a_malformed_range_is_refused_naming_it(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        address_range(text)
    with pytest.raises(ValidationError, match=r"metallb\.addresses"):
        AddonsConfig.model_validate({"metallb": {"addresses": [text]}})


def test_unknown_keys_and_dns01_without_a_token_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"metallb\.versoin"):
        AddonsConfig.model_validate({"metallb": {"versoin": "0.14.9"}})
    with pytest.raises(ValidationError, match="solver dns01 needs cloudflare_api_token"):
        CertManager(solver="dns01")


def test_all_means_every_addon_in_install_order_and_others_are_named() -> None:
    assert chosen("all") == ["metallb", "cert-manager", "traefik", "kube-prometheus-stack"]
    with pytest.raises(ValueError, match="unknown addon 'nginx'; choose metallb, cert-manager"):
        chosen("nginx")


def test_dns01_issuers_read_the_cloudflare_token_from_a_secret() -> None:
    addon = manifests.cert_manager(CertManager(solver="dns01", cloudflare_api_token="cf-123"))
    secret = next(o for o in addon.before if o["kind"] == "Secret")
    assert (secret["metadata"]["namespace"], base64.b64decode(secret["data"]["api-token"])) == (
        "cert-manager", b"cf-123")
    servers = {i["metadata"]["name"]: i["spec"]["acme"] for i in addon.after}
    assert servers["letsencrypt-production"]["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert servers["letsencrypt-staging"]["solvers"] == [{"dns01": {"cloudflare": {"apiTokenSecretRef": {
        "name": "cloudflare-api-token", "key": "api-token"}}}}]


def test_traefik_k3s_bundles_is_configured_not_installed_twice() -> None:
    config = AddonsConfig()
    assert manifests.traefik(config.traefik, bundled=True).chart["kind"] == "HelmChartConfig"
    chart = manifests.traefik(config.traefik, bundled=False).chart
    assert (chart["kind"], chart["spec"]["version"], chart["spec"]["targetNamespace"]) == (
        "HelmChart", "27.0.2", "traefik")


def test_the_prometheus_rule_carries_the_reference_rules_drewburr_acts_on() -> None:
    shipped = {r["alert"]: r for g in manifests.rules() for r in g["rules"]}
    reference = {}
    for name in ("kube-node-alerts.yml", "ceph-mixin-alerts.yml"):
        for group in yaml.safe_load((REFERENCE / "rules" / name).read_text())["groups"]:
            reference |= {r["alert"]: r for r in group["rules"] if "alert" in r}
    assert set(shipped) == {"KubeNodeNotReady", "KubeNodeUnreachable", "CephOSDDown", "CephOSDHostDown"}
    assert all(shipped[name] == reference[name] for name in shipped)
