"""Least privilege, proven on the lab: each rule of deploy/kubernetes' ClusterRole and Role, removed,
makes the call that needs it answer 403 for the drewburr ServiceAccount (and a drain refuse before it
changes anything); every rule has such a call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml
from kubernetes import client

from infra.errors import GatewayError
from infra.gateways.k8s import K8sGateway
from tests.lab.deployed import BASE, NAMESPACE, Deployed, drewburr

pytest_plugins = ["tests.lab.deploy_fixtures"]  # its fixtures: applied, deployed
Call = Callable[[K8sGateway], Awaitable[Any]]


async def _watch_one(k8s: K8sGateway) -> None:
    """A short watch read to its end (the server closes it after timeoutSeconds)."""
    async for _ in k8s.watch_nodes(timeout_seconds=1):
        pass


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
}


def _rules() -> list[tuple[str, int, dict[str, Any]]]:
    """(kind, index, rule) of every rule in base/rbac.yaml."""
    docs = [d for d in yaml.safe_load_all((BASE / "rbac.yaml").read_text())
            if d["kind"] in ("ClusterRole", "Role")]
    return [(d["kind"], i, rule) for d in docs for i, rule in enumerate(d["rules"])]


def _key(rule: dict[str, Any]) -> tuple[str, str, str]:
    (group,), (resource,), verbs = rule["apiGroups"], rule["resources"], rule["verbs"]
    return group, resource, verbs[0]


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
