from __future__ import annotations

from commands.render import MAX_LISTED, render_operation, render_plan, render_status
from infra.journal import OperationStatus, StepRecord
from infra.planner import Intent, plan
from tests.unit.infra.homelab import homelab, pod


def test_plan_text_names_moves_nodes_noout_and_warnings():
    text = render_plan(plan(homelab(), Intent(kind="drain", blade="blade3")))
    assert "kube03 (103, 4.0 GiB, K3s server): blade3 -> blade4" in text
    assert "kube05: evict 3 pod(s)" in text and "left (DaemonSet/mirror): 1" in text
    assert "Ceph: set noout" in text
    assert "[downtime] Deployment default/ingress-solo has all 2 ready replicas on kube05" in text
    assert text.endswith("Ready to go.")


def test_plan_text_with_blockers_says_refused():
    snap = homelab()
    snap.blades["blade2"].maintenance = True
    text = render_plan(plan(snap, Intent(kind="drain", blade="blade3")))
    assert "Blockers:\n  - [maintenance] blade2 already in maintenance" in text
    assert text.endswith("Refused: resolve the blockers first.")


def test_long_pod_lists_are_cut():
    snap = homelab()
    snap.pods += [pod(f"web-{i}", "kube03", owner="web") for i in range(MAX_LISTED + 5)]
    text = render_plan(plan(snap, Intent(kind="drain", blade="blade3")))
    assert "and 6 more" in text


def test_status_table_has_a_row_per_blade_and_node():
    snap = homelab()
    snap.blades["blade2"].online = False
    snap.nodes["kube05"].unschedulable = True
    text = render_status(snap)
    assert "blade2     OFFLINE" in text
    assert "blade3     online                10.0 GiB / 16.0 GiB  kube03, kube05" in text
    assert "kube05       yes    cordoned    blade3" in text


def test_operation_reads_like_a_resource_status():
    op = OperationStatus(id=7, kind="drain", target="blade3", phase="Failed", created=0, last_transition=60,
                         last_error="VM 105 is locked (backup) on blade3",
                         steps=[StepRecord(name="plan", outcome="done", started=1, finished=2, attempts=1),
                                StepRecord(name="migrate", outcome="failed", attempts=1, message="locked")])
    text = render_operation(op)
    first = text.splitlines()[0]
    assert first == "Operation 7: drain blade3  phase=Failed  progress=1/2  since 1970-01-01 00:01:00 UTC"
    assert "last error: VM 105 is locked (backup)" in text and "pending: migrate" in text
    assert "[done     ] plan (attempts 1 1.0s)" in text


def test_a_failed_drain_says_what_to_do_next():
    op = OperationStatus(id=7, kind="drain", target="blade3", phase="Failed", created=0, last_transition=60,
                         steps=[StepRecord(name="noout", outcome="done"), StepRecord(name="migrate",
                                                                                   outcome="failed")])
    assert ("next: blade3 stays in maintenance with what was done (noout, cordons, VMs moved): fix the "
            "cause, then `drewburr drain blade3 --yes` to finish, or `drewburr restore blade3` to undo"
            ) in render_operation(op)


def test_a_reboot_all_that_stopped_at_the_boot_names_that_blade():
    op = OperationStatus(id=3, kind="reboot-all", target="all", phase="Failed", created=0, last_transition=0,
                         steps=[StepRecord(name="blade1/restore:clear", outcome="done"),
                                StepRecord(name="blade2/wait-ceph", outcome="failed")])
    assert "next: blade2 is still in maintenance: once it is back and Ceph is healthy, " \
           "`drewburr restore blade2 --migrate-back` ends it" in render_operation(op)


def test_an_interrupted_operation_says_resume_or_cancel():
    op = OperationStatus(id=4, kind="drain", target="blade3", phase="Running", created=0, last_transition=0,
                         steps=[StepRecord(name="plan", outcome="done")])
    assert "`drewburr ops resume 4` continues it" in render_operation(op, interrupted=True)
    assert "next:" not in render_operation(op)


def test_a_resumed_operation_that_succeeded_does_not_show_its_old_error():
    op = OperationStatus(id=5, kind="drain", target="blade3", phase="Succeeded", created=0, last_transition=0,
                         last_error="interrupted (Ctrl-C)", steps=[StepRecord(name="plan", outcome="done")])
    assert "interrupted" not in render_operation(op)
