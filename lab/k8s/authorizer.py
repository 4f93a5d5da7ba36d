"""The RBAC authorizer over the store's Roles and bindings, cached per subject.

A request must not scan every binding: the rules that apply to one user (cluster-wide, and
per namespace) are resolved once and kept until any Role, ClusterRole or binding changes.
`system:masters` is allowed before RBAC is asked, as the API server's privileged-group
authorizer does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.k8s.rbac import MASTERS, Attributes, Rule, User, describe_subject, rule_allows, subject_applies
from lab.k8s.resources import BY_KIND
from lab.k8s.store import Store

ROLE, CLUSTERROLE = BY_KIND["Role"], BY_KIND["ClusterRole"]
ROLEBINDING, CLUSTERROLEBINDING = BY_KIND["RoleBinding"], BY_KIND["ClusterRoleBinding"]
RBAC_KEYS = tuple(r.key for r in (ROLE, CLUSTERROLE, ROLEBINDING, CLUSTERROLEBINDING))
MAX_SUBJECTS = 1000  # cached users before the cache starts afresh


@dataclass
class Resolution:
    """The rules that apply, each with the binding that grants it, and the roles that could not be read."""
    rules: list[tuple[Rule, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._seen: tuple[int, ...] = ()
        self._cluster: dict[User, Resolution] = {}
        self._namespaced: dict[tuple[User, str], Resolution] = {}

    def _fresh(self) -> None:
        revisions = tuple(self.store.revisions.get(key, 0) for key in RBAC_KEYS)
        if revisions != self._seen or len(self._cluster) > MAX_SUBJECTS:
            self._seen = revisions
            self._cluster.clear()
            self._namespaced.clear()

    def _role_rules(self, kind: str, namespace: str, name: str, errors: list[str]) -> list[Rule]:
        res = ROLE if kind == "Role" else CLUSTERROLE
        role = self.store.find(res, namespace, name)
        if role is None:  # the listers' NotFound, in the authorizer's reason
            errors.append(f'{res.kind.lower()}.{res.group} "{name}" not found')
            return []
        return [r for r in role.get("rules") or [] if isinstance(r, dict)]

    def _resolve(self, bindings: list[Rule], user: User, namespace: str) -> Resolution:
        out = Resolution()
        for binding in bindings:
            subject = next((s for s in binding.get("subjects") or []
                            if isinstance(s, dict) and subject_applies(s, user, namespace)), None)
            if subject is None:
                continue
            ref, meta = binding.get("roleRef") or {}, binding["metadata"]
            label = (f'RoleBinding "{meta["name"]}/{namespace}"' if namespace
                     else f'ClusterRoleBinding "{meta["name"]}"')
            source = (f'{label} of {ref.get("kind")} "{ref.get("name")}" to '
                      f"{describe_subject(subject, namespace)}")
            for rule in self._role_rules(ref.get("kind", ""), namespace, ref.get("name", ""), out.errors):
                out.rules.append((rule, source))
        return out

    def resolve(self, user: User, namespace: str) -> Resolution:
        """The rules that apply to `user` in `namespace` ("" for cluster-scoped requests)."""
        self._fresh()
        cluster = self._cluster.get(user)
        if cluster is None:
            cluster = self._cluster[user] = self._resolve(self.store.list(CLUSTERROLEBINDING), user, "")
        if not namespace:
            return cluster
        local = self._namespaced.get((user, namespace))
        if local is None:
            local = self._resolve(self.store.list(ROLEBINDING, namespace), user, namespace)
            local = self._namespaced[(user, namespace)] = Resolution(cluster.rules + local.rules,
                                                                     cluster.errors + local.errors)
        return local

    def authorize(self, user: User, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, reason) as the union of the privileged-group and RBAC authorizers answers."""
        if MASTERS in user.groups:
            return True, ""
        resolution = self.resolve(user, attrs.namespace if attrs.resource_request else "")
        for rule, source in resolution.rules:
            if rule_allows(rule, attrs):
                return True, f"RBAC: allowed by {source}"
        errors = resolution.errors
        if not errors:
            return False, ""
        return False, "RBAC: " + (errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
