"""The charts the helm-controller knows, rendered to the objects their real releases create.

Names follow each chart's fullname rule (a release named like its chart keeps the bare name:
`kube-prometheus-stack-grafana`). A chart the lab does not know installs one Deployment
named after the release, `replicaCount` replicas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lab.k8s.manifests import daemonset, deployment, service, statefulset

Obj = dict[str, Any]
DEFAULT_VERSIONS = {
    "kube-prometheus-stack": "65.1.1",
    "metallb": "0.14.8",
    "cert-manager": "v1.16.1",
    "traefik": "27.0.201+up27.0.2",
}
_TOLERATE_ALL = [{"operator": "Exists", "effect": "NoSchedule"}]


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
            "quay.io/prometheus-operator/prometheus-operator:v0.77.1",
            app=f"{r}-operator",
            instance=r,
            port=10250,
            cpu="100m",
            memory="128Mi",
        ),
        deployment(
            f"{r}-grafana",
            ns,
            "docker.io/grafana/grafana:11.2.2",
            _int(values, "grafana.replicas", 1),
            app="grafana",
            instance=r,
            port=3000,
            cpu="100m",
            memory="256Mi",
        ),
        deployment(
            f"{r}-kube-state-metrics",
            ns,
            "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0",
            app="kube-state-metrics",
            instance=r,
            port=8080,
            cpu="50m",
            memory="128Mi",
        ),
        daemonset(
            f"{r}-prometheus-node-exporter",
            ns,
            "quay.io/prometheus/node-exporter:v1.8.2",
            app="prometheus-node-exporter",
            instance=r,
            port=9100,
            host_network=True,
            tolerations=_TOLERATE_ALL,
        ),
        statefulset(
            f"prometheus-{r}-prometheus",
            ns,
            "quay.io/prometheus/prometheus:v2.54.1",
            _int(values, "prometheus.prometheusSpec.replicas", 1),
            app="prometheus",
            instance=f"{r}-prometheus",
            port=9090,
            cpu="250m",
            memory="1Gi",
            claims=[(f"prometheus-{r}-prometheus-db", str(storage))],
            mount="/prometheus",
        ),
        statefulset(
            f"alertmanager-{r}-alertmanager",
            ns,
            "quay.io/prometheus/alertmanager:v0.27.0",
            _int(values, "alertmanager.alertmanagerSpec.replicas", 1),
            app="alertmanager",
            instance=f"{r}-alertmanager",
            port=9093,
            cpu="50m",
            memory="128Mi",
        ),
        service(f"{r}-prometheus", ns, {"app.kubernetes.io/name": "prometheus"}, 9090),
        service(f"{r}-alertmanager", ns, {"app.kubernetes.io/name": "alertmanager"}, 9093),
        service(f"{r}-grafana", ns, {"app.kubernetes.io/name": "grafana"}, 80),
    ]


def _metallb(r: str, ns: str, values: Obj) -> list[Obj]:
    return [
        deployment(
            f"{r}-controller",
            ns,
            "quay.io/metallb/controller:v0.14.8",
            app="metallb",
            instance=r,
            port=7472,
            labels={"app.kubernetes.io/component": "controller"},
        ),
        daemonset(
            f"{r}-speaker",
            ns,
            "quay.io/metallb/speaker:v0.14.8",
            app="metallb-speaker",
            instance=r,
            port=7472,
            host_network=True,
            labels={"app.kubernetes.io/component": "speaker"},
            tolerations=[
                {"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"},
                {
                    "key": "node-role.kubernetes.io/control-plane",
                    "operator": "Exists",
                    "effect": "NoSchedule",
                },
            ],
        ),
    ]


def _cert_manager(r: str, ns: str, values: Obj) -> list[Obj]:
    tag = "v1.16.1"
    return [
        deployment(
            r,
            ns,
            f"quay.io/jetstack/cert-manager-controller:{tag}",
            _int(values, "replicaCount", 1),
            app="cert-manager",
            instance=r,
            port=9402,
        ),
        deployment(
            f"{r}-cainjector",
            ns,
            f"quay.io/jetstack/cert-manager-cainjector:{tag}",
            _int(values, "cainjector.replicaCount", 1),
            app="cainjector",
            instance=r,
            port=None,
        ),
        deployment(
            f"{r}-webhook",
            ns,
            f"quay.io/jetstack/cert-manager-webhook:{tag}",
            _int(values, "webhook.replicaCount", 1),
            app="webhook",
            instance=r,
            port=10250,
        ),
    ]


def _traefik(r: str, ns: str, values: Obj) -> list[Obj]:
    instance = f"{r}-{ns}"
    return [
        deployment(
            r,
            ns,
            "rancher/mirrored-library-traefik:2.11.10",
            _int(values, "deployment.replicas", 1),
            app="traefik",
            instance=instance,
            port=8000,
            cpu="100m",
            memory="64Mi",
            pod={
                "priorityClassName": "system-cluster-critical",
                "tolerations": [
                    {"key": "CriticalAddonsOnly", "operator": "Exists"},
                    {
                        "key": "node-role.kubernetes.io/control-plane",
                        "operator": "Exists",
                        "effect": "NoSchedule",
                    },
                    {"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"},
                ],
            },
        ),
        service(
            r,
            ns,
            {"app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": instance},
            80,
            kind="LoadBalancer",
        ),
    ]


def _generic(chart: str) -> Callable[[str, str, Obj], list[Obj]]:
    def render(r: str, ns: str, values: Obj) -> list[Obj]:
        image = _get(values, "image.repository", chart)
        tag = _get(values, "image.tag", "latest")
        return [deployment(r, ns, f"{image}:{tag}", _int(values, "replicaCount", 1), app=chart, instance=r)]

    return render


CHARTS: dict[str, Callable[[str, str, Obj], list[Obj]]] = {
    "kube-prometheus-stack": _kube_prometheus_stack,
    "metallb": _metallb,
    "cert-manager": _cert_manager,
    "traefik": _traefik,
}


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
    objs = CHARTS.get(chart, _generic(chart))(release, namespace, values)
    for obj in objs:
        meta = obj["metadata"]
        meta.setdefault("labels", {}).update(
            {"helm.sh/chart": f"{chart}-{version}".replace("+", "_"), "app.kubernetes.io/managed-by": "Helm"}
        )
        meta.setdefault("annotations", {}).update(
            {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": namespace}
        )
    return objs
