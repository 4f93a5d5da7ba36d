"""The helm-controller: HelmCharts become releases with their workloads, versions and status."""

from __future__ import annotations

import base64
import gzip
import json

from lab.k8s.controllers.base import (
    DAEMONSET,
    DEPLOYMENT,
    HELMCHART,
    HELMCHARTCONFIG,
    JOB,
    NAMESPACE,
    POD,
    SECRET,
    SERVICE,
    STATEFULSET,
)
from lab.k8s.controllers.job import finished
from tests.unit.lab.k8s_world import World, homelab, running_ready


def _release(w: World, namespace: str, name: str) -> dict:
    secret = next(
        s
        for s in w.store.list(SECRET, namespace)
        if s["metadata"]["labels"].get("name") == name and s["metadata"]["labels"].get("status") == "deployed"
    )
    blob = base64.b64decode(base64.b64decode(secret["data"]["release"]))
    return json.loads(gzip.decompress(blob))


def test_default_addons_are_installed_releases_with_their_versions():
    w = World()
    chart = w.store.get(HELMCHART, "kube-system", "kube-prometheus-stack")
    assert chart["status"]["jobName"] == "helm-install-kube-prometheus-stack"
    assert {c["type"]: c["status"] for c in chart["status"]["conditions"]} == {
        "JobCreated": "True",
        "Failed": "False",
    }
    release = _release(w, "monitoring", "kube-prometheus-stack")
    assert release["chart"]["metadata"] == {"name": "kube-prometheus-stack", "version": "65.1.1"}
    assert w.store.get(STATEFULSET, "monitoring", "prometheus-kube-prometheus-stack-prometheus")
    assert w.store.get(DAEMONSET, "monitoring", "kube-prometheus-stack-prometheus-node-exporter")
    grafana = w.store.get(DEPLOYMENT, "monitoring", "kube-prometheus-stack-grafana")
    assert grafana["metadata"]["labels"]["helm.sh/chart"] == "kube-prometheus-stack-65.1.1"
    assert _release(w, "kube-system", "traefik")["chart"]["metadata"]["version"] == "27.0.201+up27.0.2"
    assert (
        w.store.get(DEPLOYMENT, "kube-system", "traefik")["spec"]["replicas"] == 2
    )  # from the HelmChartConfig


def test_an_app_chart_installs_through_its_job_after_some_lab_seconds():
    w = World(homelab(workloads="none"))
    w.store.create(
        HELMCHART,
        {
            "metadata": {"name": "podinfo", "namespace": "kube-system"},
            "spec": {
                "chart": "podinfo",
                "repo": "https://stefanprodan.github.io/podinfo",
                "version": "6.7.1",
                "targetNamespace": "default",
                "valuesContent": "replicaCount: 2\n",
            },
        },
    )
    w.run(3)
    job = w.store.get(JOB, "kube-system", "helm-install-podinfo")
    assert job["status"]["active"] == 1 and w.store.find(DEPLOYMENT, "default", "podinfo") is None
    w.run(30)
    assert finished(w.store.get(JOB, "kube-system", "helm-install-podinfo")) == "Complete"
    deploy = w.store.get(DEPLOYMENT, "default", "podinfo")
    assert deploy["spec"]["replicas"] == 2 and deploy["status"]["readyReplicas"] == 2
    assert _release(w, "default", "podinfo")["chart"]["metadata"]["version"] == "6.7.1"


def test_a_helmchartconfig_change_upgrades_the_release():
    w = World()
    w.store.mutate(
        HELMCHARTCONFIG,
        "kube-system",
        "traefik",
        lambda o: o["spec"].update(valuesContent="deployment:\n  replicas: 3\n"),
    )
    w.run(30)
    assert w.store.get(DEPLOYMENT, "kube-system", "traefik")["status"]["readyReplicas"] == 3
    assert _release(w, "kube-system", "traefik")["version"] == 2
    pods = w.live_pods("kube-system", "traefik")
    assert len(pods) == 3 and all(running_ready(p) for p in pods)


def test_deleting_a_helmchart_uninstalls_its_workloads_and_pods():
    w = World()
    w.store.remove(HELMCHART, "kube-system", "metallb")
    w.run(40)
    assert w.store.find(DEPLOYMENT, "metallb-system", "metallb-controller") is None
    assert w.store.find(DAEMONSET, "metallb-system", "metallb-speaker") is None
    assert w.pods("metallb-system") == []


def test_metallb_gives_traefik_an_address_from_its_pool():
    w = World()
    svc = w.store.get(SERVICE, "kube-system", "traefik")
    assert svc["status"]["loadBalancer"]["ingress"] == [{"ip": "192.168.1.240", "ipMode": "VIP"}]
    assert svc["metadata"]["annotations"]["metallb.io/ip-allocated-from-pool"] == "default-pool"


def test_a_missing_target_namespace_fails_the_install_unless_it_may_be_created():
    w = World(homelab(workloads="none"))
    spec = {"chart": "podinfo", "repo": "https://stefanprodan.github.io/podinfo", "version": "6.7.1",
            "targetNamespace": "apps"}
    w.store.create(HELMCHART, {"metadata": {"name": "podinfo", "namespace": "kube-system"}, "spec": spec})
    w.run(5)
    assert w.store.find(JOB, "kube-system", "helm-install-podinfo") is None
    failed = next(
        c
        for c in w.store.get(HELMCHART, "kube-system", "podinfo")["status"]["conditions"]
        if c["type"] == "Failed"
    )
    message = 'Failed to generate Job: namespaces "apps" not found'
    assert (failed["status"], failed["message"]) == ("True", message)
    w.store.mutate(HELMCHART, "kube-system", "podinfo", lambda o: o["spec"].update(createNamespace=True))
    w.run(30)
    assert w.store.find(NAMESPACE, "", "apps") is not None
    assert w.store.get(DEPLOYMENT, "apps", "podinfo")["status"]["readyReplicas"] == 1


def _chart(w: World, name: str, spec: dict) -> None:
    w.store.create(HELMCHART, {"metadata": {"name": name, "namespace": "kube-system"}, "spec": spec})


def test_a_chart_the_repository_lacks_fails_its_job_with_helms_error():
    w = World(homelab(workloads="none"))
    _chart(w, "nosuch", {"chart": "nosuch", "repo": "https://charts.jetstack.io", "backOffLimit": 1})
    w.run(60)
    job = w.store.get(JOB, "kube-system", "helm-install-nosuch")
    assert finished(job) == "Failed"
    reasons = {c["type"]: c["reason"] for c in job["status"]["conditions"]}
    assert reasons["Failed"] == "BackoffLimitExceeded"
    chart = w.store.get(HELMCHART, "kube-system", "nosuch")
    failed = next(c for c in chart["status"]["conditions"] if c["type"] == "Failed")
    assert (failed["status"], failed["reason"]) == ("True", "Job failed")
    assert w.store.find(DEPLOYMENT, "kube-system", "nosuch") is None
    assert not [s for s in w.store.list(SECRET, "kube-system") if s["metadata"]["name"].startswith("sh.helm")]


def test_deleting_a_chart_runs_helm_delete_then_removes_the_release_and_its_secrets():
    w = World()
    w.store.mark_deleting(HELMCHART, "kube-system", "metallb", 0)
    w.run(2)
    assert w.store.get(HELMCHART, "kube-system", "metallb")["status"]["jobName"] == "helm-delete-metallb"
    w.run(30)
    assert w.store.find(HELMCHART, "kube-system", "metallb") is None
    assert w.store.find(JOB, "kube-system", "helm-delete-metallb") is None
    assert w.store.find(DEPLOYMENT, "metallb-system", "metallb-controller") is None
    assert not [s for s in w.store.list(SECRET, "metallb-system") if s["type"] == "helm.sh/release.v1"]
    assert not [p for p in w.store.list(POD, "kube-system") if p["metadata"]["name"].startswith("helm-")]
