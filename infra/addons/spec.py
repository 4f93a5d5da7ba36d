"""What `addons install` installs: each addon's chart (repository, version, namespace, values) and
its own settings, with the homelab's defaults. It is the `addons:` section of drewburr's config
(bot/config.py); `DREWBURR_ADDONS__METALLB__VERSION=0.14.9` overrides one key.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

NAMES = ("metallb", "cert-manager", "traefik", "kube-prometheus-stack")  # the order `all` installs them in
FIELD_MANAGER = "drewburr"


class Chart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo: str = Field(description="the Helm repository's URL (its index.yaml is read to check the version)")
    chart: str
    version: str = Field(min_length=1)
    namespace: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    values: dict[str, Any] = Field(default_factory=dict, description="the chart's values (valuesContent)")


def address_range(text: str) -> str:
    """`192.168.1.240-192.168.1.250` or `192.168.1.240/28`, as MetalLB takes them; ValueError otherwise."""
    if "-" in text:
        first, _, last = (part.strip() for part in text.partition("-"))
        try:
            start, end = ipaddress.ip_address(first), ipaddress.ip_address(last)
        except ValueError as exc:
            raise ValueError(f"{text!r}: {exc}") from None
        if start.version != end.version or int(start) > int(end):
            raise ValueError(f"{text!r}: the range must run from a lower to a higher address of one family")
        return text
    try:
        ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise ValueError(f"{text!r}: neither FIRST-LAST nor a CIDR ({exc})") from None
    return text


class MetalLB(Chart):
    repo: str = "https://metallb.github.io/metallb"
    chart: str = "metallb"
    version: str = "0.14.8"
    namespace: str = "metallb-system"
    addresses: list[str] = Field(default_factory=lambda: ["192.168.1.240-192.168.1.250"], min_length=1)
    pool: str = "default-pool"

    @field_validator("addresses")
    @classmethod
    def _ranges(cls, value: list[str]) -> list[str]:
        return [address_range(a) for a in value]


class CertManager(Chart):
    repo: str = "https://charts.jetstack.io"
    chart: str = "cert-manager"
    version: str = "v1.16.1"
    namespace: str = "cert-manager"
    values: dict[str, Any] = Field(default_factory=lambda: {"crds": {"enabled": True}})
    email: str = Field("admin@example.com", pattern=r"^[^@\s]+@[^@\s]+$", description="the ACME account's")
    solver: Literal["http01", "dns01"] = "http01"
    ingress_class: str = Field("traefik", description="HTTP-01 answers through this IngressClass")
    cloudflare_api_token: SecretStr | None = Field(None, description="DNS-01 through Cloudflare")

    @model_validator(mode="after")
    def _dns01_token(self) -> CertManager:
        if self.solver == "dns01" and self.cloudflare_api_token is None:
            raise ValueError("solver dns01 needs cloudflare_api_token (Cloudflare, Zone:DNS:Edit)")
        return self


class Traefik(Chart):
    repo: str = "https://traefik.github.io/charts"
    chart: str = "traefik"
    version: str = "27.0.2"
    namespace: str = "traefik"
    values: dict[str, Any] = Field(default_factory=lambda: {"deployment": {"replicas": 2}})


class KubePrometheusStack(Chart):
    repo: str = "https://prometheus-community.github.io/helm-charts"
    chart: str = "kube-prometheus-stack"
    version: str = "65.1.1"
    namespace: str = "monitoring"
    values: dict[str, Any] = Field(default_factory=lambda: {"prometheus": {"prometheusSpec": {"storageSpec": {
        "volumeClaimTemplate": {"spec": {"storageClassName": "ceph-rbd",
                                         "resources": {"requests": {"storage": "20Gi"}}}}}}}})
    webhook_url: str = Field("http://drewburr.drewburr.svc:8080/alerts/alertmanager",
                             description="where Alertmanager posts alerts: drewburr's webhook")


class AddonsConfig(BaseModel):
    """`addons install`: per addon its chart (`repo`, `chart`, `version`, `namespace`, `values`) and
    settings (`metallb.addresses`, `cert_manager.email|solver|cloudflare_api_token`,
    `kube_prometheus_stack.webhook_url`); see docs/cluster.md for the defaults."""

    model_config = ConfigDict(extra="forbid")

    metallb: MetalLB = Field(default_factory=MetalLB)
    cert_manager: CertManager = Field(default_factory=CertManager)
    traefik: Traefik = Field(default_factory=Traefik)
    kube_prometheus_stack: KubePrometheusStack = Field(default_factory=KubePrometheusStack)

    def chart(self, name: str) -> Chart:
        chart: Chart = getattr(self, name.replace("-", "_"))
        return chart


def chosen(name: str) -> list[str]:
    """`all` or one addon's name -> the addons to install, in order; ValueError naming the choices."""
    if name == "all":
        return list(NAMES)
    if name not in NAMES:
        raise ValueError(f"unknown addon {name!r}; choose {', '.join(NAMES)} or all")
    return [name]
