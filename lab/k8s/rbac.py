"""RBAC's pure parts: who a request is, what it asks, whether a rule allows it, and the 403's words.

The rule matching follows the RBAC authorizer (plugin/pkg/auth/authorizer/rbac): `*` matches
any verb, group or resource; `*/SUB` matches that subresource of any resource; resourceNames
restrict to named objects (so never a list or a create); nonResourceURLs match exactly or by a
trailing `*`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lab.k8s.errors import Forbidden, object_details, qualified

Rule = dict[str, Any]
SA_PREFIX = "system:serviceaccount:"
AUTHENTICATED, MASTERS = "system:authenticated", "system:masters"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...]
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict, hash=False, compare=False)


def service_account_user(namespace: str, name: str, uid: str = "") -> User:
    """A ServiceAccount's identity, as the service account authenticator names it."""
    return User(f"{SA_PREFIX}{namespace}:{name}",
                ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED), uid)


def split_service_account(username: str) -> tuple[str, str] | None:
    """(namespace, name) of a `system:serviceaccount:NS:NAME` user, else None."""
    if not username.startswith(SA_PREFIX):
        return None
    namespace, _, name = username[len(SA_PREFIX):].partition(":")
    return (namespace, name) if namespace and name and ":" not in name else None


@dataclass(frozen=True)
class Attributes:
    """authorizer.Attributes: what one request asks to do."""
    verb: str
    resource_request: bool = True
    namespace: str = ""
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""


def _has(values: list[str] | None, wanted: str) -> bool:
    return bool(values) and ("*" in values or wanted in values)  # type: ignore[operator]


def _resource_matches(rule: Rule, resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for allowed in rule.get("resources") or []:
        if allowed in ("*", combined) or (subresource and allowed == f"*/{subresource}"):
            return True
    return False


def _url_matches(rule: Rule, path: str) -> bool:
    for allowed in rule.get("nonResourceURLs") or []:
        if allowed in ("*", path) or (allowed.endswith("*") and path.startswith(allowed[:-1])):
            return True
    return False


def rule_allows(rule: Rule, attrs: Attributes) -> bool:
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.resource_request:
        return _url_matches(rule, attrs.path)
    names = rule.get("resourceNames") or []
    return (_has(rule.get("apiGroups"), attrs.group)
            and _resource_matches(rule, attrs.resource, attrs.subresource)
            and (not names or attrs.name in names))


def _message(user: User, attrs: Attributes) -> str:
    """responsewriters.forbiddenMessage."""
    if not attrs.resource_request:
        return f'User "{user.name}" cannot {attrs.verb} path "{attrs.path}"'
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return (f'User "{user.name}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.group}" '
            f"{scope}")


def forbidden(user: User, attrs: Attributes, reason: str = "") -> Forbidden:
    """The API server's 403: NewForbidden(group resource, name, message[: reason])."""
    message = _message(user, attrs) + (f": {reason}" if reason else "")
    if not attrs.resource_request or not attrs.resource:
        return Forbidden(f"forbidden: {message}")
    target = qualified(attrs.resource, attrs.group)
    named = f'{target} "{attrs.name}"' if attrs.name else target
    details = object_details(attrs.resource, attrs.name, attrs.group)
    if not attrs.name:
        details.pop("name")
    return Forbidden(f"{named} is forbidden: {message}", details)


def describe_subject(subject: Rule, binding_namespace: str) -> str:
    """How an allowing reason names the subject (`ServiceAccount "NAME/NS"`)."""
    if subject.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{subject.get("name")}/{subject.get("namespace") or binding_namespace}"'
    return f'{subject.get("kind")} "{subject.get("name")}"'


def subject_applies(subject: Rule, user: User, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return bool(name) and name == user.name
    if kind == "Group":
        return bool(name) and name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and f"{SA_PREFIX}{namespace}:{name}" == user.name
    return False
