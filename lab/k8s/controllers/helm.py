"""K3s' helm-controller: a HelmChart (helm.cattle.io/v1) is installed as a Helm release.

The release's objects are created (and updated or pruned on upgrade) in the target
namespace, a release Secret `sh.helm.release.v1.NAME.vN` records the chart and its version
as Helm does, and the chart's status names its `helm-install-NAME` job. A HelmChartConfig
of the same name merges its valuesContent over the chart's. Deleting the chart uninstalls.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from lab.k8s import crds
from lab.k8s.charts import chart_name_version, render
from lab.k8s.controllers.base import (
    HELMCHART,
    HELMCHARTCONFIG,
    NAMESPACE,
    SECRET,
    Obj,
    deleting,
    ensure_namespace,
    set_condition,
    spec_of,
    update_if_changed,
)
from lab.k8s.resources import BY_KIND

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster


@dataclass
class Release:
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
    watches = frozenset({"HelmChart", "HelmChartConfig"})

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
                continue
            try:
                values = self._values(chart)
            except ValueError as exc:
                update_if_changed(store, HELMCHART, chart, lambda o, e=exc: _status(o, now, str(e)))
                continue
            name, version = chart_name_version(spec_of(chart).get("chart", ""), spec_of(chart).get("version"))
            target = spec_of(chart).get("targetNamespace") or key[0]
            digest = hashlib.sha256(
                json.dumps([name, version, target, values], sort_keys=True, default=str).encode()
            ).hexdigest()
            if self.cluster.store.find(NAMESPACE, "", target) is None:
                if not spec_of(chart).get("createNamespace"):
                    update_if_changed(
                        store,
                        HELMCHART,
                        chart,
                        lambda o, t=target: _status(o, now, f'namespaces "{t}" not found'),
                    )
                    continue
                ensure_namespace(store, target)
            release = self.releases.get(key)
            if release is None or release.digest != digest:
                self.releases[key] = self._install(
                    key[1], name, version, target, values, release, digest, now
                )
            update_if_changed(store, HELMCHART, chart, lambda o: _status(o, now, None))
        return None

    def _values(self, chart: Obj) -> dict[str, Any]:
        """The merged values; ValueError (the install job's failure) when they cannot be used."""
        if not spec_of(chart).get("chart"):
            raise ValueError("spec.chart is required")
        values = _mapping(spec_of(chart).get("valuesContent"))
        for path, value in (spec_of(chart).get("set") or {}).items():
            _set_path(values, str(path), value)
        config = self.cluster.store.find(
            HELMCHARTCONFIG, chart["metadata"]["namespace"], chart["metadata"]["name"]
        )
        if config is not None:
            values = merge(values, _mapping(spec_of(config).get("valuesContent")))
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
            self._uninstall(
                Release(
                    previous.digest,
                    previous.revision,
                    previous.namespace,
                    [k for k in previous.objects if k not in keep],
                )
            )
        for obj in objs:
            res = BY_KIND[obj["kind"]]
            current = store.find(res, namespace, obj["metadata"]["name"])
            if current is None:
                self.cluster.create(res, obj)
            else:
                update_if_changed(store, res, current, lambda o, new=obj: _replace(o, new))
        revision = previous.revision + 1 if previous else 1
        self._record(release, chart, version, namespace, revision, values, now)
        return Release(digest, revision, namespace, sorted(keep))

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

    def _uninstall(self, release: Release) -> None:
        for kind, ns, name in release.objects:
            obj = self.cluster.store.find(BY_KIND[kind], ns, name)
            if obj is not None:
                self.cluster.delete(BY_KIND[kind], obj)


def _replace(current: Obj, new: Obj) -> None:
    current["spec"] = new["spec"]
    current["metadata"]["labels"] = new["metadata"].get("labels", {})
    current["metadata"].setdefault("annotations", {}).update(new["metadata"].get("annotations", {}))


def _status(chart: Obj, now: float, failure: str | None) -> None:
    name, ns = chart["metadata"]["name"], chart["metadata"]["namespace"]
    status = chart.setdefault("status", {})
    status["jobName"] = f"helm-install-{name}"
    conditions = status.setdefault("conditions", [])
    set_condition(
        conditions,
        "JobCreated",
        "True",
        now,
        "Job created",
        f"Applying HelmChart using Job {ns}/helm-install-{name}",
    )
    set_condition(
        conditions, "Failed", "True" if failure else "False", now, "Error" if failure else "", failure or ""
    )
