"""The API server's default RBAC policy (bootstrappolicy, Kubernetes 1.31), the part a user meets:
`cluster-admin`, the aggregated `admin`/`edit`/`view`, discovery and self-review for everyone."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
AGG = "rbac.authorization.k8s.io/aggregate-to-"


def _rule(verbs: list[str], groups: list[str], resources: list[str]) -> Obj:
    return {"verbs": verbs, "apiGroups": groups, "resources": resources}


def _urls(verbs: list[str], urls: list[str]) -> Obj:
    return {"verbs": verbs, "nonResourceURLs": urls}


_VIEW = [
    _rule(READ, [""], ["pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                       "services", "services/status", "endpoints", "persistentvolumeclaims",
                       "persistentvolumeclaims/status", "configmaps"]),
    _rule(READ, [""], ["limitranges", "resourcequotas", "bindings", "events", "replicationcontrollers/status",
                       "pods/log", "pods/status", "resourcequotas/status", "namespaces/status"]),
    _rule(READ, [""], ["namespaces"]),
    _rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
    _rule(READ, ["apps"], ["controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
                           "daemonsets", "daemonsets/status", "deployments", "deployments/status",
                           "deployments/scale", "replicasets", "replicasets/status", "replicasets/scale"]),
    _rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    _rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
    _rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    _rule(READ, ["networking.k8s.io"], ["networkpolicies", "ingresses", "ingresses/status"]),
]
_EDIT = [
    # read access to the escalating resources, which view leaves out
    _rule(READ, [""], ["pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets",
                       "services/proxy"]),
    _rule(["impersonate"], [""], ["serviceaccounts"]),
    _rule(WRITE, [""], ["pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"]),
    _rule(["create"], [""], ["pods/eviction"]),
    _rule(WRITE, [""], ["replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                        "services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets"]),
    _rule(["create"], [""], ["serviceaccounts/token"]),
    _rule(WRITE, ["apps"], ["statefulsets", "statefulsets/scale", "daemonsets", "deployments",
                            "deployments/rollback", "deployments/scale", "replicasets", "replicasets/scale"]),
    _rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
    _rule(WRITE, ["batch"], ["cronjobs", "jobs"]),
    _rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
    _rule(WRITE, ["networking.k8s.io"], ["networkpolicies", "ingresses"]),
]
_ADMIN = [
    _rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
    _rule(READ + WRITE, ["rbac.authorization.k8s.io"], ["roles", "rolebindings"]),
]
_PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]


def _role(name: str, rules: list[Obj] | None = None, labels: dict[str, str] | None = None,
          aggregate: str | None = None) -> Obj:
    role: Obj = {"metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults",
                                                      **(labels or {})},
                              "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
                 "rules": rules or []}
    if aggregate:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {AGG + aggregate: "true"}}]}
    return role


def cluster_roles() -> list[Obj]:
    return [
        _role("cluster-admin", [_rule(["*"], ["*"], ["*"]), _urls(["*"], ["*"])]),
        _role("admin", aggregate="admin"),
        _role("edit", labels={AGG + "admin": "true"}, aggregate="edit"),
        _role("view", labels={AGG + "edit": "true"}, aggregate="view"),
        _role("system:aggregate-to-admin", _ADMIN, {AGG + "admin": "true"}),
        _role("system:aggregate-to-edit", _EDIT, {AGG + "edit": "true"}),
        _role("system:aggregate-to-view", _VIEW, {AGG + "view": "true"}),
        _role("system:discovery", [_urls(["get"], ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                                   "/openapi", "/openapi/*", "/readyz", "/version",
                                                   "/version/"])]),
        _role("system:basic-user", [
            _rule(["create"], ["authorization.k8s.io"],
                  ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            _rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]),
        _role("system:public-info-viewer", [_urls(["get"], _PUBLIC_URLS)]),
    ]


def _group(name: str) -> Obj:
    return {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}


def cluster_role_bindings() -> list[Obj]:
    everyone = [_group("system:authenticated")]
    bindings = {"cluster-admin": [_group("system:masters")], "system:discovery": everyone,
                "system:basic-user": everyone,
                "system:public-info-viewer": [*everyone, _group("system:unauthenticated")]}
    return [{"metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                          "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
             "subjects": subjects} for name, subjects in bindings.items()]
