"""`addons install NAME|all`: each addon through K3s' helm-controller, then its own objects.

Per addon two steps: `NAME chart` applies what the chart's pods need first (a Secret), then the
HelmChart (or the HelmChartConfig of K3s' bundled Traefik), and waits for the install Job to
complete, the chart's CRDs to be established and its workloads to be ready; `NAME objects`
applies the objects of the chart's kinds (MetalLB's pool, cert-manager's ClusterIssuers, the
PrometheusRule) and waits for the issuers to be Ready. Everything is server-side applied by the
`drewburr` field manager, so a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from infra.addons import readiness
from infra.addons.manifests import CHARTS_NAMESPACE, PLURALS, Addon, addon, is_bundled
from infra.addons.spec import FIELD_MANAGER
from infra.errors import Fatal
from infra.gateways.k8s import K8sGateway
from infra.gateways.k8s_models import ObjectInfo
from infra.operations.context import Context
from infra.operations.machine import Step

Json = dict[str, Any]


def _k8s(ctx: Context) -> K8sGateway:
    if ctx.k8s is None:
        raise Fatal("no Kubernetes configured (kubernetes.kubeconfig)")
    return ctx.k8s


async def resolve(ctx: Context, name: str) -> Addon:
    """The addon's objects for this cluster (Traefik: is K3s' own chart there?)."""
    bundled = await _k8s(ctx).get_object("helm.cattle.io/v1", "helmcharts", CHARTS_NAMESPACE, "traefik")
    return addon(ctx.addons, name, webhook_token=ctx.webhook_token or "",
                 bundled_traefik=is_bundled(bundled.spec if bundled else None))


Applied = dict[str, tuple[ObjectInfo | None, ObjectInfo]]


async def apply_all(k8s: K8sGateway, objs: list[Json]) -> Applied:
    """Apply each object: `Kind/name` -> (the object before, after) for those the apply changed
    (a new resourceVersion; a first apply over another manager's object changes managedFields only)."""
    changed = {}
    for obj in objs:
        meta = obj["metadata"]
        plural = PLURALS[obj["kind"]]
        before = await k8s.get_object(obj["apiVersion"], plural, meta.get("namespace"), meta["name"])
        after = await k8s.apply(obj, plural, FIELD_MANAGER)
        if before is None or before.resource_version != after.resource_version:
            changed[f"{obj['kind']}/{meta['name']}"] = (before, after)
    return changed


async def until(ctx: Context, what: str, check: Callable[[], Awaitable[str | None]]) -> None:
    """Poll `check` (None: done; else what is still awaited) until done or the addon timeout."""
    waiting = ""

    async def done() -> bool | None:
        nonlocal waiting
        waiting = await check() or ""
        return None if waiting else True

    await ctx.poll_until(done, ctx.options.addon_timeout_seconds, lambda: f"{what} ({waiting})")


async def install_chart(ctx: Context, a: Addon) -> str:
    k8s = _k8s(ctx)
    old = await readiness.install_job(k8s, a.release)
    changed = await apply_all(k8s, [*a.before, a.chart])
    before, after = changed.get(f"{a.chart['kind']}/{a.release}", (None, None))
    # a new spec makes the helm-controller replace the Job: wait for the new one, not the old outcome
    respec = before is not None and after is not None and before.spec != after.spec
    old_uid = old.uid if old and respec else None

    async def installed() -> str | None:
        job = await readiness.install_job(k8s, a.release)
        if job is None or job.uid == old_uid:  # the controller has not replaced it yet
            return "waiting for the helm-controller's Job"
        outcome = readiness.job_outcome(job)
        if outcome == "Complete":
            return None
        # helm retries a failed install up to the chart's backOffLimit (1000): its first error is the answer
        if why := await k8s.pod_failure(CHARTS_NAMESPACE, f"job-name={job.name}"):
            raise Fatal(f"helm-install-{a.release} failed: {why}")
        return f"Job helm-install-{a.release} {outcome.lower()}"

    async def crds() -> str | None:
        missing = await readiness.missing_crds(k8s, a.crds)
        # a chart's CRDs come with its release; cert-manager's only with crds.enabled in its values
        return f"waiting for CRDs {', '.join(missing)} (the release installs them)" if missing else None

    async def workloads() -> str | None:
        total, unready = await readiness.unready_workloads(k8s, a.namespace, a.release)
        return "no workload of the release yet" if not total else (
            f"not ready: {', '.join(unready)}" if unready else None)

    await until(ctx, f"{a.name} install", installed)
    await until(ctx, f"{a.name} CRDs", crds)
    await until(ctx, f"{a.name} workloads", workloads)
    return f"applied {', '.join(changed)}; installed" if changed else "unchanged; installed"


async def apply_objects(ctx: Context, a: Addon) -> str:
    k8s = _k8s(ctx)
    changed = await apply_all(k8s, a.after)
    if a.name == "cert-manager":
        async def issuers() -> str | None:
            unready = await readiness.unready_issuers(k8s)
            return "; ".join(f"{n}: {why}" for n, why in unready.items()) or None
        await until(ctx, "ClusterIssuers Ready", issuers)
    names = ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in a.after) or "nothing"
    return f"applied {', '.join(changed)}" if changed else f"unchanged: {names}"


def addons_steps(ctx: Context, names: list[str]) -> list[Step]:
    steps = []
    for name in names:
        async def chart(name: str = name) -> str:
            return await install_chart(ctx, await resolve(ctx, name))

        async def objects(name: str = name) -> str:
            return await apply_objects(ctx, await resolve(ctx, name))
        steps += [Step(f"{name} chart", chart), Step(f"{name} objects", objects)]
    return steps
