"""deploy/kubernetes on the lab: `kubectl apply -k` of the example overlay with default validation,
then every verb and remediation run as the drewburr ServiceAccount (and a PVE token holding exactly the
DrewburrOperator role) and succeed."""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import requests
import yaml
from kubernetes import client

from commands.grammar import VERBS as GRAMMAR
from infra.journal import StepRecord
from infra.journal_sqlite import SqliteJournal
from tests.lab.deployed import (
    NAMESPACE,
    OVERLAY,
    Deployed,
    drewburr,
)
from tests.lab.kube import Kubectl
from tests.lab.pve_client import wait_for
from tests.scenarios.opsctx import DEAD_OWNER, fault
from tests.scenarios.test_serve import serving

pytest_plugins = ["tests.lab.deploy_fixtures"]  # its fixtures: applied, deployed


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
    Verb("whatif blade3"),
    Verb("drain blade3 --yes"),
    Verb("status --json", _json_holds(lambda s: [m["blade"] for m in s["maintenance"]] == ["blade3"])),
    Verb("ops resume {op} --yes", _last_is("Succeeded"), before=_drain_killed_after_migrating),
    Verb("restore blade3 --yes"),
    Verb("reboot blade2 --yes"),
    Verb("ops list --json", _json_holds(lambda ops: [o["phase"] for o in ops] == ["Succeeded"] * 3)),
    Verb("ops show 1"),
    Verb("ops audit"),
    Verb("ops cancel {op} --yes", _last_is("Cancelled"), before=_drain_left_by_a_dead_process),
    Verb("provision kube06 --yes", _last_is("Succeeded")),
    Verb("automation pause deploy test --yes"),
    Verb("automation status"),
    Verb("automation resume --yes"),
    # the homelab's kube-prometheus-stack HelmChart is there already (another manager's): applied over
    Verb("addons install all --yes", _last_is("Succeeded")),
    Verb("addons status --json", _json_holds(lambda rows: [r["addon"] for r in rows if r["ready"]] == [
        "metallb", "cert-manager", "traefik", "kube-prometheus-stack"])),
]
# verbs that call neither Kubernetes nor PVE: the deployed identities have nothing to prove there
NO_IDENTITY = {"help": "no call at all",
               **dict.fromkeys(("silence", "silence list", "silence expire"), "Alertmanager's API only")}


# verbs that cannot run on this lab, run as the deployed identities by a test of their own
ELSEWHERE = {"bootstrap": ("tests.lab.test_deploy_bootstrap",  # it refuses where a cluster exists
                           "test_bootstrap_succeeds_as_the_service_account_and_the_operator_token")}


def test_every_verb_of_the_grammar_has_a_row() -> None:
    rows = {max((g for g in GRAMMAR if f"{v.line} ".startswith(f"{g} ")), key=len, default="") for v in VERBS}
    assert all(hasattr(importlib.import_module(module), test) for module, test in ELSEWHERE.values())
    missing = set(GRAMMAR) - rows - set(NO_IDENTITY) - set(ELSEWHERE)
    assert not missing, f"add a row to VERBS for {sorted(missing)}: run it as the deployed ServiceAccount"


@pytest.mark.parametrize("verb", VERBS, ids=[v.line for v in VERBS])
def test_every_verb_succeeds_as_the_service_account(deployed: Deployed, verb: Verb) -> None:
    line = verb.line.format(op=verb.before(deployed.config)) if verb.before else verb.line
    code, out = drewburr(deployed.config, line)
    assert code == 0, out
    if verb.then:
        verb.then(out, deployed.config)


def test_remediation_evacuates_as_the_service_account(deployed: Deployed, tmp_path: Path) -> None:
    """serve with the deployed identities: ready, and an OSD down on blade2 becomes an evacuation (cordon,
    evictions, live migrations) that succeeds; `restore` brings blade2 back."""
    lab = deployed.lab
    config = yaml.safe_load(deployed.config.read_text())
    config["journal"]["path"] = str(tmp_path / "serve.sqlite")  # its own journal: only its operations
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(config))
    with serving(lab, tmp_path, base=base) as served:
        ready = requests.get(f"{served.url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        fault(lab, "osd-down", "blade2")
        assert served.alert("CephOSDDown").status_code == 202
        (op,) = wait_for(lambda: [o for o in served.ops() if o.phase in ("Succeeded", "Failed")], timeout=60,
                         what="the evacuation")
        assert (op.kind, op.target, op.phase) == ("evacuate", "blade2", "Succeeded"), op.last_error
    fault(lab, "osd-up", "blade2")
    code, out = drewburr(base, "restore blade2 --yes")
    assert code == 0, out


def test_serve_leads_and_journals_in_the_cluster_as_the_service_account(
        deployed: Deployed, api: client.ApiClient, tmp_path: Path) -> None:
    """The base's own choice: the kubernetes journal and leader election, through the Role's rules."""
    config = yaml.safe_load(deployed.config.read_text())
    # `path`: serving() reads it, the kubernetes backend never does
    config["journal"] = {"backend": "kubernetes", "namespace": NAMESPACE, "path": str(tmp_path / "unused")}
    config["leader"] = {"enabled": True, "namespace": NAMESPACE, "identity": "replica-a"}
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(config))
    coordination, core = client.CoordinationV1Api(api), client.CoreV1Api(api)
    with serving(deployed.lab, tmp_path, base=base) as served:
        lease = wait_for(lambda: next((item for item in coordination.list_namespaced_lease(NAMESPACE).items
                                       if item.spec.holder_identity == "replica-a"), None),
                         timeout=30, what="the Lease taken by replica-a")
        assert lease.spec.lease_duration_seconds > 0
        assert requests.get(f"{served.url}/readyz", timeout=10).status_code == 200
        assert served.metric("drewburr_leader") == 1
        for line in ("automation pause deploy test --yes", "automation resume --yes"):  # journaled
            code, out = drewburr(base, line)
            assert code == 0, out
    assert "drewburr-journal" in {c.metadata.name for c in core.list_namespaced_config_map(NAMESPACE).items}
