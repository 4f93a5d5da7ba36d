"""Kubernetes resource routes: parse the path and query, call the store or the cluster, serialize.

Every kind in resources.py is served at its real paths:
`/api/v1[/namespaces/NS]/PLURAL[/NAME[/SUB]]` and `/apis/GROUP/VERSION/...` likewise.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from lab.k8s import (
    conversion,
    crds,
    defaults,
    fieldvalidation,
    gc,
    lists,
    managed,
    patch,
    rbac_admission,
    registry,
    reviews,
    strategies,
    subresources,
    tables,
    validation,
)
from lab.k8s import watch as watches
from lab.k8s.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    K8sError,
    MethodNotAllowed,
    NotFound,
    no_such_resource,
    object_details,
)
from lab.k8s.http import (
    AUTHZ_KEY,
    STOPPING_KEY,
    USER_KEY,
    Target,
    dry_run,
    lab_of,
    parse_target,
    read_object,
    respond,
    truthy,
    writer,
)
from lab.k8s.requestinfo import request_attributes
from lab.k8s.resources import BY_KIND, CREATE_ONLY, Resource

if TYPE_CHECKING:
    from lab.world import Lab

Obj = dict[str, Any]
NAMESPACES = BY_KIND["Namespace"]
IMMORTAL_NAMESPACES = {"default", "kube-system", "kube-public"}
RETURNS_DELETED_OBJECT = {"Pod", "Service", "Namespace"}  # the registries with ReturnDeletedObject
CREATE_ON_UPDATE = {"Lease", "Endpoints", "Event"}  # the registries with AllowCreateOnUpdate


async def resource(request: web.Request) -> web.StreamResponse:
    m = request.match_info
    t = parse_target(m.get("group", ""), m.get("version", "v1"), m["tail"],
                     registry.served(lab_of(request).k8s.store).by_path)
    method = request.method
    if t.res.kind in CREATE_ONLY and not t.res.custom:
        if t.name is not None:
            raise no_such_resource()
        if method != "POST":
            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        return await reviews.create(request, t)
    if t.name is None:
        handler = {"GET": _list_or_watch, "POST": _create, "DELETE": _delete_collection}.get(method)
        if method == "POST" and t.namespace is None and t.res.namespaced:
            handler = None
    elif t.sub is None:
        handler = {"GET": _get, "PUT": _replace, "PATCH": _patch, "DELETE": _delete}.get(method)
    elif t.sub == "status":
        handler = {"GET": _get, "PUT": _replace, "PATCH": _patch}.get(method)
    else:
        handler = subresources.HANDLERS.get((t.sub, method))
    if handler is None:
        raise MethodNotAllowed("the server does not allow this method on the requested resource")
    return await handler(request, t)


# reads

def _as_table(request: web.Request) -> str | None:
    """None for plain objects; for a Table, what its rows embed (TableOptions.includeObject)."""
    if not tables.wants_table(request.headers.get("Accept", "")):
        return None
    include = request.query.get("includeObject", "Metadata")
    if include not in ("None", "Metadata", "Object"):
        raise BadRequest(f'unrecognized includeObject value: "{include}"')  # apiserver's asTable
    return include


def _columns(lab: Lab, res: Resource) -> list[tables.Column] | None:
    return tables.printer_columns(registry.crd_of(lab.k8s.store, res), res.version)


def _table(lab: Lab, res: Resource, items: list[Obj], list_meta: Obj, include: str) -> Obj:
    return tables.table(res, items, list_meta, lab.clock.now(), include, _columns(lab, res))


def _watch_table(lab: Lab, res: Resource, include: str) -> Callable[[Obj], Obj]:
    """A watch's rows keep the columns of its start, even once the CRD that named them is gone."""
    columns = _columns(lab, res)
    return lambda o: tables.table(res, [o], {}, lab.clock.now(), include, columns)


async def _get(request: web.Request, t: Target) -> web.Response:
    assert t.name is not None
    lab = lab_of(request)
    obj = lab.k8s.store.get(t.res, t.namespace or "", t.name)
    if (include := _as_table(request)) and t.sub is None:
        return respond(_table(lab, t.res, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]},
                              include))
    return respond(registry.present(t.res, obj))


async def _list_or_watch(request: web.Request, t: Target) -> web.StreamResponse:
    q = request.query
    labels = lists.label_filter(q.get("labelSelector"))
    fields = lists.field_filter(q.get("fieldSelector"), t.res)
    lab = lab_of(request)
    lists.check_list_options(q, truthy(q.get("watch")))
    if not truthy(q.get("watch")):
        await watches.wait_until_fresh(lab.k8s.store, q.get("resourceVersion", ""))
        body = lists.list_body(lab.k8s.store, t.res, t.namespace, lambda o: labels(o) and fields(o),
                               q.get("limit"), q.get("continue"))
        if include := _as_table(request):
            body = _table(lab, t.res, body["items"], body["metadata"], include)
        return respond(body)
    try:
        timeout = float(q.get("timeoutSeconds") or watches.DEFAULT_TIMEOUT)
    except ValueError:
        raise BadRequest(f'timeoutSeconds: Invalid value: "{q["timeoutSeconds"]}"') from None
    include = _as_table(request)
    req = watches.WatchRequest(
        t.res, t.namespace, lambda o: labels(o) and fields(o),
        watches.parse_rv(q.get("resourceVersion", "")), truthy(q.get("allowWatchBookmarks")), timeout,
        _watch_table(lab, t.res, include) if include else None)
    scale = float(getattr(lab.clock, "scale", 1.0))
    return await watches.serve(request, lab.k8s.store, req, scale, request.app[STOPPING_KEY])  # type: ignore[arg-type]


# writes

def _require_namespace(lab: Lab, namespace: str | None) -> None:
    if namespace is not None and lab.k8s.store.find(NAMESPACES, "", namespace) is None:
        raise NotFound.of("namespaces", namespace)


def _check_schema(request: web.Request, t: Target, obj: Obj, current: Obj | None = None) -> None:
    """A custom object against its CRD's schema; a CRD against the apiextensions rules."""
    if t.res.custom:
        pruned: list[str] = []
        causes = crds.admit(registry.crd_of(lab_of(request).k8s.store, t.res), t.res, obj, pruned)
        # the decoder's words: a whole object "cannot be handled"; a patch's result is just strict
        prefix = validation.cannot_handle_prefix(t.res) if request.method in ("POST", "PUT") else ""
        fieldvalidation.report(request, fieldvalidation.unknown(pruned), prefix)
    elif t.res.kind == "CustomResourceDefinition":
        causes = crds.check_definition(obj, current)
    else:
        return
    if causes:
        raise validation.invalid(t.res, obj["metadata"].get("name") or "", causes)


def _admit_rbac(request: web.Request, t: Target, obj: Obj, current: Obj | None) -> None:
    """An RBAC object's own validation, then the escalation check against the writer's rules."""
    if t.res.group == rbac_admission.GROUP:
        rbac_admission.check(t.res, obj, current)
        rbac_admission.confirm_no_escalation(request.app[AUTHZ_KEY], request[USER_KEY], t.res, obj,  # type: ignore[arg-type]
                                             obj["metadata"].get("namespace") or "")


def _create_checked(request: web.Request, t: Target, obj: Obj, *, applied: bool = False) -> web.Response:
    strategies.normalize(t.res.kind, obj)
    validation.check_target(t.res, obj, t.namespace, t.name)
    validation.check_object(t.res, obj, creating=True)
    if t.res.custom and "status" in t.res.subresources:
        obj.pop("status", None)  # with a status subresource, status is not set on create
    _check_schema(request, t, obj)
    _admit_rbac(request, t, obj, None)
    if obj["metadata"].get("resourceVersion"):
        raise K8sError("resourceVersion should not be set on objects to be created")
    lab = lab_of(request)
    _require_namespace(lab, t.namespace)
    if not applied:
        managed.update(None, obj, writer(request, t))
    obj["kind"], obj["apiVersion"] = t.res.kind, t.res.api_version
    obj = conversion.stored(t.res, obj)
    lab.k8s.prepare_create(t.res, obj)
    if t.res.kind == "CustomResourceDefinition":
        crds.accept(lab.k8s.store, obj, lab.clock.now())
    if dry_run(request):
        return respond(conversion.served(t.res, obj), 201)
    return respond(conversion.served(t.res, lab.k8s.store.create(t.res, obj)), 201)


async def _create(request: web.Request, t: Target) -> web.Response:
    return _create_checked(request, t, await read_object(request, t.res))


def _keep_subresource_fields(t: Target, current: Obj, new: Obj) -> Obj:
    """A main-resource write leaves status alone; a status write changes only status."""
    if "status" not in t.res.subresources:
        return new
    if t.sub == "status":
        result = copy.deepcopy(current)
        if "status" in new:
            result["status"] = new["status"]
        result["metadata"]["resourceVersion"] = new.get("metadata", {}).get("resourceVersion")
        if "managedFields" in new.get("metadata", {}):  # what an apply to /status recorded
            result["metadata"]["managedFields"] = new["metadata"]["managedFields"]
        return result
    if "status" in current:
        new["status"] = current["status"]
    else:
        new.pop("status", None)
    return new


def _update(request: web.Request, t: Target, current: Obj, new: Obj, *,
            applied: bool = False) -> web.Response:
    new = _keep_subresource_fields(t, current, new)
    if t.sub is None:
        defaults.on_update(t.res.kind, new)
    strategies.normalize(t.res.kind, new)
    if not applied:
        managed.update(current, new, writer(request, t))
    validation.check_target(t.res, new, t.namespace, t.name)
    validation.check_object(t.res, new, creating=False)
    if causes := strategies.update_causes(t.res.kind, current, new):
        raise validation.invalid(t.res, current["metadata"]["name"], causes)
    _check_schema(request, t, new, current)
    _admit_rbac(request, t, new, current)
    store = lab_of(request).k8s.store
    if t.res.kind == "CustomResourceDefinition" and t.sub is None:
        crds.accept(store, new, lab_of(request).clock.now())
    if dry_run(request):
        return respond(conversion.served(t.res, new))
    if _same(current, new):  # a no-op write keeps its resourceVersion and wakes no watcher
        if new["metadata"].get("resourceVersion") not in (None, current["metadata"]["resourceVersion"]):
            raise Conflict.stale(t.res.plural, current["metadata"]["name"], t.res.group)
        return respond(registry.present(t.res, current))
    return respond(registry.present(t.res, store.update(t.res, new)))


def _same(current: Obj, new: Obj) -> bool:
    def content(obj: Obj) -> Obj:
        meta = {k: v for k, v in obj["metadata"].items()
                if k not in ("resourceVersion", "uid", "creationTimestamp", "generation")}
        return {**{k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}, "metadata": meta}
    return content(current) == content(new)


async def _replace(request: web.Request, t: Target) -> web.Response:
    assert t.name is not None
    obj = conversion.stored(t.res, await read_object(request, t.res))
    validation.check_target(t.res, obj, t.namespace, t.name)
    current = lab_of(request).k8s.store.find(t.res, t.namespace or "", t.name)
    if current is None and t.res.kind in CREATE_ON_UPDATE and t.sub is None:
        return _create_checked(request, t, obj)
    if current is None:
        raise NotFound.of(t.res.plural, t.name, t.res.group)
    if not obj["metadata"].get("resourceVersion"):
        # a PUT without resourceVersion is an unconditional update, as the server allows
        obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    return _update(request, t, current, obj)


async def _patch(request: web.Request, t: Target) -> web.Response:
    assert t.name is not None
    ctype, raw = request.content_type, await request.read()
    # read after the body: nothing may change the object between this read and the write
    current = lab_of(request).k8s.store.find(t.res, t.namespace or "", t.name)
    fieldvalidation.check_write_options(request)
    if ctype == patch.APPLY_PATCH:
        return _apply(request, t, current, raw)
    if "force" in request.query:
        raise fieldvalidation.options_invalid(request, "force", "FieldValueForbidden",
                                              "Forbidden: may not be specified for non-apply patch")
    if current is None:
        raise NotFound.of(t.res.plural, t.name, t.res.group)
    body, repeated = validation.decode_fields(raw, t.res, ctype)
    patched = patch.apply_patch(conversion.served(t.res, current), ctype, body, custom=t.res.custom)
    fieldvalidation.report(request, repeated + validation.check_patched(t.res, patched))
    return _update(request, t, current, _same_version(t, current, conversion.stored(t.res, patched)))


def _same_version(t: Target, current: Obj, patched: Obj) -> Obj:
    meta = patched.setdefault("metadata", {})
    if meta.get("resourceVersion") not in (None, current["metadata"]["resourceVersion"]):
        raise Conflict.stale(t.res.plural, current["metadata"]["name"], t.res.group)
    meta["resourceVersion"] = current["metadata"]["resourceVersion"]
    return patched


def _apply(request: web.Request, t: Target, current: Obj | None, raw: bytes) -> web.Response:
    """Server-side apply: the body is the manager's whole intent for the fields it names."""
    patch.require_field_manager(request.query.get("fieldManager"))
    config, repeated = validation.decode_fields(raw, t.res, patch.APPLY_PATCH)
    if not isinstance(config, dict):
        raise BadRequest("error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot "
                         f"unmarshal {validation.go_type(config)} into Go value of type "
                         "map[string]interface {}")
    if (gvk := managed.gvk(config)) != managed.gvk({"apiVersion": t.res.api_version, "kind": t.res.kind}):
        raise BadRequest(f"invalid object type: {gvk}")  # the fieldmanager's version check
    fieldvalidation.report(request, repeated)
    if current is None and t.sub is not None:
        raise NotFound.of(t.res.plural, t.name or "", t.res.group)
    merged = managed.apply(current, config, writer(request, t), truthy(request.query.get("force")))
    validation.check_patched(t.res, merged)
    if current is None:
        asked = request_attributes(request.method, request.path, request.query)
        rbac_admission.confirm_create_on_apply(request.app[AUTHZ_KEY], request[USER_KEY], asked)  # type: ignore[arg-type]
        merged["metadata"].pop("resourceVersion", None)
        return _create_checked(request, t, merged, applied=True)
    return _update(request, t, current, _same_version(t, current, merged), applied=True)


# deletes

def _check_preconditions(t: Target, obj: Obj, options: Obj) -> None:
    pre = options.get("preconditions") or {}
    meta = obj["metadata"]
    for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
        if pre.get(field) and pre[field] != meta.get(field):
            raise Conflict.precondition(t.res.plural, meta["name"], t.res.group, label, pre[field],
                                        meta.get(field))


async def _delete_options(request: web.Request) -> Obj:
    fieldvalidation.check_dry_run(request)
    raw = await request.read()
    options: Any = {}
    if raw.strip():
        try:
            options = json.loads(raw)
        except json.JSONDecodeError:
            options = None
    if not isinstance(options, dict):
        raise BadRequest("the body of the request was in an unknown format - accepted media types "
                         "include: application/json, application/yaml")
    for key in ("gracePeriodSeconds", "propagationPolicy"):
        if key in request.query:
            options[key] = request.query[key]
    grace = options.get("gracePeriodSeconds")
    if grace is not None:
        try:
            options["gracePeriodSeconds"] = int(grace)
        except (TypeError, ValueError):
            raise BadRequest(f'gracePeriodSeconds: Invalid value: "{grace}"') from None
    return options


def _empty_namespace(lab: Lab, namespace: str) -> None:
    """What the namespace controller does before it removes a deleted namespace."""
    for res in list(registry.kinds(lab.k8s.store)):
        if res.namespaced:
            for obj in lab.k8s.store.list(res, namespace):
                delete_one(lab, Target(res, namespace, None, None), obj["metadata"]["name"],
                           {"gracePeriodSeconds": 0})


def delete_one(lab: Lab, t: Target, name: str, options: Obj) -> Obj:
    """Delete one object the way its registry does; returns what the server answers."""
    store = lab.k8s.store
    ns = t.namespace or ""
    obj = store.get(t.res, ns, name)
    _check_preconditions(t, obj, options)
    if t.res.kind == "Pod":
        return lab.k8s.delete_namespaced_pod(ns, name, options.get("gracePeriodSeconds"))
    if t.res.kind == "Namespace" and name in IMMORTAL_NAMESPACES:  # the NamespaceLifecycle admission plugin
        raise Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                        {"name": name, "kind": "namespaces"})
    gc.cascade(lab, obj, options.get("propagationPolicy") or "Background")
    if t.res.kind == "Namespace":
        _empty_namespace(lab, name)
    if t.res.kind == "CustomResourceDefinition":
        crds.remove_objects(store, obj)
    if obj["metadata"].get("finalizers"):
        return store.mark_deleting(t.res, ns, name, 0)
    gone = store.remove(t.res, ns, name)
    if t.res.kind == "Namespace":
        return {**gone, "status": {"phase": "Terminating"}}
    if t.res.kind in RETURNS_DELETED_OBJECT:
        return gone
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {**object_details(t.res.plural, name, t.res.group), "uid": gone["metadata"]["uid"]}}


async def _delete(request: web.Request, t: Target) -> web.Response:
    assert t.name is not None
    options = await _delete_options(request)
    lab = lab_of(request)
    if dry_run(request):  # what would be deleted, left in place
        obj = lab.k8s.store.get(t.res, t.namespace or "", t.name)
        _check_preconditions(t, obj, options)
        return respond(registry.present(t.res, obj))
    return respond(registry.present(t.res, delete_one(lab, t, t.name, options)))


async def _delete_collection(request: web.Request, t: Target) -> web.Response:
    q = request.query
    labels = lists.label_filter(q.get("labelSelector"))
    fields = lists.field_filter(q.get("fieldSelector"), t.res)
    options = await _delete_options(request)
    lab = lab_of(request)
    doomed = [o for o in lab.k8s.store.list(t.res, t.namespace) if labels(o) and fields(o)]
    if not dry_run(request):
        doomed = [delete_one(lab, Target(t.res, o["metadata"].get("namespace"), None, None),
                             o["metadata"]["name"], options) for o in doomed]
    return respond({"kind": f"{t.res.kind}List", "apiVersion": t.res.api_version,
                    "metadata": {"resourceVersion": str(lab.k8s.store.resource_version)},
                    "items": [o for o in doomed if o.get("kind") != "Status"]})


def add_routes(app: web.Application) -> None:
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        app.router.add_route(method, "/api/v1/{tail:.+}", resource)
        app.router.add_route(method, "/apis/{group}/{version}/{tail:.+}", resource)
