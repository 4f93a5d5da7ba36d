"""Pod eviction and binding (controller logic: handed to the cluster), logs, exec/attach, and scale."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from lab.k8s import managed, patch, registry, serviceaccounts, validation
from lab.k8s.errors import BadRequest, Conflict
from lab.k8s.http import Target, dry_run, lab_of, read_object, respond, success, writer
from lab.k8s.resources import Resource

Obj = dict[str, Any]
EVICTION = Resource("policy", "v1", "pods", "Eviction", True)
BINDING = Resource("", "v1", "pods", "Binding", True)
SCALE = Resource("autoscaling", "v1", "scale", "Scale", True)


async def eviction(request: web.Request, t: Target) -> web.Response:
    assert t.name is not None
    body = await read_object(request, EVICTION)
    if body.get("metadata", {}).get("name") not in (None, t.name):
        raise BadRequest("name in URL does not match name in Eviction object")
    if dry_run(request):  # propagateDryRun: the request's dry run reaches the delete options
        body.setdefault("deleteOptions", {})["dryRun"] = ["All"]
    result = lab_of(request).k8s.create_namespaced_pod_eviction(t.namespace or "", t.name, body)
    return respond(result or success(201), 201)


async def binding(request: web.Request, t: Target) -> web.Response:
    assert t.name is not None
    body = await read_object(request, BINDING)
    result = lab_of(request).k8s.create_namespaced_pod_binding(t.namespace or "", t.name, body)
    return respond(result or success(201), 201)


async def log(request: web.Request, t: Target) -> web.Response:
    assert t.name is not None
    text = lab_of(request).k8s.read_namespaced_pod_log(t.namespace or "", t.name, request.query)
    return web.Response(text=text, content_type="text/plain")


async def stream(request: web.Request, t: Target) -> web.Response:
    """exec, attach, port-forward: the API server reaches the kubelet, which in the lab runs nothing."""
    assert t.name is not None and t.sub is not None
    lab_of(request).k8s.connect_namespaced_pod(t.namespace or "", t.name, t.sub)
    raise AssertionError("connect_namespaced_pod always refuses")


@dataclass(frozen=True)
class ScalePaths:
    """Where a kind keeps its replicas: the built-in workloads' fields, or a CRD's scale paths."""
    spec: tuple[str, ...] = ("spec", "replicas")
    status: tuple[str, ...] = ("status", "replicas")
    selector: tuple[str, ...] | None = None  # a custom kind's labelSelectorPath (a selector string)


def _keys(path: Any) -> tuple[str, ...]:
    return tuple(p for p in str(path or "").split(".") if p)


def scale_paths(request: web.Request, res: Resource) -> ScalePaths:
    crd = registry.crd_of(lab_of(request).k8s.store, res)
    if crd is None:
        return ScalePaths()
    version = next((v for v in crd["spec"]["versions"] if v.get("name") == res.version), {})
    scale = (version.get("subresources") or {}).get("scale") or {}
    selector = _keys(scale.get("labelSelectorPath"))
    return ScalePaths(_keys(scale.get("specReplicasPath")), _keys(scale.get("statusReplicasPath")),
                      selector or None)


def _at(obj: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def scale_of(obj: Obj, paths: ScalePaths = ScalePaths()) -> Obj:
    meta = obj["metadata"]
    if paths.selector is None:
        labels = (_at(obj, ("spec", "selector")) or {}).get("matchLabels") or {}
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
    else:
        selector = _at(obj, paths.selector) if isinstance(_at(obj, paths.selector), str) else ""
    replicas = _at(obj, paths.status)
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": {"replicas": _at(obj, paths.spec) or 0},
            "status": {"replicas": replicas if isinstance(replicas, int) else 0, "selector": selector}}


def _set(obj: Obj, keys: tuple[str, ...], value: Any) -> None:
    for key in keys[:-1]:
        if not isinstance(obj.get(key), dict):
            obj[key] = {}
        obj = obj[key]
    obj[keys[-1]] = value


async def get_scale(request: web.Request, t: Target) -> web.Response:
    assert t.name is not None
    obj = lab_of(request).k8s.store.get(t.res, t.namespace or "", t.name)
    return respond(scale_of(obj, scale_paths(request, t.res)))


async def write_scale(request: web.Request, t: Target) -> web.Response:
    assert t.name is not None
    raw = await request.read()
    store = lab_of(request).k8s.store
    current = store.get(t.res, t.namespace or "", t.name)  # after the body: no change slips in between
    paths = scale_paths(request, t.res)
    if request.method == "PATCH":
        scale = patch.apply_patch(scale_of(current, paths), request.content_type,
                                  validation.decode(raw, SCALE, request.content_type), custom=False,
                                  field_manager=request.query.get("fieldManager"))
        validation.check_patched(SCALE, scale)
    else:
        scale = validation.decode_object(raw, SCALE, request.content_type)
    replicas = (scale.get("spec") or {}).get("replicas") if isinstance(scale, dict) else None
    if not isinstance(replicas, int) or replicas < 0:
        raise validation.invalid(SCALE, t.name, [("spec.replicas", "FieldValueInvalid",
                                                  f"Invalid value: {json.dumps(replicas)}: must be greater "
                                                  "than or equal to 0")])
    sent_rv = (scale.get("metadata") or {}).get("resourceVersion")
    if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
        raise Conflict.stale(t.res.plural, t.name, t.res.group)
    updated = copy.deepcopy(current)
    _set(updated, paths.spec, replicas)  # a custom object may have no spec yet
    managed.update(current, updated, writer(request, t))
    if dry_run(request):
        return respond(scale_of(updated, paths))
    return respond(scale_of(store.update(t.res, updated, check_rv=False), paths))


HANDLERS = {
    ("eviction", "POST"): eviction, ("binding", "POST"): binding, ("log", "GET"): log,
    ("token", "POST"): serviceaccounts.token,
    **{(sub, method): stream for sub in ("exec", "attach", "portforward") for method in ("GET", "POST")},
    ("scale", "GET"): get_scale, ("scale", "PUT"): write_scale, ("scale", "PATCH"): write_scale,
}
