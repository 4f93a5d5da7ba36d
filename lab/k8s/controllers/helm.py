"""K3s' helm-controller: a HelmChart (helm.cattle.io/v1) is installed as a Helm release by a Job.

For each chart the controller runs `helm-install-NAME` (image rancher/klipper-helm, the chart
in its env, lab/k8s/klipper.py) in the chart's namespace and names it in `status.jobName`;
a new spec or HelmChartConfig replaces the Job. When the Job completes the release's objects
are created (and updated or pruned on upgrade) in the target namespace, with a release Secret
`sh.helm.release.v1.NAME.vN` as Helm keeps it; when it fails (past the chart's
`backOffLimit`, 1000 by default) the chart's Failed condition says so, as K3s words it.
Deleting a chart runs `helm-delete-NAME` behind the controller's finalizer, then removes the
release's objects and Secrets. The seeded homelab's charts were installed long ago: their
Jobs exist, complete, without pods.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import yaml

from lab.k8s import crds
from lab.k8s.charts import chart_name_version, render
from lab.k8s.controllers.base import (
    HELMCHART,
    HELMCHARTCONFIG,
    JOB,
    NAMESPACE,
    SECRET,
    Obj,
    condition,
    deleting,
    ensure_namespace,
    spec_of,
    update_if_changed,
)
from lab.k8s.controllers.helm_job import (
    COMPONENT,
    FINALIZER,
    HASH,
    RETRIES_EXHAUSTED,
    claim,
    completed,
    helm_job,
    refused,
    status,
)
from lab.k8s.controllers.job import finished
from lab.k8s.resources import BY_KIND

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster


@dataclass
class Release:
    name: str
    digest: str
    revision: int
    namespace: str
    objects: list[tuple[str, str, str]] = field(default_factory=list)  # kind, namespace, name


def merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: merge(base.get(k), v) for k, v in over.items()}}
    return over


def _mapping(text: Any) -> dict[str, Any]:
    try:
        values = yaml.safe_load(text or "") or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"failed to parse values: {exc}") from None
    if not isinstance(values, dict):
        raise ValueError(
            f"cannot unmarshal {type(values).__name__} into Go value of type map[string]interface {{}}"
        )
    return values


def _set_path(values: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        nested = values.get(part)
        values = values.setdefault(part, {}) if nested is None else nested
        if not isinstance(values, dict):
            raise ValueError(f"key {part!r} in --set {path} is not a map")
    values[leaf] = value


class HelmController:
    watches = frozenset({"HelmChart", "HelmChartConfig", "Job"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster
        self.releases: dict[tuple[str, str], Release] = {}

    def run(self, now: float) -> float | None:
        store = self.cluster.store
        charts = {(c["metadata"]["namespace"], c["metadata"]["name"]): c for c in store.list(HELMCHART)}
        for key in sorted(set(self.releases) - charts.keys()):
            self._uninstall(self.releases.pop(key))
        for key, chart in charts.items():
            if deleting(chart):
                self._remove(key, chart, now)
            elif FINALIZER not in (chart["metadata"].get("finalizers") or []):
                update_if_changed(store, HELMCHART, chart, claim)
            else:
                self._reconcile(key, chart, now)
        return None

    def _reconcile(self, key: tuple[str, str], chart: Obj, now: float) -> None:
        store, spec = self.cluster.store, spec_of(chart)
        try:
            values = self._values(chart)
        except ValueError as exc:
            update_if_changed(store, HELMCHART, chart, lambda o, e=exc: refused(o, now, str(e)))
            return
        name, version = chart_name_version(spec.get("chart", ""), spec.get("version"))
        target = spec.get("targetNamespace") or key[0]
        digest = hashlib.sha256(
            json.dumps([spec.get("repo"), name, version, target, values], sort_keys=True,
                       default=str).encode()
        ).hexdigest()
        if store.find(NAMESPACE, "", target) is None:
            if not spec.get("createNamespace"):
                message = f'namespaces "{target}" not found'
                update_if_changed(store, HELMCHART, chart, lambda o: refused(o, now, message))
                return
            ensure_namespace(store, target)
        release = self.releases.get(key)
        job = self._job(chart, "install", digest, release, now)
        state = finished(job)
        if state == "Complete" and (release is None or release.digest != digest):
            self.releases[key] = self._install(key[1], name, version, target, values, release, digest, now)
        was_failed = (condition(chart, "Failed") or {}).get("status") == "True"
        update_if_changed(store, HELMCHART, chart, lambda o: status(o, job, state == "Failed", now))
        if state == "Failed" and not was_failed:
            self.cluster.recorder.record(chart, "Warning", "JobFailed", RETRIES_EXHAUSTED, COMPONENT, now)

    def _job(self, chart: Obj, action: str, digest: str, release: Release | None, now: float) -> Obj:
        """The chart's install (or delete) Job, made anew when the chart's hash changed."""
        store, meta = self.cluster.store, chart["metadata"]
        name = f"helm-{action}-{meta['name']}"
        job = store.find(JOB, meta["namespace"], name)
        if job is not None and job["spec"]["template"]["metadata"].get("annotations", {}).get(HASH) == digest:
            return job
        if job is not None:
            self.cluster.delete(JOB, job)
        job = self.cluster.create(JOB, helm_job(chart, action, digest, release.revision if release else 0))
        if self.cluster.seeding:  # installed before the lab started: the Job ran to completion then
            job = store.update(JOB, {**job, "status": completed(now)}, check_rv=False)
        source = spec_of(chart).get("chart", "")
        self.cluster.recorder.record(chart, "Normal", "ApplyJob" if action == "install" else "RemoveJob",
                                     f"Applying HelmChart from {source} using Job {meta['namespace']}/{name} "
                                     if action == "install" else
                                     f"Uninstalling HelmChart using Job {meta['namespace']}/{name} ",
                                     COMPONENT, now)
        return job

    def _remove(self, key: tuple[str, str], chart: Obj, now: float) -> None:
        """OnRemove: run the delete Job; once it completes, remove the release and the finalizer."""
        store = self.cluster.store
        if FINALIZER not in (chart["metadata"].get("finalizers") or []):
            return
        job = self._job(chart, "delete", "delete", self.releases.get(key), now)
        update_if_changed(store, HELMCHART, chart,
                          lambda o: o.setdefault("status", {}).update(jobName=job["metadata"]["name"]))
        if finished(job) != "Complete":
            return
        self._uninstall(self.releases.pop(key, None))
        meta = chart["metadata"]
        self.cluster.recorder.record(chart, "Normal", "RemoveJob", f"Uninstalled HelmChart using Job "
                                     f"{meta['namespace']}/{job['metadata']['name']}, removing resources",
                                     COMPONENT, now)
        for action in ("install", "delete"):
            done = store.find(JOB, meta["namespace"], f"helm-{action}-{meta['name']}")
            if done is not None:
                self.cluster.delete(JOB, done)
        current = store.find(HELMCHART, *key)
        if current is not None:
            store.mutate(HELMCHART, *key, lambda o: o["metadata"].update(
                finalizers=[f for f in o["metadata"].get("finalizers") or [] if f != FINALIZER]))

    def _values(self, chart: Obj) -> dict[str, Any]:
        """The merged values; ValueError (the install job's failure) when they cannot be used."""
        if not spec_of(chart).get("chart"):
            raise ValueError("spec.chart is required")
        values = _mapping(spec_of(chart).get("valuesContent"))
        config = self.cluster.store.find(
            HELMCHARTCONFIG, chart["metadata"]["namespace"], chart["metadata"]["name"]
        )
        # klipper-helm passes the chart's values, then the HelmChartConfig's, as --values files, and
        # spec.set as --set flags, which helm applies over every file
        if config is not None:
            values = merge(values, _mapping(spec_of(config).get("valuesContent")))
        for path, value in (spec_of(chart).get("set") or {}).items():
            _set_path(values, str(path), value)
        return values

    def _install(
        self,
        release: str,
        chart: str,
        version: str,
        namespace: str,
        values: dict[str, Any],
        previous: Release | None,
        digest: str,
        now: float,
    ) -> Release:
        store = self.cluster.store
        crds.install_chart_crds(store, chart, values, now)
        objs = render(chart, release, namespace, version, values)
        keep = {(o["kind"], namespace, o["metadata"]["name"]) for o in objs}
        if previous:
            stale = [k for k in previous.objects if k not in keep]
            self._uninstall(replace(previous, objects=stale), prune_only=True)
        for obj in objs:
            res = BY_KIND[obj["kind"]]
            current = store.find(res, namespace, obj["metadata"]["name"])
            if current is None:
                self.cluster.create(res, obj)
            else:
                update_if_changed(store, res, current, lambda o, new=obj: _replace(o, new))
        revision = previous.revision + 1 if previous else 1
        self._record(release, chart, version, namespace, revision, values, now)
        return Release(release, digest, revision, namespace, sorted(keep))

    def _record(
        self,
        release: str,
        chart: str,
        version: str,
        namespace: str,
        revision: int,
        values: dict[str, Any],
        now: float,
    ) -> None:
        store = self.cluster.store
        for old in store.list(SECRET, namespace):
            labels = old["metadata"].get("labels") or {}
            if (
                labels.get("owner") == "helm"
                and labels.get("name") == release
                and labels.get("status") == "deployed"
            ):
                update_if_changed(
                    store, SECRET, old, lambda o: o["metadata"]["labels"].update(status="superseded")
                )
        body = {
            "name": release,
            "namespace": namespace,
            "version": revision,
            "config": values,
            "info": {
                "status": "deployed",
                "description": "Install complete" if revision == 1 else "Upgrade complete",
            },
            "chart": {"metadata": {"name": chart, "version": version}},
        }
        blob = base64.b64encode(gzip.compress(json.dumps(body).encode(), mtime=0)).decode()
        store.create(
            SECRET,
            {
                "metadata": {
                    "name": f"sh.helm.release.v1.{release}.v{revision}",
                    "namespace": namespace,
                    "labels": {
                        "name": release,
                        "owner": "helm",
                        "status": "deployed",
                        "version": str(revision),
                    },
                },
                "type": "helm.sh/release.v1",
                "data": {"release": base64.b64encode(blob.encode()).decode()},
            },
        )

    def _uninstall(self, release: Release | None, prune_only: bool = False) -> None:
        """Delete the release's objects; `helm uninstall` also deletes its release Secrets."""
        if release is None:
            return
        for kind, ns, name in release.objects:
            obj = self.cluster.store.find(BY_KIND[kind], ns, name)
            if obj is not None:
                self.cluster.delete(BY_KIND[kind], obj)
        if prune_only:
            return
        for secret in self.cluster.store.list(SECRET, release.namespace):
            labels = secret["metadata"].get("labels") or {}
            if labels.get("owner") == "helm" and labels.get("name") == release.name:
                self.cluster.delete(SECRET, secret)


def _replace(current: Obj, new: Obj) -> None:
    current["spec"] = new["spec"]
    current["metadata"]["labels"] = new["metadata"].get("labels", {})
    current["metadata"].setdefault("annotations", {}).update(new["metadata"].get("annotations", {}))
