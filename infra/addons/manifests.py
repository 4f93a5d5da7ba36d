"""The objects each addon is made of, from its config: pure, no I/O.

A chart goes to K3s' helm-controller as a HelmChart in kube-system (named after the addon, so the
release is too), or, for a Traefik K3s already bundles, as a HelmChartConfig of that chart. Objects
that must exist before the chart's pods start (a Secret they mount) come `before`; objects of the
chart's own kinds come `after`, once its CRDs are established.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from infra.addons.spec import AddonsConfig, CertManager, Chart, KubePrometheusStack, MetalLB

Obj = dict[str, Any]
CHARTS_NAMESPACE = "kube-system"  # where K3s' helm-controller keeps HelmCharts
PLURALS = {"Namespace": "namespaces", "Secret": "secrets", "HelmChart": "helmcharts",
           "HelmChartConfig": "helmchartconfigs", "IPAddressPool": "ipaddresspools",
           "L2Advertisement": "l2advertisements", "ClusterIssuer": "clusterissuers",
           "PrometheusRule": "prometheusrules"}
CRDS = {"metallb": ("ipaddresspools.metallb.io", "l2advertisements.metallb.io"),
        "cert-manager": ("clusterissuers.cert-manager.io", "certificates.cert-manager.io"),
        "traefik": ("ingressroutes.traefik.io", "middlewares.traefik.io"),
        "kube-prometheus-stack": ("prometheusrules.monitoring.coreos.com",
                                  "servicemonitors.monitoring.coreos.com")}
ACME = {"letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
        "letsencrypt-production": "https://acme-v02.api.letsencrypt.org/directory"}
CLOUDFLARE_SECRET, WEBHOOK_SECRET = "cloudflare-api-token", "drewburr-webhook"
BUNDLED = "https://%{KUBERNETES_API}%/static/charts/"  # how K3s names the charts it ships


@dataclass(frozen=True)
class Addon:
    name: str
    chart: Obj  # a HelmChart, or a HelmChartConfig of K3s' own chart
    before: list[Obj] = field(default_factory=list)
    after: list[Obj] = field(default_factory=list)
    crds: tuple[str, ...] = ()

    @property
    def release(self) -> str:
        return str(self.chart["metadata"]["name"])

    @property
    def namespace(self) -> str:
        """Where the release's objects go."""
        return str(self.chart["spec"].get("targetNamespace") or CHARTS_NAMESPACE)


def _obj(api_version: str, kind: str, name: str, namespace: str | None = None, **rest: Any) -> Obj:
    meta: Obj = {"name": name, **({"namespace": namespace} if namespace else {})}
    if "labels" in rest:
        meta["labels"] = rest.pop("labels")
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **rest}


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in over.items()}}
    return over


def _secret(name: str, namespace: str, key: str, value: str) -> Obj:
    return _obj("v1", "Secret", name, namespace, type="Opaque",
                data={key: base64.b64encode(value.encode()).decode()})


def helm_chart(name: str, chart: Chart, values: Obj) -> Obj:
    spec = {"repo": chart.repo, "chart": chart.chart, "version": chart.version,
            "targetNamespace": chart.namespace, "createNamespace": True,
            "valuesContent": yaml.safe_dump(values, sort_keys=True) if values else ""}
    return _obj("helm.cattle.io/v1", "HelmChart", name, CHARTS_NAMESPACE, spec=spec)


def metallb(c: MetalLB) -> Addon:
    pool = _obj("metallb.io/v1beta1", "IPAddressPool", c.pool, c.namespace,
                spec={"addresses": list(c.addresses), "autoAssign": True})
    l2 = _obj("metallb.io/v1beta1", "L2Advertisement", c.pool, c.namespace, spec={"ipAddressPools": [c.pool]})
    return Addon("metallb", helm_chart("metallb", c, c.values), after=[pool, l2], crds=CRDS["metallb"])


def cert_manager(c: CertManager) -> Addon:
    before = []
    if c.solver == "dns01":
        assert c.cloudflare_api_token is not None  # the config refuses dns01 without one
        before = [_obj("v1", "Namespace", c.namespace),
                  _secret(CLOUDFLARE_SECRET, c.namespace, "api-token",
                          c.cloudflare_api_token.get_secret_value())]
        solver: Obj = {"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": CLOUDFLARE_SECRET,
                                                                      "key": "api-token"}}}}
    else:
        solver = {"http01": {"ingress": {"ingressClassName": c.ingress_class}}}
    issuers = [_obj("cert-manager.io/v1", "ClusterIssuer", name, spec={"acme": {
        "server": server, "email": c.email, "privateKeySecretRef": {"name": f"{name}-account-key"},
        "solvers": [solver]}}) for name, server in ACME.items()]
    return Addon("cert-manager", helm_chart("cert-manager", c, c.values), before, issuers,
                 CRDS["cert-manager"])


def traefik(c: Chart, bundled: bool) -> Addon:
    """Traefik K3s already runs (not `--disable traefik`) is configured, not installed a second time."""
    if bundled:
        chart = _obj("helm.cattle.io/v1", "HelmChartConfig", "traefik", CHARTS_NAMESPACE,
                     spec={"valuesContent": yaml.safe_dump(c.values, sort_keys=True) if c.values else ""})
        return Addon("traefik", chart, crds=CRDS["traefik"])
    return Addon("traefik", helm_chart("traefik", c, c.values), crds=CRDS["traefik"])


def rules() -> list[Obj]:
    text = resources.files("infra.addons").joinpath("rules.yaml").read_text()
    return list(yaml.safe_load(text)["groups"])


def kube_prometheus_stack(c: KubePrometheusStack, webhook_token: str) -> Addon:
    """Alertmanager posts every alert to drewburr's webhook, with its bearer token from a Secret that
    the chart mounts (alertmanagerSpec.secrets) at /etc/alertmanager/secrets/NAME/."""
    token_file = f"/etc/alertmanager/secrets/{WEBHOOK_SECRET}/token"
    receiver = {"name": "drewburr", "webhook_configs": [{
        "url": c.webhook_url, "send_resolved": True,
        "http_config": {"authorization": {"type": "Bearer", "credentials_file": token_file}}}]}
    alerting = {"alertmanager": {
        "alertmanagerSpec": {"secrets": [WEBHOOK_SECRET]},
        "config": {"route": {"receiver": "drewburr", "group_by": ["alertname", "node"]},
                   "receivers": [receiver]}}}
    values = _merge(c.values, alerting)
    rule = _obj("monitoring.coreos.com/v1", "PrometheusRule", "drewburr-alerts", c.namespace,
                labels={"release": "kube-prometheus-stack"},  # the chart's default ruleSelector
                spec={"groups": rules()})
    before = [_obj("v1", "Namespace", c.namespace),
              _secret(WEBHOOK_SECRET, c.namespace, "token", webhook_token)]
    return Addon("kube-prometheus-stack", helm_chart("kube-prometheus-stack", c, values), before, [rule],
                 CRDS["kube-prometheus-stack"])


def addon(config: AddonsConfig, name: str, *, webhook_token: str, bundled_traefik: bool) -> Addon:
    if name == "metallb":
        return metallb(config.metallb)
    if name == "cert-manager":
        return cert_manager(config.cert_manager)
    if name == "traefik":
        return traefik(config.traefik, bundled_traefik)
    return kube_prometheus_stack(config.kube_prometheus_stack, webhook_token)


def is_bundled(spec: Obj | None) -> bool:
    """Whether a HelmChart's spec names a chart K3s ships."""
    return spec is not None and str(spec.get("chart", "")).startswith(BUNDLED)
