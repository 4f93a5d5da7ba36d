"""`drain BLADE` on the lab, checked through the real clients (proxmoxer, kubernetes)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from kubernetes import client, config

from bot.output import Progress
from commands.drain import drain
from commands.result import DONE, FAILED, REFUSED
from commands.status import status
from infra.gateways.k8s import K8sGateway
from infra.journal import Maintenance
from infra.operations import run as ops

from .opsctx import auditor_context, fault, lab_context, move_vm, pve_client, settled, viewer_kubeconfig


@pytest.fixture
def pve(running_lab):
    return pve_client(running_lab)


@pytest.fixture
def kube(running_lab):
    return config.new_client_from_config(str(running_lab.workdir / "kubeconfig"))


def running_on(pve, blade: str) -> list[str]:
    return [vm["name"] for vm in pve.cluster.resources.get(type="vm")
            if vm["node"] == blade and vm["status"] == "running"]


def strict_pdb(kube, **spec: int) -> None:
    """A PDB over ingress-solo (both replicas on kube05) that never lets one go."""
    selector = {"matchLabels": {"app.kubernetes.io/name": "ingress-solo"}}
    client.PolicyV1Api(kube).create_namespaced_pod_disruption_budget("default", {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "solo-strict"},
        "spec": {**spec, "selector": selector}})


def noout(pve) -> bool:
    return any(f["name"] == "noout" and f["value"] for f in pve.cluster.ceph.flags.get())


def cordoned(kube) -> list[str]:
    return sorted(n.metadata.name for n in client.CoreV1Api(kube).list_node().items if n.spec.unschedulable)


class ReadyWatch:
    """The fewest ready whoami replicas seen while a drain runs, and how many times it looked."""

    def __init__(self, kube) -> None:
        self.apps = client.AppsV1Api(kube)
        self.lowest = 99
        self.samples = 0
        self.watched_to_the_end = False  # an API error would end the thread early, silently
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            status = self.apps.read_namespaced_deployment_status("whoami", "default").status
            self.lowest = min(self.lowest, status.ready_replicas or 0)
            self.samples += 1
        self.watched_to_the_end = True

    def __enter__(self) -> ReadyWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


async def test_drain_blade3_empties_it_with_whoami_always_available(running_lab, pve, kube):
    ctx = lab_context(running_lab)
    await settled(ctx)
    with ReadyWatch(kube) as watch:
        result = await drain(ctx, "blade3", yes=True)
    assert result.code == DONE, result.text
    assert "ingress-solo" in result.text and "[downtime]" in result.text
    assert running_on(pve, "blade3") == []
    assert noout(pve)
    assert watch.watched_to_the_end and watch.samples > 0  # else `lowest` would prove nothing
    assert watch.lowest >= 2
    core = client.CoreV1Api(kube)
    for name in ("kube03", "kube05"):
        node = core.read_node(name)
        assert node.spec.unschedulable
        assert node.metadata.annotations["drewburr.io/maintenance"] == "blade3"
        left = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={name}").items
        assert all(p.metadata.owner_references[0].kind == "DaemonSet" for p in left), \
            [p.metadata.name for p in left]
    postgres = core.read_namespaced_pod("postgres-0", "default")
    assert postgres.status.phase == "Running" and postgres.spec.node_name not in ("kube03", "kube05")
    record = await ctx.journal.get_maintenance("blade3")
    assert record is not None and record.placement == {103: "blade3", 105: "blade3"}


async def test_dry_run_prints_the_plan_and_changes_nothing(running_lab, pve, kube):
    ctx = lab_context(running_lab)
    result = await drain(ctx, "blade3", dry_run=True)
    assert result.code == DONE and "kube03 (103" in result.text and "-> blade4" in result.text
    assert sorted(running_on(pve, "blade3")) == ["kube03", "kube05"]
    assert not noout(pve) and await ctx.journal.list() == [] and cordoned(kube) == []


async def test_unknown_blade_is_refused_naming_the_valid_ones(running_lab):
    result = await drain(lab_context(running_lab), "blade9", yes=True)
    assert result.code == REFUSED
    assert "blade1, blade2, blade3, blade4" in result.text


async def test_unconfirmed_drain_changes_nothing(running_lab, pve, kube):
    result = await drain(lab_context(running_lab), "blade3", confirm=lambda _: False)
    assert result.code == REFUSED and "nothing changed" in result.text
    assert not noout(pve) and cordoned(kube) == []


async def test_second_blade_in_maintenance_is_refused_unless_admin_overrides(running_lab):
    ctx = lab_context(running_lab)
    await ctx.journal.put_maintenance(Maintenance(blade="blade1", op_id=0, since=0))
    refused = await drain(ctx, "blade3", yes=True)
    assert refused.code == REFUSED and "blade1 already in maintenance" in refused.text
    held_back = (await ctx.journal.list(1))[0]  # the decision not to act is journaled too
    assert held_back.phase == "Refused" and "[maintenance]" in held_back.last_error
    assert f"journaled as operation {held_back.id}" in refused.text
    overridden = await drain(lab_context(running_lab, allow_more_maintenance=True), "blade3", yes=True)
    assert overridden.code == DONE, overridden.text


async def test_locked_vm_fails_the_drain_with_a_journaled_reason_and_no_vm_lost(running_lab, pve):
    fault(running_lab, "hold-lock", "105:backup")
    ctx = lab_context(running_lab)
    result = await drain(ctx, "blade3", yes=True)
    assert result.code == FAILED
    op = result.operation
    assert op.phase == "Failed" and "105" in op.last_error and "backup" in op.last_error
    assert op.step("migrate").outcome == "failed"
    names = {vm["name"]: vm for vm in pve.cluster.resources.get(type="vm")}
    assert names["kube05"]["node"] == "blade3" and names["kube05"]["status"] == "running"
    assert names["kube03"]["node"] == "blade4"  # the other migration still completed
    assert (await ctx.journal.get_maintenance("blade3")).cordoned == ["kube03", "kube05"]
    assert noout(pve)  # blade3 stays in maintenance with what was done, for restore to undo


async def test_migration_task_error_ends_in_a_clear_failure(running_lab, pve):
    fault(running_lab, "fail-next-task", "qmigrate:migration aborted")
    result = await drain(lab_context(running_lab, migrations_per_nic=1), "blade3", yes=True)
    assert result.code == FAILED
    assert "migration aborted" in result.operation.last_error
    vms = [vm for vm in pve.cluster.resources.get(type="vm") if not vm.get("template")]
    assert {vm["status"] for vm in vms} == {"running"}


async def test_pdb_that_never_allows_eviction_is_refused_before_anything_changes(running_lab, pve, kube):
    strict_pdb(kube, minAvailable=2)
    await _pdb_observed(kube)
    ctx = lab_context(running_lab)
    result = await drain(ctx, "blade3", yes=True)
    assert result.code == REFUSED, result.text
    assert "solo-strict" in result.text
    assert not noout(pve) and await ctx.journal.locks() == {}
    (journaled,) = await ctx.journal.list(1)
    assert journaled.phase == "Refused" and "solo-strict" in journaled.last_error and journaled.steps == []


async def _pdb_observed(kube) -> None:
    """Wait until the disruption controller has filled in the PDB's status (the planner reads it)."""
    policy = client.PolicyV1Api(kube)
    for _ in range(100):
        status = policy.read_namespaced_pod_disruption_budget("solo-strict", "default").status
        if status and status.expected_pods == 2:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the PDB's status was never filled in")


async def test_pdb_blocking_a_forced_drain_times_out_naming_the_stuck_pod(running_lab, kube):
    strict_pdb(kube, maxUnavailable=0)
    ctx = lab_context(running_lab, force=True, drain_timeout_seconds=2)
    result = await drain(ctx, "blade3", yes=True)
    assert result.code == FAILED
    assert "stuck" in result.operation.last_error and "ingress-solo" in result.operation.last_error
    assert (await ctx.journal.get_maintenance("blade3")).cordoned == ["kube03", "kube05"]


async def test_pve_quorum_lost_refuses_the_drain(running_lab, pve, kube):
    fault(running_lab, "lose-quorum")
    result = await drain(lab_context(running_lab), "blade3", yes=True)
    assert result.code == REFUSED and "quorum" in result.text
    assert sorted(running_on(pve, "blade3")) == ["kube03", "kube05"]
    assert not noout(pve) and cordoned(kube) == []


async def test_a_target_blade_powered_off_mid_drain_is_not_used(running_lab, pve):
    async def power_off_blade4(op, step) -> None:
        if step.name == "migrate" and step.outcome == "running" and step.attempts == 1:
            fault(running_lab, "power-off", "blade4")  # the plan had kube03 going there

    result = await drain(lab_context(running_lab), "blade3", yes=True, listener=power_off_blade4)
    assert "kube03 (103, 4.0 GiB, K3s server): blade3 -> blade4" in result.text
    assert result.code == DONE, result.text
    placed = {vm["name"]: vm["node"] for vm in pve.cluster.resources.get(type="vm")}
    assert placed["kube03"] not in ("blade3", "blade4") and placed["kube05"] not in ("blade3", "blade4")


async def test_a_target_blade_powered_off_during_a_migration_gets_a_new_target(running_lab, pve):
    """blade4 dies while kube03 (HA) is moving there: the drain plans again rather than wait it out."""
    lab = running_lab.lab

    async def power_off_blade4_mid_migration() -> None:
        for _ in range(2000):  # polls the lab's own state: the migration holds the VM's lock
            if running_lab.call(lambda: lab.pve.vms[103].lock) == "migrate":
                fault(running_lab, "power-off", "blade4")
                return
            await asyncio.sleep(0.01)
        raise AssertionError("kube03 never started migrating")

    saboteur = asyncio.create_task(power_off_blade4_mid_migration())
    result = await drain(lab_context(running_lab, migrations_per_nic=1), "blade3", yes=True)
    assert saboteur.done()
    op = result.operation
    assert result.code == DONE, op.last_error if op else result.text
    assert op.step("migrate").attempts >= 2  # it looked again after blade4 went away
    placed = {vm["name"]: (vm["node"], vm["status"]) for vm in pve.cluster.resources.get(type="vm")}
    for name in ("kube03", "kube05"):
        assert placed[name][0] not in ("blade3", "blade4") and placed[name][1] == "running", placed


async def test_a_vm_that_arrives_on_the_blade_mid_drain_leaves_too_and_is_recorded(running_lab, pve):
    async def kube01_arrives(op, step) -> None:
        if step.name == "migrate" and step.outcome == "running" and step.attempts == 1:
            move_vm(pve, 101, "blade1", "blade3")  # someone moves kube01 there while we drain

    ctx = lab_context(running_lab)
    result = await drain(ctx, "blade3", yes=True, listener=kube01_arrives)
    assert result.code == DONE, result.operation.last_error if result.operation else result.text
    assert running_on(pve, "blade3") == []
    assert (await ctx.journal.get_maintenance("blade3")).placement[101] == "blade3"  # restore brings it back


async def test_a_token_that_may_not_set_noout_is_refused_before_anything_changes(running_lab, pve, kube):
    ctx = auditor_context(running_lab)  # PVEAuditor: may read, may not set flags or migrate
    result = await drain(ctx, "blade3", yes=True)
    assert result.code == REFUSED, result.text
    assert "missing privileges: PVE Sys.Modify on /, PVE VM.Migrate on /vms/103" in result.text
    assert not noout(pve) and cordoned(kube) == [] and await ctx.journal.maintenance() == []
    (journaled,) = await ctx.journal.list(1)
    assert journaled.phase == "Refused" and journaled.steps == []


async def test_a_drain_whose_noout_is_refused_leaves_no_maintenance_behind(running_lab, pve, kube):
    """Past the check (a role changed meanwhile, say): the failed step keeps the record true."""
    ctx = auditor_context(running_lab)
    op = await ops.create(ctx, "drain", "blade3", {})
    final = await ops.run(ctx, op.id)
    assert final.phase == "Failed" and final.step("noout").outcome == "failed"
    assert not noout(pve) and cordoned(kube) == []
    assert await ctx.journal.maintenance() == []  # nothing was done, so nothing is in maintenance
    assert "Permission check failed" in final.last_error and "check the token's role" in final.last_error
    shown = (await status(ctx)).text
    assert "In maintenance" not in shown and "maint" not in shown


async def test_a_lab_that_dies_mid_drain_fails_with_one_short_error_per_round(running_lab, capsys):
    """No urllib3 MaxRetryError per retry: what failed, where, and what to check, said once."""
    progress = Progress()

    async def lab_dies(op, step) -> None:
        await progress(op, step)
        if step.name == "migrate" and step.outcome == "running" and step.attempts == 1:
            stopped = asyncio.run_coroutine_threadsafe(running_lab.server.stop(), running_lab._loop)
            stopped.result(30)  # the lab's servers go away mid-drain

    ctx = lab_context(running_lab)
    result = await drain(ctx, "blade3", yes=True, listener=lab_dies)
    assert result.code == FAILED
    error = result.operation.last_error
    assert error.startswith(f"PVE at {running_lab.pve_url}: ") and "no answer (Connection refused)" in error
    assert "check proxmox.url" in error and "MaxRetryError" not in error and len(error) < 300
    said = [line for line in capsys.readouterr().out.splitlines() if "migrate: retrying" in line]
    assert len(said) >= 2 and sum("Connection refused" in line for line in said) == 1, said


async def test_a_kubernetes_identity_that_may_not_cordon_is_refused_before_anything_changes(
        running_lab, pve, kube, tmp_path):
    """A ServiceAccount that may read everything and change nothing: the drain names what it lacks."""
    ctx = lab_context(running_lab)
    ctx.k8s = K8sGateway(viewer_kubeconfig(running_lab, kube, tmp_path))
    result = await drain(ctx, "blade3", yes=True)
    assert result.code == REFUSED, result.text
    assert "Kubernetes patch nodes" in result.text and "Kubernetes create pods/eviction" in result.text
    assert "PVE" not in result.text.split("missing privileges:")[1].split(";")[0]  # the PVE token may
    assert not noout(pve) and cordoned(kube) == [] and await ctx.journal.maintenance() == []
