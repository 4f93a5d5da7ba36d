"""The reviews: create-only kinds the API server answers and never stores.

SelfSubjectAccessReview / SubjectAccessReview / LocalSubjectAccessReview ask the authorizer
(`kubectl auth can-i`), SelfSubjectRulesReview lists the rules that apply in a namespace
(`kubectl auth can-i --list`), SelfSubjectReview says who you are (`kubectl auth whoami`).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from lab.k8s import validation
from lab.k8s.authorizer import Authorizer
from lab.k8s.http import AUTHZ_KEY, USER_KEY, Target, read_object, respond
from lab.k8s.rbac import Attributes, User

Obj = dict[str, Any]
Cause = tuple[str, str, str]


def _user(request: web.Request) -> User:
    return request[USER_KEY]  # type: ignore[no-any-return]


def _authorizer(request: web.Request) -> Authorizer:
    return request.app[AUTHZ_KEY]  # type: ignore[return-value]


def _answer(body: Obj, status: Obj) -> Obj:
    meta = body.get("metadata") or {}
    return {**body, "metadata": {**meta, "creationTimestamp": None}, "status": status}


def _null(value: Any) -> str:
    return "null" if value is None else json.dumps(value)


def _access_causes(spec: Obj, local_namespace: str | None) -> list[Cause]:
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    causes: list[Cause] = []
    if resource is not None and non_resource is not None:
        causes.append(("spec.nonResourceAttributes", "FieldValueInvalid",
                       f"Invalid value: {_null(non_resource)}: cannot be specified in combination with "
                       "resourceAttributes"))
    if resource is None and non_resource is None:
        causes.append(("spec.resourceAttributes", "FieldValueInvalid",
                       'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes '
                       "must be specified"))
    if local_namespace is not None and non_resource is not None:
        causes.append(("spec.nonResourceAttributes", "FieldValueInvalid",
                       f"Invalid value: {_null(non_resource)}: disallowed on this kind of request"))
    if local_namespace is not None and resource is not None \
            and resource.get("namespace", "") != local_namespace:
        causes.append(("spec.resourceAttributes.namespace", "FieldValueInvalid",
                       f'Invalid value: "{resource.get("namespace", "")}": must match metadata.namespace'))
    return causes


def _attributes(spec: Obj) -> Attributes:
    if (non := spec.get("nonResourceAttributes")) is not None:
        return Attributes(non.get("verb", ""), resource_request=False, path=non.get("path", ""))
    r = spec["resourceAttributes"]
    return Attributes(r.get("verb", ""), namespace=r.get("namespace", ""), group=r.get("group", ""),
                      version=r.get("version", ""), resource=r.get("resource", ""),
                      subresource=r.get("subresource", ""), name=r.get("name", ""))


def _access(request: web.Request, t: Target, body: Obj, user: User) -> Obj:
    spec = body.get("spec") or {}
    local = t.namespace if t.res.kind == "LocalSubjectAccessReview" else None
    causes = _access_causes(spec, local)
    if t.res.kind in ("SubjectAccessReview", "LocalSubjectAccessReview") and not spec.get("user") \
            and not spec.get("groups"):
        causes.append(("spec.user", "FieldValueInvalid",
                       'Invalid value: "": at least one of user or group must be specified'))
    if causes:
        raise validation.invalid(t.res, (body.get("metadata") or {}).get("name") or "", causes)
    allowed, reason = _authorizer(request).authorize(user, _attributes(spec))
    status: Obj = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return _answer(body, status)


def _rules(request: web.Request, body: Obj, user: User) -> Obj:
    namespace = (body.get("spec") or {}).get("namespace") or ""
    resolution = _authorizer(request).resolve(user, namespace)
    resource_rules: list[Obj] = []
    non_resource_rules: list[Obj] = []
    for rule, _ in resolution.rules:
        if rule.get("nonResourceURLs"):
            non_resource_rules.append({"verbs": rule.get("verbs") or [],
                                       "nonResourceURLs": rule["nonResourceURLs"]})
        else:
            resource_rules.append({k: rule[k] for k in ("verbs", "apiGroups", "resources", "resourceNames")
                                   if rule.get(k) or k == "verbs"})
    status: Obj = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules,
                   "incomplete": bool(resolution.errors)}
    if resolution.errors:
        status["evaluationError"] = ", ".join(resolution.errors)
    return _answer(body, status)


def _whoami(user: User) -> Obj:
    info: Obj = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        info["uid"] = user.uid
    if user.extra:
        info["extra"] = user.extra
    return {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "status": {"userInfo": info}}


def _subject(spec: Obj) -> User:
    return User(spec.get("user") or "", tuple(spec.get("groups") or ()), spec.get("uid") or "",
                dict(spec.get("extra") or {}))


async def create(request: web.Request, t: Target) -> web.Response:
    body = await read_object(request, t.res)
    body.update(kind=t.res.kind, apiVersion=t.res.api_version)
    kind, user = t.res.kind, _user(request)
    if kind == "SelfSubjectReview":
        answer = _whoami(user)
    elif kind == "SelfSubjectRulesReview":
        answer = _rules(request, body, user)
    elif kind == "SelfSubjectAccessReview":
        answer = _access(request, t, body, user)
    else:  # a SubjectAccessReview asks about the user its spec names
        answer = _access(request, t, body, _subject(body.get("spec") or {}))
    return respond(answer, 201)

