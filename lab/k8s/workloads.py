"""What the default homelab runs, installed at start when the scenario asks for `workloads: default`.

K3s' own pieces (CoreDNS, local-path-provisioner, metrics-server, Traefik through its
bundled HelmChart, set to 2 replicas by a HelmChartConfig), the addons as HelmCharts
(kube-prometheus-stack with an RBD volume for Prometheus, MetalLB, cert-manager), and three
apps that make the homelab's real problems appear: `whoami` (3 replicas, PDB minAvailable 2,
spread across zones = blades), `postgres` (one replica on an RWO RBD volume) and
`ingress-solo` (both replicas pinned to kube05: a single point of failure).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

from lab.k8s import crds, registry
from lab.k8s.charts import chart_name_version
from lab.k8s.controllers.base import Obj, ensure_namespace
from lab.k8s.manifests import CRITICAL_ADDON, Pods, deployment, pdb, service, statefulset
from lab.k8s.resources import BY_KIND, Resource

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
ADDON_NAMESPACES = ("monitoring", "metallb-system", "cert-manager")


def system_namespaces(cluster: K8sCluster) -> None:
    for name in SYSTEM_NAMESPACES:
        ensure_namespace(cluster.store, name)


def storage_classes(cluster: K8sCluster) -> None:
    """The homelab's default class: Ceph RBD through ceph-csi (K3s' local-path is not the default)."""
    res = BY_KIND["StorageClass"]
    if cluster.store.find(res, "", "ceph-rbd") is None:
        cluster.create(res, {
            "metadata": {"name": "ceph-rbd",
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rbd.csi.ceph.com", "reclaimPolicy": "Delete", "allowVolumeExpansion": True,
            "volumeBindingMode": "Immediate",
            "parameters": {"clusterID": "ceph", "pool": "rbd", "imageFeatures": "layering",
                           "csi.storage.k8s.io/fstype": "ext4"}})


def _chart(
    name: str, chart: str, version: str | None, target: str | None, values: str = "", repo: str | None = None
) -> Obj:
    spec: Obj = {"chart": chart}
    if version:
        spec["version"] = version
    if repo:
        spec["repo"] = repo
    if target:
        spec.update(targetNamespace=target, createNamespace=True)
    if values:
        spec["valuesContent"] = values
    return {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": name, "namespace": "kube-system"},
        "spec": spec,
    }


def k3s_packaged(disable: frozenset[str] = frozenset()) -> list[Obj]:
    """The manifests a new K3s server deploys from /var/lib/rancher/k3s/server/manifests, less the
    components `--disable` names (coredns, local-storage, metrics-server, traefik)."""
    ns = "kube-system"
    parts: dict[str, list[Obj]] = {"coredns": [
        deployment(
            "coredns",
            ns,
            Pods(
                "rancher/mirrored-coredns-coredns:1.11.3",
                "kube-dns",
                "coredns",
                "100m",
                "70Mi",
                53,
                CRITICAL_ADDON,
                {"k8s-app": "kube-dns"},
            ),
        ),
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kube-dns", "namespace": ns, "labels": {"k8s-app": "kube-dns"}},
         "spec": {"clusterIP": "10.43.0.10", "selector": {"k8s-app": "kube-dns"},  # K3s' --cluster-dns
                  "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}}],
        "local-storage": [deployment(
            "local-path-provisioner", ns, Pods("rancher/local-path-provisioner:v0.0.30", spec=CRITICAL_ADDON)
        )],
        "metrics-server": [deployment(
            "metrics-server",
            ns,
            Pods(
                "rancher/mirrored-metrics-server:v0.7.2",
                cpu="100m",
                memory="70Mi",
                port=10250,
                spec=CRITICAL_ADDON,
            ),
        )],
        "traefik": [_chart(
            "traefik",
            "https://%{KUBERNETES_API}%/static/charts/traefik-27.0.201+up27.0.2.tgz",
            None,
            None,
            'podAnnotations:\n  prometheus.io/port: "8082"\n  prometheus.io/scrape: "true"\n',
        )],
    }
    return [obj for name, objs in parts.items() if name not in disable for obj in objs]


def _k3s_system() -> list[Obj]:
    """K3s' packaged components, with the homelab's own HelmChartConfig (two Traefik replicas)."""
    ns = "kube-system"
    return [
        *k3s_packaged(),
        {
            "apiVersion": "helm.cattle.io/v1",
            "kind": "HelmChartConfig",
            "metadata": {"name": "traefik", "namespace": ns},
            "spec": {"valuesContent": "deployment:\n  replicas: 2\n"},
        },
    ]


def _addons() -> list[Obj]:
    return [
        _chart(
            "kube-prometheus-stack",
            "kube-prometheus-stack",
            "65.1.1",
            "monitoring",
            "prometheus:\n  prometheusSpec:\n    storageSpec:\n      volumeClaimTemplate:\n        spec:\n"
            "          storageClassName: ceph-rbd\n          resources:\n            requests:\n"
            "              storage: 20Gi\n",
            "https://prometheus-community.github.io/helm-charts",
        ),
        _chart("metallb", "metallb", "0.14.8", "metallb-system", repo="https://metallb.github.io/metallb"),
        _chart(
            "cert-manager",
            "cert-manager",
            "v1.16.1",
            "cert-manager",
            "crds:\n  enabled: true\n",
            "https://charts.jetstack.io",
        ),
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": {"name": "default-pool", "namespace": "metallb-system"},
            "spec": {"addresses": ["192.168.1.240-192.168.1.250"], "autoAssign": True},
        },
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "L2Advertisement",
            "metadata": {"name": "default", "namespace": "metallb-system"},
            "spec": {"ipAddressPools": ["default-pool"]},
        },
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "ClusterIssuer",
            "metadata": {"name": "letsencrypt"},
            "spec": {
                "acme": {
                    "server": "https://acme-v02.api.letsencrypt.org/directory",
                    "email": "admin@homelab.example",
                    "privateKeySecretRef": {"name": "letsencrypt-account"},
                    "solvers": [{"http01": {"ingress": {"ingressClassName": "traefik"}}}],
                }
            },
        },
    ]


def _apps() -> list[Obj]:
    ns = "default"
    whoami_labels = {"app.kubernetes.io/name": "whoami", "app.kubernetes.io/instance": "whoami"}
    spread = {
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": whoami_labels},
            }
        ]
    }
    return [
        deployment("whoami", ns, Pods("traefik/whoami:v1.10.3", port=80, spec=spread), 3),
        pdb("whoami", ns, whoami_labels, 2),
        service("whoami", ns, whoami_labels, 80),
        statefulset(
            "postgres",
            ns,
            Pods("postgres:16.4", cpu="100m", memory="256Mi", port=5432),
            1,
            (("data", "10Gi"),),
            "/var/lib/postgresql/data",
        ),
        service("postgres", ns, {"app.kubernetes.io/name": "postgres"}, 5432, headless=True),
        deployment(
            "ingress-solo",
            ns,
            Pods("nginx:1.27.2", port=80, spec={"nodeSelector": {"kubernetes.io/hostname": "kube05"}}),
            2,
        ),
    ]


def _kind(obj: Obj) -> Resource:
    return BY_KIND.get(obj["kind"]) or crds.known(obj["kind"])


def install_default_workloads(cluster: K8sCluster, now: float) -> None:
    for name in ADDON_NAMESPACES:
        ensure_namespace(cluster.store, name)
    objs = [*_k3s_system(), *_addons(), *_apps()]
    for chart in (o for o in objs if o["kind"] == "HelmChart"):  # installed long ago, CRDs and all
        name, _ = chart_name_version(chart["spec"]["chart"], None)
        values = yaml.safe_load(chart["spec"].get("valuesContent") or "{}")
        crds.install_chart_crds(cluster.store, name, values, now)
    apply_manifests(cluster, objs)


def apply_manifests(cluster: K8sCluster, objs: list[Obj]) -> None:
    """Create each object not there yet, as if created through the API."""
    for obj in objs:
        res = _kind(obj)
        crds.admit(registry.crd_of(cluster.store, res), res, obj)
        if cluster.store.find(res, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]) is None:
            cluster.create(res, obj)
