"""What every Kubernetes route shares: the parsed path, the Lab, the JSON response."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from lab.k8s import fieldvalidation, managed, validation
from lab.k8s.errors import UnsupportedMediaType, no_such_resource
from lab.k8s.resources import Resource
from lab.k8s.store import timestamp

if TYPE_CHECKING:
    from lab.world import Lab

Obj = dict[str, Any]
LAB_KEY = web.AppKey("lab", object)
STOPPING_KEY = web.AppKey("stopping", object)  # an asyncio.Event set when the server shuts down
AUTHZ_KEY = web.AppKey("authorizer", object)  # the RBAC authorizer (lab/k8s/authorizer.py)
USER_KEY = web.RequestKey("k8s_user", object)  # the request's authenticated (or impersonated) user


@dataclass(frozen=True)
class Target:
    res: Resource
    namespace: str | None  # None: cluster-scoped, or a namespaced kind across all namespaces
    name: str | None
    sub: str | None


def parse_target(group: str, version: str, tail: str,
                 by_path: Mapping[tuple[str, str, str], Resource]) -> Target:
    """`[namespaces/NS/]PLURAL[/NAME[/SUB]]` of a served kind; anything else is the server's plain 404."""
    parts = [p for p in tail.split("/") if p]
    namespace = None
    if len(parts) >= 3 and parts[0] == "namespaces" and (group, version, parts[2]) in by_path:
        namespace, parts = parts[1], parts[2:]
    res = by_path.get((group, version, parts[0])) if parts else None
    if res is None or len(parts) > 3 or (namespace is not None and not res.namespaced):
        raise no_such_resource()
    name = parts[1] if len(parts) > 1 else None
    sub = parts[2] if len(parts) > 2 else None
    if (res.namespaced and name is not None and namespace is None) or (sub and sub not in res.subresources):
        raise no_such_resource()
    return Target(res, namespace, name, sub)


def lab_of(request: web.Request) -> Lab:
    return request.app[LAB_KEY]  # type: ignore[return-value]


def writer(request: web.Request, t: Target) -> managed.Write:
    """Who writes (for managedFields): the request's field manager, now, through which subresource."""
    now = timestamp(lab_of(request).clock.now())
    return managed.Write(t.res, fieldvalidation.field_manager(request), now, t.sub or "")


def respond(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(obj, separators=(",", ":")), status=status,
                        content_type="application/json")


def success(code: int) -> Obj:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code}


BODY_TYPES = ("application/json", "application/yaml")


async def read_object(request: web.Request, res: Resource) -> Obj:
    """The body as an object of `res`; a media type the server has no decoder for is 415."""
    # without a Content-Type the server takes its first serializer, JSON
    media = request.content_type if request.headers.get("Content-Type") else "application/json"
    if media not in BODY_TYPES:
        raise UnsupportedMediaType("the body of the request was in an unknown format - accepted media types "
                                   "include: application/json, application/yaml, "
                                   "application/vnd.kubernetes.protobuf")
    fieldvalidation.check_write_options(request)  # before the body, as the handlers do
    body = await request.read()
    # off the loop: a large body (up to 3 MiB, YAML above all) takes a while to parse and check
    obj, problems = await asyncio.to_thread(validation.decode_object_fields, body, res, media)
    fieldvalidation.report(request, problems, validation.cannot_handle_prefix(res))
    return obj


def dry_run(request: web.Request) -> bool:
    return "All" in request.query.getall("dryRun", [])


def truthy(value: str | None) -> bool:
    return value in ("1", "true", "True")
