"""ServiceAccounts, their tokens and RBAC through the real client and kubectl, as on a K3s cluster."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.conftest import RunningLab
from tests.lab.kube import Kubectl, fresh_namespace, kubeconfig, service_account_client, token_client
from tests.lab.pve_client import wait_for
from tests.tools import require

RBAC = "rbac.authorization.k8s.io"


def _status(exc: ApiException) -> dict[str, object]:
    return json.loads(exc.body)  # type: ignore[no-any-return]


def _denied(call: object, *args: object, **kwargs: object) -> dict[str, object]:
    with pytest.raises(ApiException) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return _status(caught.value)


def _service_account(api: client.ApiClient, ns: str, name: str = "bot") -> None:
    client.CoreV1Api(api).create_namespaced_service_account(ns, {"metadata": {"name": name}})


def _grant(api: client.ApiClient, ns: str | None, rules: list[dict[str, object]], sa_ns: str,
           name: str = "bot") -> None:
    """A Role (or, without a namespace, a ClusterRole) with `rules`, bound to the ServiceAccount."""
    rbac = client.RbacAuthorizationV1Api(api)
    subject = {"kind": "ServiceAccount", "name": name, "namespace": sa_ns}
    role_name = f"{name}-{ns or 'cluster'}-{len(rules)}-{abs(hash(json.dumps(rules))) % 10_000}"
    ref = {"apiGroup": RBAC, "kind": "Role" if ns else "ClusterRole", "name": role_name}
    if ns:
        rbac.create_namespaced_role(ns, {"metadata": {"name": role_name}, "rules": rules})
        rbac.create_namespaced_role_binding(ns, {"metadata": {"name": role_name}, "roleRef": ref,
                                                 "subjects": [subject]})
    else:
        rbac.create_cluster_role({"metadata": {"name": role_name}, "rules": rules})
        rbac.create_cluster_role_binding({"metadata": {"name": role_name}, "roleRef": ref,
                                          "subjects": [subject]})


def test_a_verb_the_role_lacks_is_403_with_the_servers_words_and_one_it_has_is_200(
        api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    _service_account(api, ns)
    _grant(api, None, [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["nodes"]}], ns)
    core = client.CoreV1Api(service_account_client(api, ns, "bot"))
    assert core.read_node("kube03").metadata.name == "kube03"
    assert {n.metadata.name for n in core.list_node().items} >= {"kube01", "kube03"}
    status = _denied(core.patch_node, "kube03", {"spec": {"unschedulable": True}})
    assert status["code"] == 403 and status["reason"] == "Forbidden"
    assert status["message"] == (f'nodes "kube03" is forbidden: User "system:serviceaccount:{ns}:bot" cannot '
                                 'patch resource "nodes" in API group "" at the cluster scope')
    assert status["details"] == {"name": "kube03", "kind": "nodes"}
    status = _denied(core.list_namespaced_pod, ns)
    assert status["message"] == (f'pods is forbidden: User "system:serviceaccount:{ns}:bot" cannot list '
                                 f'resource "pods" in API group "" in the namespace "{ns}"')
    assert not client.CoreV1Api(api).read_node("kube03").spec.unschedulable


def test_a_new_binding_takes_effect_at_once_and_a_deleted_one_stops(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    _service_account(api, ns)
    core = client.CoreV1Api(service_account_client(api, ns, "bot"))
    assert _denied(core.list_namespaced_secret, ns)["code"] == 403
    _grant(api, ns, [{"verbs": ["list"], "apiGroups": [""], "resources": ["secrets"]}], ns)
    assert core.list_namespaced_secret(ns).items == []
    client.RbacAuthorizationV1Api(api).delete_collection_namespaced_role_binding(ns)
    assert _denied(core.list_namespaced_secret, ns)["code"] == 403


def test_subresource_rules_grant_the_subresource_only(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    _service_account(api, ns)
    _grant(api, None, [{"verbs": ["patch"], "apiGroups": [""], "resources": ["nodes/status"]}], ns)
    _grant(api, ns, [{"verbs": ["create"], "apiGroups": [""], "resources": ["pods/eviction"]}], ns)
    admin = client.CoreV1Api(api)
    admin.create_namespaced_pod(ns, {"metadata": {"name": "web"},
                                     "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}})
    core = client.CoreV1Api(service_account_client(api, ns, "bot"))
    patched = core.patch_node_status("kube02", {"metadata": {"annotations": {"lab/checked": "yes"}}})
    assert patched.metadata.name == "kube02"
    assert _denied(core.patch_node, "kube02", {"metadata": {"labels": {"x": "y"}}})["code"] == 403
    status = _denied(core.delete_namespaced_pod, "web", ns)
    assert 'cannot delete resource "pods" in API group ""' in str(status["message"])
    core.create_namespaced_pod_eviction("web", ns, {"metadata": {"name": "web", "namespace": ns}})
    wait_for(lambda: not admin.list_namespaced_pod(ns).items, what="the evicted pod to go")


def test_resource_names_grant_named_objects_not_lists(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    _service_account(api, ns)
    admin = client.CoreV1Api(api)
    for name in ("allowed", "other"):
        admin.create_namespaced_config_map(ns, {"metadata": {"name": name}, "data": {"k": name}})
    _grant(api, ns, [{"verbs": ["get", "update"], "apiGroups": [""], "resources": ["configmaps"],
                      "resourceNames": ["allowed"]}], ns)
    core = client.CoreV1Api(service_account_client(api, ns, "bot"))
    assert core.read_namespaced_config_map("allowed", ns).data == {"k": "allowed"}
    status = _denied(core.read_namespaced_config_map, "other", ns)
    assert status["message"] == (f'configmaps "other" is forbidden: User "system:serviceaccount:{ns}:bot" '
                                 f'cannot get resource "configmaps" in API group "" in the namespace "{ns}"')
    assert _denied(core.list_namespaced_config_map, ns)["code"] == 403
    other_ns = fresh_namespace(api)
    admin.create_namespaced_config_map(other_ns, {"metadata": {"name": "allowed"}})
    assert _denied(core.read_namespaced_config_map, "allowed", other_ns)["code"] == 403  # a Role is local


def test_bad_tokens_are_401_and_a_deleted_service_accounts_token_stops_working(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    _service_account(api, ns)
    sa_api = service_account_client(api, ns, "bot")
    review = client.AuthenticationV1Api(sa_api).create_self_subject_review({})
    assert review.status.user_info.username == f"system:serviceaccount:{ns}:bot"
    sa = client.CoreV1Api(api).read_namespaced_service_account("bot", ns)
    assert review.status.user_info.uid == sa.metadata.uid
    assert review.status.user_info.extra["authentication.kubernetes.io/credential-id"][0].startswith("JTI=")
    token = sa_api.configuration.api_key["authorization"].removeprefix("Bearer ")
    for bad in ("nope", token[:-4] + "AAAA", token + "x"):
        status = _denied(client.CoreV1Api(token_client(api, bad)).list_namespace)
        assert status == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                          "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    client.CoreV1Api(api).delete_namespaced_service_account("bot", ns)
    assert _denied(client.AuthenticationV1Api(sa_api).create_self_subject_review, {})["code"] == 401


def test_namespaces_get_a_default_service_account_and_token_secrets_get_a_working_token(
        api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    core = client.CoreV1Api(api)
    wait_for(lambda: core.list_namespaced_service_account(ns, field_selector="metadata.name=default").items,
             what="the default ServiceAccount")
    core.create_namespaced_secret(ns, {"metadata": {"name": "default-token", "annotations": {
        "kubernetes.io/service-account.name": "default"}}, "type": "kubernetes.io/service-account-token"})
    secret = wait_for(lambda: (s := core.read_namespaced_secret("default-token", ns)).data and s,
                      what="the token controller")
    assert base64.b64decode(secret.data["namespace"]).decode() == ns
    token = base64.b64decode(secret.data["token"]).decode()
    whoami = client.AuthenticationV1Api(token_client(api, token)).create_self_subject_review({})
    assert whoami.status.user_info.username == f"system:serviceaccount:{ns}:default"
    assert whoami.status.user_info.groups == ["system:serviceaccounts", f"system:serviceaccounts:{ns}",
                                              "system:authenticated"]


def test_token_requests_are_validated(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    _service_account(api, ns)
    status = _denied(client.CoreV1Api(api).create_namespaced_service_account_token, "bot", ns,
                     {"spec": {"expirationSeconds": 60}})
    assert status["code"] == 422
    assert status["message"] == ('TokenRequest.authentication.k8s.io "bot" is invalid: '
                                 "spec.expirationSeconds: Invalid value: 60: may not specify a duration less "
                                 "than 10 minutes")
    status = _denied(client.CoreV1Api(api).create_namespaced_service_account_token, "ghost", ns, {"spec": {}})
    assert (status["code"], status["message"]) == (404, 'serviceaccounts "ghost" not found')


def test_a_token_bound_to_a_secret_dies_with_it(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    _service_account(api, ns)
    core = client.CoreV1Api(api)
    secret = core.create_namespaced_secret(ns, {"metadata": {"name": "anchor"}})
    request = core.create_namespaced_service_account_token("bot", ns, {"spec": {
        "expirationSeconds": 86400, "boundObjectRef": {"kind": "Secret", "apiVersion": "v1", "name": "anchor",
                                                       "uid": secret.metadata.uid}}})
    as_bot = client.AuthenticationV1Api(token_client(api, request.status.token))
    whoami = as_bot.create_self_subject_review({}).status.user_info
    assert whoami.username == f"system:serviceaccount:{ns}:bot"
    core.delete_namespaced_secret("anchor", ns)
    assert _denied(as_bot.create_self_subject_review, {})["code"] == 401


def test_bad_rbac_bodies_are_422_with_the_servers_words(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    rbac = client.RbacAuthorizationV1Api(api)
    no_verbs = {"verbs": [], "apiGroups": [""], "resources": ["pods"]}
    status = _denied(rbac.create_namespaced_role, ns, {"metadata": {"name": "r"}, "rules": [no_verbs]})
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["message"] == ('Role.rbac.authorization.k8s.io "r" is invalid: rules[0].verbs: '
                                 "Required value: verbs must contain at least one value")
    status = _denied(rbac.create_namespaced_role_binding, ns, {
        "metadata": {"name": "b"}, "roleRef": {"apiGroup": RBAC, "kind": "Widget", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "default"}]})
    assert status["message"] == ('RoleBinding.rbac.authorization.k8s.io "b" is invalid: roleRef.kind: '
                                 'Unsupported value: "Widget": supported values: "Role", "ClusterRole"')
    status = _denied(rbac.create_cluster_role_binding, {
        "metadata": {"name": "b"}, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "default"}]})
    assert status["message"] == ('ClusterRoleBinding.rbac.authorization.k8s.io "b" is invalid: '
                                 "subjects[0].namespace: Required value")


def test_role_ref_is_immutable(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_namespaced_role_binding(ns, {
        "metadata": {"name": "b"}, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}]})
    status = _denied(rbac.patch_namespaced_role_binding, "b", ns, {"roleRef": {"name": "edit"}})
    assert status["code"] == 422
    assert status["message"] == (
        'RoleBinding.rbac.authorization.k8s.io "b" is invalid: roleRef: Invalid value: rbac.RoleRef{'
        'APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: cannot change roleRef')
    assert rbac.read_namespaced_role_binding("b", ns).role_ref.name == "view"


def test_a_service_account_can_only_grant_what_it_holds(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    _service_account(api, ns)
    _grant(api, ns, [{"verbs": ["create"], "apiGroups": [RBAC], "resources": ["roles"]},
                     {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}], ns)
    rbac = client.RbacAuthorizationV1Api(service_account_client(api, ns, "bot"))
    rbac.create_namespaced_role(ns, {"metadata": {"name": "reader"},
                                     "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]})
    status = _denied(rbac.create_namespaced_role, ns, {"metadata": {"name": "deleter"}, "rules": [
        {"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["pods"]}]})
    assert status["code"] == 403
    assert status["message"] == (
        f'roles.rbac.authorization.k8s.io "deleter" is forbidden: user "system:serviceaccount:{ns}:bot" '
        f'(groups=["system:serviceaccounts" "system:serviceaccounts:{ns}" "system:authenticated"]) is '
        'attempting to grant RBAC permissions not currently held:\n'
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}')


def test_aggregation_adds_labelled_cluster_roles_to_view(api: client.ApiClient) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    rule = {"verbs": ["get", "list"], "apiGroups": ["example.io"], "resources": ["widgets"]}
    rbac.create_cluster_role({"metadata": {"name": "widgets-view", "labels": {
        "rbac.authorization.k8s.io/aggregate-to-view": "true"}}, "rules": [rule]})

    def has_rule(name: str) -> bool:
        return any(r.resources == ["widgets"] for r in rbac.read_cluster_role(name).rules or [])
    wait_for(lambda: has_rule("view") and has_rule("edit") and has_rule("admin"), what="aggregation")


def test_self_subject_access_review_answers_truthfully_with_the_granting_binding(
        api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    _service_account(api, ns)
    client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(ns, {
        "metadata": {"name": "bot-view"},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "bot"}]})
    authz = client.AuthorizationV1Api(service_account_client(api, ns, "bot"))

    def review(verb: str, resource: str, group: str = "") -> client.V1SubjectAccessReviewStatus:
        return authz.create_self_subject_access_review({"spec": {"resourceAttributes": {
            "namespace": ns, "verb": verb, "resource": resource, "group": group}}}).status
    allowed = review("list", "deployments", "apps")
    assert allowed.allowed and allowed.reason == (
        f'RBAC: allowed by RoleBinding "bot-view/{ns}" of ClusterRole "view" to ServiceAccount "bot/{ns}"')
    assert not review("delete", "deployments", "apps").allowed
    assert not review("get", "secrets").allowed  # view does not read Secrets
    status = _denied(authz.create_self_subject_access_review, {"spec": {}})
    assert status["message"] == ('SelfSubjectAccessReview.authorization.k8s.io "" is invalid: '
                                 'spec.resourceAttributes: Invalid value: "null": exactly one of '
                                 "nonResourceAttributes or resourceAttributes must be specified")


# kubectl

def test_kubectl_auth_can_i_and_whoami(api: client.ApiClient, kube_lab: RunningLab, kubectl: Kubectl,
                                       tmp_path: Path) -> None:
    ns = fresh_namespace(api)
    _service_account(api, ns)
    _grant(api, ns, [{"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods"]},
                     {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
                      "resourceNames": ["settings"]}], ns)
    who = f"system:serviceaccount:{ns}:bot"
    listing = kubectl("auth", "can-i", "--list", f"--as={who}", "-n", ns)
    pods_row = next(line for line in listing.splitlines() if line.startswith("pods "))
    assert pods_row.split()[-3:] == ["[get", "list", "watch]"]
    settings_row = next(line for line in listing.splitlines() if line.startswith("configmaps "))
    assert "[settings]" in settings_row and settings_row.split()[-1] == "[get]"
    assert kubectl("auth", "can-i", "list", "pods", f"--as={who}", "-n", ns).strip() == "yes"
    denied = kubectl.run("auth", "can-i", "delete", "pods", f"--as={who}", "-n", ns)
    assert (denied.returncode, denied.stdout.strip()) == (1, "no")
    assert kubectl("auth", "can-i", "get", "configmaps/settings", f"--as={who}", "-n", ns).strip() == "yes"
    token = kubectl("create", "token", "bot", "-n", ns, "--duration=720h").strip()
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig(kube_lab).read_text().replace(kube_lab.server.k8s_token, token))
    as_bot = Kubectl(require("kubectl"), config, tmp_path / "cache")
    whoami = as_bot("auth", "whoami", "-o", "json")
    info = json.loads(whoami)["status"]["userInfo"]
    assert info["username"] == who and f"system:serviceaccounts:{ns}" in info["groups"]
    assert as_bot.run("get", "pods", "-n", ns).stderr == "No resources found in " + ns + " namespace.\n"
    client.CoreV1Api(api).create_namespaced_config_map(ns, {"metadata": {"name": "settings"}})
    refused = as_bot.run("delete", "configmap", "settings", "-n", ns)
    assert refused.returncode == 1
    assert refused.stderr == (f'Error from server (Forbidden): configmaps "settings" is forbidden: User '
                              f'"{who}" cannot delete resource "configmaps" in API group "" in the namespace '
                              f'"{ns}"\n')
    impersonating = as_bot.run("get", "pods", "-n", ns, "--as=alice")
    assert impersonating.stderr == (f'Error from server (Forbidden): users "alice" is forbidden: User '
                                    f'"{who}" cannot impersonate resource "users" in API group "" at the '
                                    "cluster scope\n")


def test_kubectl_get_prints_the_servers_columns_for_bindings(api: client.ApiClient, kubectl: Kubectl) -> None:
    ns = fresh_namespace(api)
    client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(ns, {
        "metadata": {"name": "b"}, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": ns},
                     {"kind": "Group", "apiGroup": RBAC, "name": "devs"}]})
    header, row = kubectl("get", "rolebindings", "-n", ns, "-o", "wide").splitlines()
    assert header.split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert row.split()[:2] == ["b", "ClusterRole/view"] and row.split()[-2:] == ["devs", f"{ns}/bot"]


def test_a_server_side_apply_that_creates_needs_create_besides_patch(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    _service_account(api, ns)
    _grant(api, ns, [{"verbs": ["patch", "get"], "apiGroups": [""], "resources": ["configmaps"]}], ns)
    sa = service_account_client(api, ns, "bot")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "1"}}
    core = client.CoreV1Api(sa)
    status = _denied(core.patch_namespaced_config_map, "cm", ns, body, field_manager="bot",
                     _content_type="application/apply-patch+yaml")
    assert status["code"] == 403 and status["message"] == 'configmaps "cm" is forbidden: ', status
    client.CoreV1Api(api).create_namespaced_config_map(ns, body)  # made by someone else: patch suffices
    applied = core.patch_namespaced_config_map("cm", ns, {**body, "data": {"a": "2"}}, field_manager="bot",
                                               force=True, _content_type="application/apply-patch+yaml")
    assert applied.data == {"a": "2"}
