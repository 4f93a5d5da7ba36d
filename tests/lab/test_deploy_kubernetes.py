"""deploy/kubernetes on the lab: `kubectl apply -k` of the example overlay with default validation,
then every verb and remediation run as the drewburr ServiceAccount (and a PVE token holding exactly the
DrewburrOperator role) and succeed; and each RBAC rule, removed, causes a 403: least privilege proven."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import requests
import yaml
from kubernetes import client

from commands.grammar import VERBS as GRAMMAR
from infra.errors import GatewayError
from infra.gateways.k8s import K8sGateway
from infra.journal import StepRecord
from infra.journal_sqlite import SqliteJournal
from tests.conftest import RunningLab
from tests.lab.deployed import (
    BASE,
    NAMESPACE,
    OVERLAY,
    drewburr,
    drewburr_config,
    operator_privileges,
    pve_token,
    service_account_kubeconfig,
)
from tests.lab.kube import Kubectl
from tests.lab.pve_client import wait_for
from tests.scenarios.opsctx import DEAD_OWNER, fault
from tests.scenarios.test_serve import serving


@dataclass(frozen=True)
class Deployed:
    lab: RunningLab
    config: Path  # drewburr.yaml with the ServiceAccount's kubeconfig and the DrewburrOperator token
    kubeconfig: Path  # the ServiceAccount's


def groups(api: client.ApiClient) -> set[str]:
    return {g.name for g in client.ApisApi(api).get_api_versions().groups}


@pytest.fixture(scope="module")
def applied(kube_lab: RunningLab, api: client.ApiClient, kubectl: Kubectl) -> str:
    """kubectl's output for `apply -k` of the example overlay, once kube-prometheus-stack (installed by a
    HelmChart in the default homelab) has brought the ServiceMonitor and PrometheusRule CRDs."""
    wait_for(lambda: "monitoring.coreos.com" in groups(api), timeout=60, what="the prometheus-operator CRDs")
    return kubectl("apply", "-k", str(OVERLAY))


@pytest.fixture(scope="module")
def deployed(kube_lab: RunningLab, applied: str, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    folder = tmp_path_factory.mktemp("deployed")
    kubeconfig = service_account_kubeconfig(kube_lab, folder / "kubeconfig")
    config = drewburr_config(kube_lab, folder / "drewburr.yaml", kubeconfig,
                             pve_token(kube_lab, operator_privileges()))
    return Deployed(kube_lab, config, kubeconfig)


def test_the_overlay_applies_with_default_validation(applied: str, api: client.ApiClient) -> None:
    for created in ("namespace/drewburr", "serviceaccount/drewburr",
                    "clusterrole.rbac.authorization.k8s.io/drewburr",
                    "role.rbac.authorization.k8s.io/drewburr", "deployment.apps/drewburr", "service/drewburr",
                    "poddisruptionbudget.policy/drewburr", "servicemonitor.monitoring.coreos.com/drewburr",
                    "prometheusrule.monitoring.coreos.com/drewburr"):
        assert f"{created} created" in applied, applied
    deployment = client.AppsV1Api(api).read_namespaced_deployment("drewburr", NAMESPACE)
    assert deployment.spec.replicas == 2
    assert deployment.spec.template.spec.security_context.run_as_non_root is True


def test_the_two_replicas_run_on_two_blades(deployed: Deployed, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)

    def zones() -> set[str] | None:
        pods = core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/name=drewburr").items
        nodes = [p.spec.node_name for p in pods if p.status.phase == "Running"]
        if len(nodes) != 2:
            return None
        return {core.read_node(n).metadata.labels["topology.kubernetes.io/zone"] for n in nodes}

    assert len(wait_for(zones, timeout=30, what="two running replicas")) == 2


def test_every_built_in_object_is_valid_for_the_labs_kubernetes(kubectl: Kubectl) -> None:
    objects = list(yaml.safe_load_all(kubectl("kustomize", str(OVERLAY))))
    built_in = [o for o in objects if o["apiVersion"] != "monitoring.coreos.com/v1"]
    assert len(built_in) == len(objects) - 2
    for obj in built_in:
        kubernetes_validate.validate(obj, "1.31", strict=True)  # raises on an unknown or mistyped field


# -- every verb, as the ServiceAccount and the DrewburrOperator token. A verb another part adds is one
# more row: its CLI line (with {op}, the ID `before` returns), and what must hold after it. The rows run in
# order on one lab and one journal.
Then = Callable[[str, Path], None]  # (the verb's output, the config): what must hold after it


def _json_holds(check: Callable[[Any], bool]) -> Then:
    def then(out: str, _: Path) -> None:
        assert check(json.loads(out)), out
    return then


def _journal(config: Path) -> SqliteJournal:
    return SqliteJournal(Path(yaml.safe_load(config.read_text())["journal"]["path"]))


def _drain_killed_after_migrating(config: Path) -> int:
    """The last drain as if its process died after migrating: evict, migrate and mark run again."""
    async def interrupt() -> int:
        journal = _journal(config)
        op = next(o for o in await journal.list(100) if o.kind == "drain")
        for name in ("evict", "migrate", "mark"):
            await journal.record_step(op.id, StepRecord(name=name, outcome="running", attempts=1))
        await journal.set_phase(op.id, "Running", now=2, owner=DEAD_OWNER)
        await journal.take_locks(op.id, [op.target])
        return op.id
    return asyncio.run(interrupt())


def _drain_left_by_a_dead_process(config: Path) -> int:
    async def create() -> int:
        journal = _journal(config)
        op = await journal.create("drain", "blade4", {}, ["plan"], ["blade4"], now=1)
        await journal.set_phase(op.id, "Running", now=2, owner=DEAD_OWNER)
        return op.id
    return asyncio.run(create())


def _last_is(phase: str) -> Then:
    def then(out: str, config: Path) -> None:
        last = asyncio.run(_journal(config).list(1))[0]
        assert last.phase == phase, (out, last)
    return then


@dataclass(frozen=True)
class Verb:
    line: str
    then: Then | None = None
    before: Callable[[Path], int] | None = None  # sets the journal up; its result is {op} in the line


VERBS = [
    Verb("status --json", _json_holds(lambda s: s["errors"] == [])),
    Verb("plan blade3 --json", _json_holds(lambda p: p["ok"])),
    Verb("drain blade3 --yes"),
    Verb("status --json", _json_holds(lambda s: [m["blade"] for m in s["maintenance"]] == ["blade3"])),
    Verb("ops resume {op} --yes", _last_is("Succeeded"), before=_drain_killed_after_migrating),
    Verb("restore blade3 --yes"),
    Verb("reboot blade2 --yes"),
    Verb("ops list --json", _json_holds(lambda ops: [o["phase"] for o in ops] == ["Succeeded"] * 3)),
    Verb("ops show 1"),
    Verb("ops audit"),
    Verb("ops cancel {op} --yes", _last_is("Cancelled"), before=_drain_left_by_a_dead_process),
]


def test_every_verb_of_the_grammar_has_a_row() -> None:
    rows = {" ".join(v.line.split()[:2]) if v.line.startswith("ops ") else v.line.split()[0] for v in VERBS}
    missing = set(GRAMMAR) - rows - {"help"}
    assert not missing, f"add a row to VERBS for {sorted(missing)}: run it as the deployed ServiceAccount"


@pytest.mark.parametrize("verb", VERBS, ids=[v.line for v in VERBS])
def test_every_verb_succeeds_as_the_service_account(deployed: Deployed, verb: Verb) -> None:
    line = verb.line.format(op=verb.before(deployed.config)) if verb.before else verb.line
    code, out = drewburr(deployed.config, line)
    assert code == 0, out
    if verb.then:
        verb.then(out, deployed.config)


def test_remediation_runs_as_the_service_account(deployed: Deployed, tmp_path: Path) -> None:
    """serve with the deployed identities: ready, and an OSD down becomes a journaled decision that
    passed every gate (the live re-check read nodes, pods, ReplicaSets and PDBs as the ServiceAccount)."""
    lab = deployed.lab
    config = yaml.safe_load(deployed.config.read_text())
    config["journal"]["path"] = str(tmp_path / "serve.sqlite")  # its own journal: only its decisions
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(config))
    with serving(lab, tmp_path, base=base) as served:
        ready = requests.get(f"{served.url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        fault(lab, "osd-down", "blade2")
        try:
            assert served.alert("CephOSDDown").status_code == 202
            (op,) = wait_for(served.refused, timeout=20, what="the decision in the journal")
            assert (op.kind, op.target) == ("evacuate", "blade2")
            assert op.last_error is not None and op.last_error.startswith("not-built"), op.last_error
            assert served.alert("KubeNodeNotReady", node="kube04").status_code == 202
            stale = wait_for(lambda: [o for o in served.refused() if o.target == "blade4"], timeout=20,
                             what="the stale alert's decision")
            assert stale[0].last_error.startswith("still-true"), stale[0].last_error
        finally:
            fault(lab, "osd-up", "blade2")


# -- least privilege: each rule of the ClusterRole and the Role, removed, makes the call that needs it 403.
Call = Callable[[K8sGateway], Awaitable[Any]]


async def _watch_one(k8s: K8sGateway) -> None:
    async for _ in k8s.watch_nodes(timeout_seconds=1):
        return


NEEDS: dict[tuple[str, str, str], Call] = {
    ("", "nodes", "get"): lambda k8s: k8s.get_node("kube01"),
    ("", "nodes", "watch"): _watch_one,
    ("", "nodes", "patch"): lambda k8s: k8s.set_annotations("kube01", {"drewburr.io/probe": None}),
    ("", "pods", "list"): lambda k8s: k8s.list_pods(),
    ("", "pods/eviction", "create"): lambda k8s: k8s.evict("default", "no-such-pod"),
    ("apps", "replicasets", "list"): lambda k8s: k8s.list_replicasets(),
    ("policy", "poddisruptionbudgets", "list"): lambda k8s: k8s.list_pdbs(),
    ("coordination.k8s.io", "leases", "get"): lambda k8s: k8s.get_lease(NAMESPACE, "drewburr"),
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
