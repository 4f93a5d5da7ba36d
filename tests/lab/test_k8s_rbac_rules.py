"""The RBAC rule matcher, request attributes and 403 wording, as plain functions."""

from __future__ import annotations

import pytest

from lab.k8s.rbac import Attributes, User, forbidden, rule_allows, service_account_user, subject_applies
from lab.k8s.rbac_admission import missing_rights
from lab.k8s.requestinfo import request_attributes

PODS = {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}


@pytest.mark.parametrize(("rule", "attrs", "allowed"), [
    (PODS, Attributes("get", resource="pods", name="web"), True),
    (PODS, Attributes("delete", resource="pods", name="web"), False),
    (PODS, Attributes("get", group="apps", resource="pods"), False),
    (PODS, Attributes("get", resource="pods", subresource="log", name="web"), False),
    ({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, Attributes("patch", group="apps",
                                                                          resource="deployments"), True),
    ({"verbs": ["create"], "apiGroups": [""], "resources": ["pods/eviction"]},
     Attributes("create", resource="pods", subresource="eviction", name="web"), True),
    ({"verbs": ["create"], "apiGroups": [""], "resources": ["pods/eviction"]},
     Attributes("create", resource="pods", name="web"), False),
    ({"verbs": ["patch"], "apiGroups": [""], "resources": ["*/status"]},
     Attributes("patch", resource="nodes", subresource="status", name="kube01"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]},
     Attributes("get", resource="configmaps", name="cfg"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]},
     Attributes("get", resource="configmaps", name="other"), False),
    ({"verbs": ["list"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]},
     Attributes("list", resource="configmaps"), False),
    ({"verbs": ["get"], "nonResourceURLs": ["/apis/*"]}, Attributes("get", False, path="/apis/v1"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["/version"]}, Attributes("get", False, path="/versions"), False),
    (PODS, Attributes("get", False, path="/api"), False),
    ({"apiGroups": [""], "resources": ["pods"]}, Attributes("get", resource="pods"), False),
])
def test_rule_allows(rule: dict[str, object], attrs: Attributes, allowed: bool) -> None:
    assert rule_allows(rule, attrs) is allowed


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", "/api/v1/namespaces/a/pods", {},
     Attributes("list", namespace="a", version="v1", resource="pods")),
    ("GET", "/api/v1/pods", {"watch": "true"}, Attributes("watch", version="v1", resource="pods")),
    ("DELETE", "/apis/apps/v1/namespaces/a/deployments", {},
     Attributes("deletecollection", namespace="a", group="apps", version="v1", resource="deployments")),
    ("POST", "/api/v1/namespaces/a/pods/web/eviction", {},
     Attributes("create", namespace="a", version="v1", resource="pods", subresource="eviction", name="web")),
    ("PATCH", "/api/v1/nodes/kube01/status", {},
     Attributes("patch", version="v1", resource="nodes", subresource="status", name="kube01")),
    ("GET", "/api/v1/namespaces/a", {}, Attributes("get", namespace="a", version="v1", resource="namespaces",
                                                   name="a")),
    ("GET", "/api/v1/namespaces/a/configmaps", {"fieldSelector": "metadata.name=cfg"},
     Attributes("list", namespace="a", version="v1", resource="configmaps", name="cfg")),
    ("GET", "/apis/apps/v1", {}, Attributes("get", False, path="/apis/apps/v1")),
    ("GET", "/version", {}, Attributes("get", False, path="/version")),
])
def test_request_attributes(method: str, path: str, query: dict[str, str], expected: Attributes) -> None:
    got = request_attributes(method, path, query)
    assert got == Attributes(**{**expected.__dict__, "path": path})


def test_forbidden_names_the_object_user_verb_and_scope() -> None:
    user = service_account_user("ops", "bot")
    err = forbidden(user, Attributes("patch", resource="nodes", name="kube03"))
    assert err.message == ('nodes "kube03" is forbidden: User "system:serviceaccount:ops:bot" cannot patch '
                           'resource "nodes" in API group "" at the cluster scope')
    err = forbidden(user, Attributes("list", namespace="ops", group="apps", resource="deployments"))
    assert err.message == ('deployments.apps is forbidden: User "system:serviceaccount:ops:bot" cannot list '
                           'resource "deployments" in API group "apps" in the namespace "ops"')
    assert err.details == {"kind": "deployments", "group": "apps"}
    err = forbidden(user, Attributes("get", False, path="/metrics"))
    assert err.message == 'forbidden: User "system:serviceaccount:ops:bot" cannot get path "/metrics"'


def test_subjects_match_users_groups_and_service_accounts_by_binding_namespace() -> None:
    sa = service_account_user("ops", "bot")
    assert subject_applies({"kind": "ServiceAccount", "name": "bot"}, sa, "ops")
    assert not subject_applies({"kind": "ServiceAccount", "name": "bot"}, sa, "other")
    assert subject_applies({"kind": "Group", "name": "system:serviceaccounts:ops"}, sa, "")
    assert not subject_applies({"kind": "User", "name": "bot"}, sa, "")
    assert subject_applies({"kind": "User", "name": "alice"}, User("alice", ()), "")


def test_missing_rights_are_compacted_per_resource() -> None:
    owned = [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]
    wanted = [{"verbs": ["get", "delete", "patch"], "apiGroups": [""], "resources": ["pods", "secrets"]}]
    assert missing_rights(owned, wanted) == [
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete" "patch"]}',
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete" "patch"]}']
    assert missing_rights([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}], wanted) == []
