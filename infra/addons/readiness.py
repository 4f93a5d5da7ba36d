"""How far an addon is: its install Job, its CRDs, its release's workloads, its ClusterIssuers.

Read through the Kubernetes API only, as `kubectl get` would; `addons install` waits on these and
`addons status` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.addons.manifests import ACME, CHARTS_NAMESPACE, Addon
from infra.gateways.k8s import K8sGateway
from infra.gateways.k8s_models import ObjectInfo

RELEASE = "meta.helm.sh/release-name"
WORKLOADS = ("deployments", "statefulsets", "daemonsets")


def job_outcome(job: ObjectInfo | None) -> str:
    """Complete, Failed, Running, or absent (no Job: not installed by the helm-controller yet)."""
    if job is None:
        return "absent"
    return next((kind for kind in ("Complete", "Failed") if job.true(kind)), "Running")


async def install_job(k8s: K8sGateway, release: str) -> ObjectInfo | None:
    return await k8s.get_object("batch/v1", "jobs", CHARTS_NAMESPACE, f"helm-install-{release}")


async def missing_crds(k8s: K8sGateway, names: tuple[str, ...]) -> list[str]:
    """The CRDs not yet Established (absent ones included)."""
    missing = []
    for name in names:
        crd = await k8s.get_object("apiextensions.k8s.io/v1", "customresourcedefinitions", None, name)
        if crd is None or not crd.true("Established"):
            missing.append(name)
    return missing


async def unready_workloads(k8s: K8sGateway, namespace: str, release: str) -> tuple[int, list[str]]:
    """How many workloads the release has, and those not ready (`Deployment/metallb-controller`)."""
    total, unready = 0, []
    for plural in WORKLOADS:
        for obj in await k8s.list_objects("apps/v1", plural, namespace):
            if obj.annotations.get(RELEASE) != release:
                continue
            total += 1
            if obj.ready < obj.wanted:
                unready.append(f"{obj.kind}/{obj.name}")
    return total, unready


async def unready_issuers(k8s: K8sGateway) -> dict[str, str]:
    """The Let's Encrypt ClusterIssuers that are not Ready, with why."""
    found = {}
    for name in ACME:
        issuer = await k8s.get_object("cert-manager.io/v1", "clusterissuers", None, name)
        if issuer is None:
            found[name] = "absent"
        elif not issuer.true("Ready"):
            ready = issuer.conditions.get("Ready")
            found[name] = ready.message if ready and ready.message else "not Ready yet"
    return found


@dataclass(frozen=True)
class AddonState:
    name: str
    kind: str  # HelmChart, HelmChartConfig (K3s' bundled chart), or "" when absent
    version: str
    job: str
    ready: bool
    detail: str

    def row(self) -> dict[str, Any]:
        return {"addon": self.name, "chart": self.kind or "-", "version": self.version or "-",
                "job": self.job, "ready": self.ready, "detail": self.detail}


async def state(k8s: K8sGateway, addon: Addon) -> AddonState:
    plural = f"{addon.chart['kind'].lower()}s"
    chart = await k8s.get_object("helm.cattle.io/v1", plural, CHARTS_NAMESPACE, addon.release)
    job = job_outcome(await install_job(k8s, addon.release))
    if chart is None:
        return AddonState(addon.name, "", "", job, False, "not installed")
    version = str(chart.spec.get("version") or "")
    if addon.chart["kind"] == "HelmChartConfig":  # K3s' bundled chart: its version is in its URL
        bundled = await k8s.get_object("helm.cattle.io/v1", "helmcharts", CHARTS_NAMESPACE, addon.release)
        url = str(bundled.spec.get("chart", "")) if bundled else ""
        version = url.rsplit("/", 1)[-1].removesuffix(".tgz").removeprefix(f"{addon.release}-")
    problems = []
    if missing := await missing_crds(k8s, addon.crds):
        problems.append(f"CRDs not established: {', '.join(missing)}")
    total, unready = await unready_workloads(k8s, addon.namespace, addon.release)
    problems += [f"not ready: {', '.join(unready)}"] if unready else []
    if addon.name == "cert-manager" and (issuers := await unready_issuers(k8s)):
        problems.append("; ".join(f"ClusterIssuer {n}: {why}" for n, why in issuers.items()))
    ready = job == "Complete" and not problems and total > 0
    counted = f"{total} workload{'s' * (total != 1)} ready" if total else "no workloads yet"
    detail = "; ".join(problems) or counted
    return AddonState(addon.name, chart.kind, version, job, ready, detail)
