"""What the API server checks when RBAC objects are written: their validation (422, the wording of
pkg/apis/rbac/validation), an immutable roleRef, and privilege-escalation prevention (403): a
user may only grant what they hold, unless allowed to `escalate` (roles) or `bind` (bindings)."""

from __future__ import annotations

import json
from typing import Any

from lab.k8s import validation
from lab.k8s.authorizer import CLUSTERROLE, ROLE, Authorizer
from lab.k8s.errors import Forbidden, NotFound, object_details, qualified
from lab.k8s.rbac import MASTERS, Attributes, Rule, User, rule_allows
from lab.k8s.resources import Resource

Obj = dict[str, Any]
GROUP = "rbac.authorization.k8s.io"
Cause = tuple[str, str, str]


def _q(values: list[str]) -> str:
    """Go's %q of a []string."""
    return "[" + " ".join(json.dumps(v) for v in values) + "]"


def _unsupported(path: str, value: Any, allowed: list[str]) -> Cause:
    supported = ", ".join(json.dumps(a) for a in allowed)
    return (path, "FieldValueNotSupported",
            f"Unsupported value: {json.dumps(value)}: supported values: {supported}")


def _rule_causes(rule: Rule, namespaced: bool, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if not rule.get("verbs"):
        causes.append((f"{path}.verbs", "FieldValueRequired",
                       "Required value: verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs") or []
    if urls:
        shown = "[]string{" + ", ".join(json.dumps(u) for u in urls) + "}"
        if namespaced:
            causes.append((f"{path}.nonResourceURLs", "FieldValueInvalid",
                           f"Invalid value: {shown}: namespaced rules cannot apply to non-resource URLs"))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            causes.append((f"{path}.nonResourceURLs", "FieldValueInvalid",
                           f"Invalid value: {shown}: rules cannot apply to both regular resources and "
                           "non-resource URLs"))
        return causes
    if not rule.get("apiGroups"):
        causes.append((f"{path}.apiGroups", "FieldValueRequired",
                       "Required value: resource rules must supply at least one api group"))
    if not rule.get("resources"):
        causes.append((f"{path}.resources", "FieldValueRequired",
                       "Required value: resource rules must supply at least one resource"))
    if rule.get("resourceNames") and len(rule.get("resources") or []) > 1:
        causes.append((f"{path}.resourceNames", "FieldValueRequired",
                       "Required value: resource names cannot apply to multiple resources"))
    return causes


def _subject_causes(subject: Obj, namespaced: bool, path: str) -> list[Cause]:
    kind, name, group = subject.get("kind", ""), subject.get("name", ""), subject.get("apiGroup", "")
    causes: list[Cause] = []
    if not name:
        causes.append((f"{path}.name", "FieldValueRequired", "Required value"))
    if kind == "ServiceAccount":
        if group:
            causes.append(_unsupported(f"{path}.apiGroup", group, [""]))
        if not namespaced and not subject.get("namespace"):
            causes.append((f"{path}.namespace", "FieldValueRequired", "Required value"))
    elif kind in ("User", "Group"):
        if not name:
            causes.append((f"{path}.name", "FieldValueInvalid",
                           f'Invalid value: "": {kind.lower()} name cannot be empty'))
        if group != GROUP:
            causes.append(_unsupported(f"{path}.apiGroup", group, [GROUP]))
    else:
        causes.append(_unsupported(f"{path}.kind", kind, ["ServiceAccount", "User", "Group"]))
    return causes


def _ref_text(ref: Obj) -> str:
    """Go's %#v of the internal rbac.RoleRef."""
    fields = ", ".join(f"{label}:{json.dumps(ref.get(key, ''))}"
                       for key, label in (("apiGroup", "APIGroup"), ("kind", "Kind"), ("name", "Name")))
    return f"rbac.RoleRef{{{fields}}}"


def _binding_causes(res: Resource, obj: Obj, old: Obj | None) -> list[Cause]:
    ref = obj.get("roleRef") or {}
    causes: list[Cause] = []
    if ref.get("apiGroup", "") != GROUP:
        causes.append(_unsupported("roleRef.apiGroup", ref.get("apiGroup", ""), [GROUP]))
    kinds = ["Role", "ClusterRole"] if res.namespaced else ["ClusterRole"]
    if ref.get("kind", "") not in kinds:
        causes.append(_unsupported("roleRef.kind", ref.get("kind", ""), kinds))
    if not ref.get("name"):
        causes.append(("roleRef.name", "FieldValueRequired", "Required value"))
    for i, subject in enumerate(obj.get("subjects") or []):
        causes += _subject_causes(subject or {}, res.namespaced, f"subjects[{i}]")
    old_ref = (old or {}).get("roleRef") or {}
    if old is not None and {k: ref.get(k, "") for k in ("apiGroup", "kind", "name")} != {
            k: old_ref.get(k, "") for k in ("apiGroup", "kind", "name")}:
        causes.append(("roleRef", "FieldValueInvalid",
                       f"Invalid value: {_ref_text(ref)}: cannot change roleRef"))
    return causes


def check(res: Resource, obj: Obj, old: Obj | None) -> None:
    """422 Invalid for an RBAC object the API server's validation refuses."""
    if res.group != GROUP:
        return
    if res.kind in ("Role", "ClusterRole"):
        causes = [c for i, rule in enumerate(obj.get("rules") or [])
                  for c in _rule_causes(rule or {}, res.namespaced, f"rules[{i}]")]
    else:
        causes = _binding_causes(res, obj, old)
    if causes:
        raise validation.invalid(res, obj["metadata"].get("name") or "", causes)


# privilege escalation

def _atoms(rule: Rule) -> list[tuple[Attributes, Rule]]:
    """BreakdownRule: one verb on one resource (and name) or one URL each, with its compact rule."""
    out = []
    for verb in rule.get("verbs") or []:
        for url in rule.get("nonResourceURLs") or []:
            out.append((Attributes(verb, resource_request=False, path=url),
                        {"nonResourceURLs": [url], "verbs": [verb]}))
        for group in rule.get("apiGroups") or []:
            for combined in rule.get("resources") or []:
                resource, _, sub = combined.partition("/")
                for name in rule.get("resourceNames") or [""]:
                    atom: Rule = {"apiGroups": [group], "resources": [combined], "verbs": [verb]}
                    if name:
                        atom["resourceNames"] = [name]
                    out.append((Attributes(verb, group=group, resource=resource, subresource=sub, name=name),
                                atom))
    return out


def _compact(rule: Rule) -> str:
    """rbacv1helpers.CompactString."""
    parts = [f"{label}:{_q(rule[key])}" for key, label in (
        ("apiGroups", "APIGroups"), ("resources", "Resources"), ("nonResourceURLs", "NonResourceURLs"),
        ("resourceNames", "ResourceNames"), ("verbs", "Verbs")) if rule.get(key)]
    return "{" + ", ".join(parts) + "}"


def missing_rights(owned: list[Rule], wanted: list[Rule]) -> list[str]:
    merged: dict[str, Rule] = {}  # CompactRules: the verbs of one resource (and name) together
    for rule in wanted:
        for attrs, atom in _atoms(rule):
            if not any(rule_allows(o, attrs) for o in owned):
                key = json.dumps({k: v for k, v in atom.items() if k != "verbs"}, sort_keys=True)
                merged.setdefault(key, {**atom, "verbs": []})["verbs"].append(attrs.verb)
    return sorted(_compact(r) for r in merged.values())


def _target(authz: Authorizer, res: Resource, obj: Obj, namespace: str) -> tuple[Attributes, Obj | None]:
    """What lets a user write this object whatever its rules (`escalate` on the role, `bind` on the role
    a binding refers to), and the role whose rules the user must otherwise hold."""
    if res.kind in ("Role", "ClusterRole"):
        name = obj["metadata"].get("name") or ""
        return Attributes("escalate", namespace=namespace, group=GROUP, resource=res.plural, name=name), obj
    ref = obj.get("roleRef") or {}
    role_res = ROLE if ref.get("kind") == "Role" else CLUSTERROLE
    name = ref.get("name") or ""
    attrs = Attributes("bind", namespace=namespace, group=GROUP, resource=role_res.plural, name=name)
    return attrs, authz.store.find(role_res, namespace, name) if name else None


def confirm_no_escalation(authz: Authorizer, user: User, res: Resource, obj: Obj, namespace: str) -> None:
    """403 unless `user` may write this Role or binding; system:masters always may."""
    if MASTERS in user.groups:
        return
    attrs, role = _target(authz, res, obj, namespace)
    if authz.authorize(user, attrs)[0]:
        return
    name = obj["metadata"].get("name") or ""
    if role is None:  # a binding to a role that does not exist grants nothing one could check
        raise _forbidden(res, name, NotFound.of(attrs.resource, attrs.name, GROUP).message)
    resolution = authz.resolve(user, namespace)
    wanted = [r for r in role.get("rules") or [] if isinstance(r, dict)]
    missing = missing_rights([r for r, _ in resolution.rules], wanted)
    if missing:
        message = (f'user "{user.name}" (groups={_q(list(user.groups))}) is attempting to grant RBAC '
                   "permissions not currently held:\n" + "\n".join(missing))
        if resolution.errors:
            message += f"; resolution errors: [{' '.join(resolution.errors)}]"
        raise _forbidden(res, name, message)


def _forbidden(res: Resource, name: str, message: str) -> Forbidden:
    return Forbidden(f'{qualified(res.plural, res.group)} "{name}" is forbidden: {message}',
                     object_details(res.plural, name, res.group))


def confirm_create_on_apply(authz: Authorizer, user: User, attrs: Attributes) -> None:
    """A server-side apply that creates its object needs `create` besides `patch` (the patch handler's
    withAuthorization around createValidation); its 403 carries the authorizer's reason, empty for RBAC."""
    if MASTERS in user.groups:
        return
    create = Attributes("create", namespace=attrs.namespace, group=attrs.group, version=attrs.version,
                        resource=attrs.resource, name=attrs.name, path=attrs.path)
    allowed, reason = authz.authorize(user, create)
    if not allowed:
        raise Forbidden(f'{qualified(attrs.resource, attrs.group)} "{attrs.name}" is forbidden: {reason}',
                        object_details(attrs.resource, attrs.name, attrs.group))
