"""Least privilege, proven on the lab: each rule of deploy/kubernetes' ClusterRole and Role, removed,
makes the call that needs it answer 403 for the drewburr ServiceAccount (and a drain refuse before it
changes anything); every rule has such a call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml
from kubernetes import client

from infra.addons.manifests import CLOUDFLARE_SECRET, WEBHOOK_SECRET
from infra.addons.spec import FIELD_MANAGER
from infra.errors import GatewayError
from infra.gateways.k8s import K8sGateway, object_path
from tests.lab.deployed import BASE, NAMESPACE, OVERLAY, Deployed, drewburr
from tests.lab.kube import Kubectl

pytest_plugins = ["tests.lab.deploy_fixtures"]  # its fixtures: applied, deployed
Call = Callable[[K8sGateway], Awaitable[Any]]


async def _watch_one(k8s: K8sGateway) -> None:
    """A short watch read to its end (the server closes it after timeoutSeconds)."""
    async for _ in k8s.watch_nodes(timeout_seconds=1):
        pass


def _applied(api_version: str, kind: str, plural: str, namespace: str | None, name: str, **rest: Any) -> Call:
    """K8sGateway.apply's PATCH of a new object, as a dry run (authorized as a real one, changing nothing):
    it needs `patch`, and `create` as it makes the object; a 404 when the kind is not served yet."""
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    body = json.dumps({"apiVersion": api_version, "kind": kind, "metadata": meta, **rest})
    query = [("fieldManager", FIELD_MANAGER), ("force", "true"), ("dryRun", "All")]
    path = object_path(api_version, plural, namespace, name)
    return lambda k8s: k8s.caller.write("apply", lambda: k8s._call(  # the gateway's own PATCH, with dryRun
        "PATCH", path, query, body, "application/apply-patch+yaml"))


def _got(api_version: str, plural: str, namespace: str | None, name: str) -> Call:
    async def get(k8s: K8sGateway) -> None:
        if await k8s.get_object(api_version, plural, namespace, name) is None:  # allowed, absent
            raise GatewayError("kubernetes", "not found", 404)
    return get


async def _log(k8s: K8sGateway) -> None:
    """pod_failure's log read, which it forgives: here its error is the answer."""
    await k8s.caller.read("read log", lambda: k8s.core.read_namespaced_pod_log("no-such-pod", "kube-system"))


HELM, METALLB = "helm.cattle.io/v1", "metallb.io/v1beta1"
ACME = {"server": "https://acme-staging-v02.api.letsencrypt.org/directory", "email": "ops@example.com",
        "privateKeySecretRef": {"name": "letsencrypt-staging-account-key"},
        "solvers": [{"http01": {"ingress": {"ingressClassName": "traefik"}}}]}
NEEDS: dict[tuple[str, str, str], Call] = {
    ("", "nodes", "get"): lambda k8s: k8s.get_node("kube01"),
    ("", "nodes", "watch"): _watch_one,
    ("", "nodes", "patch"): lambda k8s: k8s.set_annotations("kube01", {"drewburr.io/probe": None}),
    ("", "pods", "list"): lambda k8s: k8s.list_pods(),
    ("", "pods/eviction", "create"): lambda k8s: k8s.evict("default", "no-such-pod"),
    ("apps", "replicasets", "list"): lambda k8s: k8s.list_replicasets(),
    ("policy", "poddisruptionbudgets", "list"): lambda k8s: k8s.list_pdbs(),
    ("coordination.k8s.io", "leases", "get"): lambda k8s: k8s.get_lease(NAMESPACE, "drewburr"),
    ("", "configmaps", "get"): lambda k8s: k8s.get_configmap(NAMESPACE, "no-such-configmap"),
    # addons install|status
    ("helm.cattle.io", "helmcharts", "get"): _got(HELM, "helmcharts", "kube-system", "no-such-chart"),
    ("helm.cattle.io", "helmcharts", "patch"): _applied(HELM, "HelmChart", "helmcharts", "kube-system",
                                                        "probe", spec={"chart": "probe"}),
    ("helm.cattle.io", "helmchartconfigs", "get"): _got(HELM, "helmchartconfigs", "kube-system", "traefik"),
    ("helm.cattle.io", "helmchartconfigs", "patch"): _applied(HELM, "HelmChartConfig", "helmchartconfigs",
                                                              "kube-system", "probe", spec={}),
    ("batch", "jobs", "get"): _got("batch/v1", "jobs", "kube-system", "helm-install-no-such-chart"),
    ("", "pods/log", "get"): _log,
    ("apiextensions.k8s.io", "customresourcedefinitions", "get"): _got(
        "apiextensions.k8s.io/v1", "customresourcedefinitions", None, "ipaddresspools.metallb.io"),
    ("apps", "deployments", "list"): lambda k8s: k8s.list_objects("apps/v1", "deployments", "kube-system"),
    ("apps", "statefulsets", "list"): lambda k8s: k8s.list_objects("apps/v1", "statefulsets", "kube-system"),
    ("apps", "daemonsets", "list"): lambda k8s: k8s.list_objects("apps/v1", "daemonsets", "kube-system"),
    ("", "namespaces", "get"): _got("v1", "namespaces", None, "monitoring"),
    ("", "namespaces", "patch"): _applied("v1", "Namespace", "namespaces", None, "probe"),
    ("", "secrets", "get"): _got("v1", "secrets", "monitoring", "drewburr-webhook"),
    ("", "secrets", "patch"): _applied("v1", "Secret", "secrets", "monitoring", "drewburr-webhook",
                                       data={"token": "dG9rZW4="}),
    ("metallb.io", "ipaddresspools", "get"): _got(METALLB, "ipaddresspools", "metallb-system", "homelab"),
    ("metallb.io", "ipaddresspools", "patch"): _applied(METALLB, "IPAddressPool", "ipaddresspools",
                                                        "metallb-system", "homelab",
                                                        spec={"addresses": ["192.168.1.240-192.168.1.250"]}),
    ("metallb.io", "l2advertisements", "get"): _got(METALLB, "l2advertisements", "metallb-system", "homelab"),
    ("metallb.io", "l2advertisements", "patch"): _applied(METALLB, "L2Advertisement", "l2advertisements",
                                                          "metallb-system", "homelab",
                                                          spec={"ipAddressPools": ["homelab"]}),
    ("cert-manager.io", "clusterissuers", "get"): _got("cert-manager.io/v1", "clusterissuers", None,
                                                       "letsencrypt-staging"),
    ("cert-manager.io", "clusterissuers", "patch"): _applied("cert-manager.io/v1", "ClusterIssuer",
                                                             "clusterissuers", None, "letsencrypt-staging",
                                                             spec={"acme": ACME}),
    ("monitoring.coreos.com", "prometheusrules", "get"): _got("monitoring.coreos.com/v1", "prometheusrules",
                                                              "monitoring", "drewburr-alerts"),
    ("monitoring.coreos.com", "prometheusrules", "patch"): _applied(
        "monitoring.coreos.com/v1", "PrometheusRule", "prometheusrules", "monitoring", "drewburr-alerts",
        spec={"groups": []}),
}


def _rules() -> list[tuple[str, int, dict[str, Any]]]:
    """(kind, index, rule) of every rule in base/rbac.yaml."""
    docs = [d for d in yaml.safe_load_all((BASE / "rbac.yaml").read_text())
            if d["kind"] in ("ClusterRole", "Role")]
    return [(d["kind"], i, rule) for d in docs for i, rule in enumerate(d["rules"])]


def _key(rule: dict[str, Any]) -> tuple[str, str, str]:
    (group,), (resource,), verbs = rule["apiGroups"], rule["resources"], rule["verbs"]
    return group, resource, verbs[0]


def test_the_overlay_keeps_the_secrets_the_addons_write_by_name(kubectl: Kubectl) -> None:
    """kustomize rewrites resourceNames that match a generated Secret's name (to its hashed one)."""
    built = [d for d in yaml.safe_load_all(kubectl("kustomize", str(OVERLAY))) if d["kind"] == "ClusterRole"]
    names = {n for d in built for rule in d["rules"] for n in rule.get("resourceNames", [])}
    assert names == {WEBHOOK_SECRET, CLOUDFLARE_SECRET}


def test_every_rule_has_a_call_that_needs_it() -> None:
    assert sorted(_key(rule) for _, _, rule in _rules()) == sorted(NEEDS)


@contextmanager
def without(api: client.ApiClient, kind: str, index: int) -> Iterator[None]:
    """The role of `kind` with its rule `index` removed, put back afterwards."""
    rbac = client.RbacAuthorizationV1Api(api)
    read, replace = ((rbac.read_cluster_role, rbac.replace_cluster_role) if kind == "ClusterRole" else
                     (lambda name: rbac.read_namespaced_role(name, NAMESPACE),
                      lambda name, body: rbac.replace_namespaced_role(name, NAMESPACE, body)))
    role = read("drewburr")
    rules = list(role.rules)
    role.rules = rules[:index] + rules[index + 1:]
    replace("drewburr", role)
    try:
        yield
    finally:
        role = read("drewburr")
        role.rules = rules
        replace("drewburr", role)


async def _allowed(call: Awaitable[Any]) -> None:
    """The call passes authorization (a 404 for a missing object comes after it)."""
    try:
        await call
    except GatewayError as exc:
        assert exc.status == 404, exc


@pytest.mark.parametrize(("kind", "index", "rule"), _rules(),
                         ids=[f"{kind}:{'/'.join(_key(rule))}" for kind, _, rule in _rules()])
async def test_removing_a_rule_makes_the_call_that_needs_it_forbidden(
        deployed: Deployed, api: client.ApiClient, kind: str, index: int, rule: dict[str, Any]) -> None:
    call = NEEDS[_key(rule)]
    k8s = K8sGateway(deployed.kubeconfig)
    await _allowed(call(k8s))
    with without(api, kind, index):
        with pytest.raises(GatewayError) as denied:
            await call(k8s)
        assert denied.value.status == 403, denied.value
        assert 'User "system:serviceaccount:drewburr:drewburr" cannot' in str(denied.value)
    await _allowed(call(k8s))


def test_without_the_eviction_rule_a_drain_is_refused_before_anything_changes(
        deployed: Deployed, api: client.ApiClient) -> None:
    index = next(i for kind, i, rule in _rules()
                 if kind == "ClusterRole" and rule["resources"] == ["pods/eviction"])
    with without(api, "ClusterRole", index):
        code, out = drewburr(deployed.config, "drain blade3 --yes")
    assert code == 2, out
    assert "Kubernetes create pods/eviction" in out
    assert not any(n.spec.unschedulable for n in client.CoreV1Api(api).list_node().items)


@contextmanager
def only_patch(api: client.ApiClient, resource: str) -> Iterator[None]:
    """The ClusterRole's `patch, create` rule of `resource` left with `patch` alone, put back afterwards."""
    rbac = client.RbacAuthorizationV1Api(api)
    role = rbac.read_cluster_role("drewburr")
    rules = [client.V1PolicyRule(**r.to_dict()) for r in role.rules]
    for rule in role.rules:
        if rule.resources == [resource] and rule.verbs == ["patch", "create"]:
            rule.verbs = ["patch"]
    rbac.replace_cluster_role("drewburr", role)
    try:
        yield
    finally:
        role = rbac.read_cluster_role("drewburr")
        role.rules = rules
        rbac.replace_cluster_role("drewburr", role)


def test_without_create_an_apply_that_creates_is_forbidden_and_addons_install_refused(
        deployed: Deployed, api: client.ApiClient) -> None:
    """`patch` alone: the apply that would make a HelmChart is 403 (the patch handler's create check),
    and `addons install` refuses before it creates anything, naming the missing verb."""
    k8s = K8sGateway(deployed.kubeconfig)
    custom = client.CustomObjectsApi(api)
    charts = lambda: {c["metadata"]["name"]: c["metadata"]["resourceVersion"]  # noqa: E731
                      for c in custom.list_namespaced_custom_object("helm.cattle.io", "v1", "kube-system",
                                                                    "helmcharts")["items"]}
    before = charts()
    with only_patch(api, "helmcharts"):
        with pytest.raises(GatewayError) as denied:
            asyncio.run(NEEDS[("helm.cattle.io", "helmcharts", "patch")](k8s))  # type: ignore[arg-type]
        assert denied.value.status == 403
        assert 'helmcharts.helm.cattle.io "probe" is forbidden' in str(denied.value)
        code, out = drewburr(deployed.config, "addons install metallb --yes")
    assert code == 2, out
    assert "Kubernetes create helmcharts.helm.cattle.io" in out
    assert charts() == before  # nothing applied
