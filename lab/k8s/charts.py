"""The charts the helm-controller knows, rendered to the objects their real releases create.

Names follow each chart's fullname rule (a release named like its chart keeps the bare name:
`kube-prometheus-stack-grafana`). The lab knows the charts of REPOS and the ones K3s bundles
(served by its API server under BUNDLED_PREFIX); podinfo stands for a plain app chart: one
Deployment named after the release, `replicaCount` replicas. Any other chart fails to install
(lab/k8s/klipper.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lab.k8s.manifests import CRITICAL_ADDON, Pods, daemonset, deployment, service, statefulset

Obj = dict[str, Any]
DEFAULT_VERSIONS = {
    "kube-prometheus-stack": "65.1.1",
    "metallb": "0.14.8",
    "cert-manager": "v1.16.1",
    "traefik": "27.0.201+up27.0.2",
}


def _get(values: Obj, path: str, default: Any) -> Any:
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _int(values: Obj, path: str, default: int) -> int:
    try:
        return max(0, int(_get(values, path, default)))
    except (TypeError, ValueError):
        return default


def _kube_prometheus_stack(r: str, ns: str, values: Obj) -> list[Obj]:
    storage = _get(
        values,
        "prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage",
        "20Gi",
    )
    return [
        deployment(
            f"{r}-operator",
            ns,
            Pods(
                "quay.io/prometheus-operator/prometheus-operator:v0.77.1",
                f"{r}-operator",
                r,
                "100m",
                "128Mi",
                10250,
            ),
        ),
        deployment(
            f"{r}-grafana",
            ns,
            Pods("docker.io/grafana/grafana:11.2.2", "grafana", r, "100m", "256Mi", 3000),
            _int(values, "grafana.replicas", 1),
        ),
        deployment(
            f"{r}-kube-state-metrics",
            ns,
            Pods(
                "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0",
                "kube-state-metrics",
                r,
                "50m",
                "128Mi",
                8080,
            ),
        ),
        daemonset(
            f"{r}-prometheus-node-exporter",
            ns,
            Pods(
                "quay.io/prometheus/node-exporter:v1.8.2",
                "prometheus-node-exporter",
                r,
                "20m",
                "32Mi",
                9100,
                {"hostNetwork": True, "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}]},
            ),
        ),
        statefulset(
            f"prometheus-{r}-prometheus",
            ns,
            Pods(
                "quay.io/prometheus/prometheus:v2.54.1", "prometheus", f"{r}-prometheus", "250m", "1Gi", 9090
            ),
            _int(values, "prometheus.prometheusSpec.replicas", 1),
            ((f"prometheus-{r}-prometheus-db", str(storage)),),
            "/prometheus",
        ),
        statefulset(
            f"alertmanager-{r}-alertmanager",
            ns,
            Pods(
                "quay.io/prometheus/alertmanager:v0.27.0",
                "alertmanager",
                f"{r}-alertmanager",
                "50m",
                "128Mi",
                9093,
            ),
            _int(values, "alertmanager.alertmanagerSpec.replicas", 1),
        ),
        service(f"{r}-prometheus", ns, {"app.kubernetes.io/name": "prometheus"}, 9090),
        service(f"{r}-alertmanager", ns, {"app.kubernetes.io/name": "alertmanager"}, 9093),
        service(f"{r}-grafana", ns, {"app.kubernetes.io/name": "grafana"}, 80),
    ]


def _metallb(r: str, ns: str, values: Obj) -> list[Obj]:
    control_plane = [
        {"key": f"node-role.kubernetes.io/{role}", "operator": "Exists", "effect": "NoSchedule"}
        for role in ("master", "control-plane")
    ]
    return [
        deployment(
            f"{r}-controller",
            ns,
            Pods(
                "quay.io/metallb/controller:v0.14.8",
                "metallb",
                r,
                port=7472,
                labels={"app.kubernetes.io/component": "controller"},
            ),
        ),
        daemonset(
            f"{r}-speaker",
            ns,
            Pods(
                "quay.io/metallb/speaker:v0.14.8",
                "metallb-speaker",
                r,
                "20m",
                "32Mi",
                7472,
                {"hostNetwork": True, "tolerations": control_plane},
                {"app.kubernetes.io/component": "speaker"},
            ),
        ),
    ]


def _cert_manager(r: str, ns: str, values: Obj) -> list[Obj]:
    image = "quay.io/jetstack/cert-manager-{}:v1.16.1"
    return [
        deployment(
            r,
            ns,
            Pods(image.format("controller"), "cert-manager", r, port=9402),
            _int(values, "replicaCount", 1),
        ),
        deployment(
            f"{r}-cainjector",
            ns,
            Pods(image.format("cainjector"), "cainjector", r),
            _int(values, "cainjector.replicaCount", 1),
        ),
        deployment(
            f"{r}-webhook",
            ns,
            Pods(image.format("webhook"), "webhook", r, port=10250),
            _int(values, "webhook.replicaCount", 1),
        ),
    ]


def _traefik(r: str, ns: str, values: Obj) -> list[Obj]:
    instance = f"{r}-{ns}"
    return [
        deployment(
            r,
            ns,
            Pods(
                "rancher/mirrored-library-traefik:2.11.10",
                "traefik",
                instance,
                "100m",
                "64Mi",
                8000,
                CRITICAL_ADDON,
            ),
            _int(values, "deployment.replicas", 1),
        ),
        service(
            r,
            ns,
            {"app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": instance},
            80,
            kind="LoadBalancer",
        ),
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
         "metadata": {"name": r, "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
         "spec": {"controller": "traefik.io/ingress-controller"}},
    ]


def _generic(chart: str) -> Callable[[str, str, Obj], list[Obj]]:
    def render(r: str, ns: str, values: Obj) -> list[Obj]:
        image = f"{_get(values, 'image.repository', chart)}:{_get(values, 'image.tag', 'latest')}"
        return [deployment(r, ns, Pods(image, chart, r, port=80), _int(values, "replicaCount", 1))]

    return render


CHARTS: dict[str, Callable[[str, str, Obj], list[Obj]]] = {
    "kube-prometheus-stack": _kube_prometheus_stack,
    "metallb": _metallb,
    "cert-manager": _cert_manager,
    "traefik": _traefik,
    "podinfo": _generic("podinfo"),
}
REPOS: dict[str, frozenset[str]] = {
    "https://prometheus-community.github.io/helm-charts": frozenset({"kube-prometheus-stack"}),
    "https://metallb.github.io/metallb": frozenset({"metallb"}),
    "https://charts.jetstack.io": frozenset({"cert-manager"}),
    "https://traefik.github.io/charts": frozenset({"traefik"}),
    "https://stefanprodan.github.io/podinfo": frozenset({"podinfo"}),
}
BUNDLED_PREFIX = "https://%{KUBERNETES_API}%/static/charts/"
# the versions each repository publishes (a few real ones around the homelab's; helm refuses others)
VERSIONS: dict[str, tuple[str, ...]] = {
    "kube-prometheus-stack": ("62.7.0", "65.1.1", "66.2.1"),
    "metallb": ("0.14.5", "0.14.8", "0.14.9"),
    "cert-manager": ("v1.15.3", "v1.16.1", "v1.16.2"),
    "traefik": ("27.0.2", "32.1.0", "33.2.1"),
    "podinfo": ("6.7.0", "6.7.1"),
}
# the lab's mirror of each repository, served at /charts/SLUG/ on its own HTTP endpoint
MIRRORS: dict[str, str] = {
    "prometheus-community": "https://prometheus-community.github.io/helm-charts",
    "metallb": "https://metallb.github.io/metallb",
    "jetstack": "https://charts.jetstack.io",
    "traefik": "https://traefik.github.io/charts",
    "podinfo": "https://stefanprodan.github.io/podinfo",
}


def repository(url: str) -> frozenset[str] | None:
    """The charts a repository URL serves: a public one, or the lab's mirror of it."""
    base = url.rstrip("/")
    if base in REPOS:
        return REPOS[base]
    match = re.fullmatch(r"https?://[^/]+/charts/([a-z-]+)", base)
    return REPOS[MIRRORS[match.group(1)]] if match and match.group(1) in MIRRORS else None


def chart_name_version(chart: str, version: str | None) -> tuple[str, str]:
    """`traefik`, `prometheus-community/kube-prometheus-stack` or a .tgz URL -> (name, version)."""
    base = chart.rstrip("/").rsplit("/", 1)[-1]
    if base.endswith(".tgz"):
        stem = base[:-4]
        for i in range(len(stem) - 1, 0, -1):
            if stem[i] == "-" and stem[i + 1 : i + 2].isdigit():
                return stem[:i], version or stem[i + 1 :]
        base = stem
    return base, version or DEFAULT_VERSIONS.get(base, "0.1.0")


def render(chart: str, release: str, namespace: str, version: str, values: Obj) -> list[Obj]:
    """The chart's objects, labelled the way Helm labels what it manages."""
    objs = CHARTS[chart](release, namespace, values)
    for obj in objs:
        meta = obj["metadata"]
        meta.setdefault("labels", {}).update(
            {"helm.sh/chart": f"{chart}-{version}".replace("+", "_"), "app.kubernetes.io/managed-by": "Helm"}
        )
        meta.setdefault("annotations", {}).update(
            {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": namespace}
        )
    return objs
