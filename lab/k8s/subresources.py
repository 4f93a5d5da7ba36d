"""Pod eviction and binding (controller logic: handed to the cluster), logs, exec/attach, and scale."""

from __future__ import annotations

import copy
import json
from typing import Any

from aiohttp import web

from lab.k8s import managed, patch, validation
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


def scale_of(obj: Obj) -> Obj:
    meta = obj["metadata"]
    selector = (obj.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": {"replicas": obj.get("spec", {}).get("replicas", 0)},
            "status": {"replicas": obj.get("status", {}).get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in selector.items())}}


async def get_scale(request: web.Request, t: Target) -> web.Response:
    assert t.name is not None
    return respond(scale_of(lab_of(request).k8s.store.get(t.res, t.namespace or "", t.name)))


async def write_scale(request: web.Request, t: Target) -> web.Response:
    assert t.name is not None
    raw = await request.read()
    store = lab_of(request).k8s.store
    current = store.get(t.res, t.namespace or "", t.name)  # after the body: no change slips in between
    if request.method == "PATCH":
        scale = patch.apply_patch(scale_of(current), request.content_type,
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
    updated["spec"]["replicas"] = replicas
    managed.update(current, updated, writer(request, t))
    if dry_run(request):
        return respond(scale_of(updated))
    return respond(scale_of(store.update(t.res, updated, check_rv=False)))


HANDLERS = {
    ("eviction", "POST"): eviction, ("binding", "POST"): binding, ("log", "GET"): log,
    **{(sub, method): stream for sub in ("exec", "attach", "portforward") for method in ("GET", "POST")},
    ("scale", "GET"): get_scale, ("scale", "PUT"): write_scale, ("scale", "PATCH"): write_scale,
}
