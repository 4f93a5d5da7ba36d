"""`addons install metallb|cert-manager|traefik|kube-prometheus-stack|all` and `addons status`.

Install shows exactly what it will apply, refuses before anything is created (an unknown addon,
a chart version its repository does not publish, no webhook token for Alertmanager's receiver,
the cluster lock held), then runs the journaled `addons` operation (infra/operations/addons.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table

from commands.operate import confirmed_start, held_lock, privilege_refusal, refuse
from commands.render import line
from commands.result import DONE, Confirm, Result, shown
from infra import locks
from infra.addons import readiness
from infra.addons.manifests import PLURALS, Addon
from infra.addons.spec import FIELD_MANAGER, NAMES, chosen
from infra.errors import GatewayError
from infra.operations.addons import resolve
from infra.operations.context import Context
from infra.operations.machine import Listener

PERMISSIONS = {"install": "admin", "status": "read"}
PERMISSION = PERMISSIONS["install"]  # the stricter of the two, for a check by module


def _where(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else str(meta["name"])


def _described(a: Addon) -> list[RenderableType]:
    spec = a.chart["spec"]
    if a.chart["kind"] == "HelmChart":
        head = (f"HelmChart kube-system/{a.release}: {spec['chart']} {spec['version']} from {spec['repo']} "
                f"into {a.namespace}")
    else:
        head = f"HelmChartConfig kube-system/{a.release}: values for K3s' bundled {a.release}"
    objs = [*a.before, *a.after]
    rest = [line(f"{o['kind']} {_where(o)}", indent=4) for o in objs]
    return [line(f"{a.name}", style="bold"), line(head, indent=2), *rest]


async def _rbac(ctx: Context, addons: list[Addon]) -> str | None:
    """What the Kubernetes identity may not do of this install: create and patch (server-side apply)
    every kind it applies, read the install Jobs, and the pods' logs that say why one failed."""
    assert ctx.k8s is not None
    needs = {("get", "jobs", "", "batch", "", ""), ("list", "pods", "", "", "", ""),
             ("get", "pods", "log", "", "", "")}
    for obj in (o for a in addons for o in (*a.before, a.chart, *a.after)):
        group, meta = obj["apiVersion"].rpartition("/")[0], obj["metadata"]
        # each object by its name: a rule limited to resourceNames (the Secrets) grants just these
        needs |= {(verb, PLURALS[obj["kind"]], "", group, meta.get("namespace", ""), meta["name"])
                  for verb in ("create", "patch")}
    asked = sorted(needs)
    answers = await asyncio.gather(*(ctx.k8s.can_i(*need) for need in asked))
    lacking = [f"Kubernetes {verb} {res}{'.' + group if group else ''}{'/' + sub if sub else ''}"
               for (verb, res, sub, group, _, _), allowed in zip(asked, answers, strict=True)
               if allowed is False]
    return privilege_refusal(list(dict.fromkeys(lacking)))


async def _refusal(ctx: Context, addons: list[Addon]) -> str | None:
    """Why this install cannot go ahead, found before anything is created; None when it can."""
    if rbac := await _rbac(ctx, addons):
        return rbac
    for a in addons:
        if a.name == "kube-prometheus-stack" and not ctx.webhook_token:
            return ("kube-prometheus-stack: webhooks.token is not set, so Alertmanager could not post "
                    "to drewburr")
        if a.chart["kind"] != "HelmChart":
            continue
        chart = ctx.addons.chart(a.name)
        key = f"addons.{a.name.replace('-', '_')}"
        try:
            versions = await ctx.charts.versions(chart.repo, chart.chart)
        except GatewayError as exc:
            return f"{key}.repo: cannot read the chart repository ({exc})"
        if not versions:
            return f"{key}.chart: no chart {chart.chart!r} in {chart.repo}"
        if chart.version not in versions:
            return (f"{key}.version: {chart.chart} {chart.version} does not exist in {chart.repo} "
                    f"(it has {', '.join(versions[:5])})")
    return await held_lock(ctx, [locks.CLUSTER])


async def install(ctx: Context, name: str, *, dry_run: bool = False, yes: bool = False,
                  confirm: Confirm | None = None, listener: Listener | None = None) -> Result:
    try:
        names = chosen(name)
    except ValueError as exc:
        return await refuse(ctx, "addons", name, str(exc))
    if ctx.k8s is None:
        return await refuse(ctx, "addons", name, "no Kubernetes configured (kubernetes.kubeconfig)")
    addons = [await resolve(ctx, n) for n in names]
    body = Group(line(f"Server-side apply (field manager {FIELD_MANAGER}), in order:"),
                 *[r for a in addons for r in _described(a)])
    if refusal := await _refusal(ctx, addons):  # bad input is refused on --dry-run too
        return await refuse(ctx, "addons", name, refusal, body)
    return await confirmed_start(ctx, "addons", name, {"addons": names}, body, dry_run=dry_run, yes=yes,
                                 confirm=confirm, listener=listener)


async def status(ctx: Context) -> Result:
    if ctx.k8s is None:
        return await refuse(ctx, "addons", "status", "no Kubernetes configured (kubernetes.kubeconfig)")
    states = [await readiness.state(ctx.k8s, await resolve(ctx, n)) for n in NAMES]
    table = Table(box=None, pad_edge=False)
    for column in ("ADDON", "CHART", "VERSION", "JOB", "READY", "DETAIL"):
        table.add_column(column, overflow="fold")
    for s in states:
        table.add_row(s.name, s.kind or "-", s.version or "-", s.job, "yes" if s.ready else "no", s.detail)
    return shown(DONE, table, [s.row() for s in states])
