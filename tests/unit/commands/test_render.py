from __future__ import annotations

from commands.render import MAX_LISTED, plain, render_plan
from commands.render_ops import render_operation, render_operations
from commands.render_status import render_status
from infra.journal import OperationStatus, StepRecord
from infra.planner import Intent, plan
from tests.unit.infra.homelab import homelab, pod


def text_of(body, width: int = 1000) -> str:
    return plain(body, width)


def test_plan_text_names_moves_nodes_noout_and_warnings():
    text = text_of(render_plan(plan(homelab(), Intent(kind="drain", blade="blade3"))))
    assert "kube03 (103, 4.0 GiB, K3s server): blade3 -> blade4" in text
    assert "kube05: 3 pod(s) to evict:" in text and "left (DaemonSet/mirror): 1" in text
    assert "Ceph: set noout" in text
    assert "[downtime] Deployment default/ingress-solo has all 2 ready replicas on kube05" in text
    # a downtime warning is not "ready to go"
    assert text.endswith("the warnings above mean downtime: go ahead only if that is acceptable.")


def test_plan_text_with_blockers_says_refused():
    snap = homelab()
    snap.blades["blade2"].maintenance = True
    text = text_of(render_plan(plan(snap, Intent(kind="drain", blade="blade3"))))
    assert "Blockers:\n  - [maintenance] blade2 already in maintenance" in text
    assert "(an admin can override with --admin-override)" in text
    assert text.endswith("Refused: resolve the blockers first.")


def test_a_plan_without_warnings_is_ready_to_go():
    text = text_of(render_plan(plan(homelab(), Intent(kind="drain", blade="blade1"))))
    assert "Warnings" not in text and text.endswith("Ready to go.")


def test_long_pod_lists_are_cut_and_wrap_under_their_indent_at_80_columns():
    snap = homelab()
    snap.pods += [pod(f"web-with-a-long-name-{i}", "kube03", owner="web") for i in range(MAX_LISTED + 5)]
    text = text_of(render_plan(plan(snap, Intent(kind="drain", blade="blade3"))), width=80)
    assert "and 6 more" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    listed = [line for line in text.splitlines() if "web-with-a-long-name" in line]
    assert len(listed) > 1 and all(line.startswith("      ") for line in listed)


def test_status_table_has_a_row_per_blade_and_node():
    snap = homelab()
    snap.blades["blade2"].online = False
    snap.nodes["kube05"].unschedulable = True
    text = text_of(render_status(snap, [], {}))
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    assert rows["blade2"][1] == "OFFLINE"
    assert rows["blade3"][1:] == ["online", "10.0", "GiB", "/", "16.0", "GiB", "kube03,", "kube05"]
    assert rows["kube05"][1:4] == ["yes", "cordoned", "blade3"]


def test_operation_reads_like_a_resource_status():
    op = OperationStatus(id=7, kind="drain", target="blade3", phase="Failed", created=0, last_transition=60,
                         last_error="VM 105 is locked (backup) on blade3",
                         steps=[StepRecord(name="plan", outcome="done", started=1, finished=2, attempts=1),
                                StepRecord(name="migrate", outcome="failed", attempts=1, message="locked")])
    text = text_of(render_operation(op))
    first = text.splitlines()[0]
    assert first == "Operation 7: drain blade3  phase=Failed  progress=1/2  since 1970-01-01 00:01:00 UTC"
    assert "last error: VM 105 is locked (backup)" in text and "pending: migrate" in text
    assert ["plan", "done", "1", "1.0s"] in [line.split() for line in text.splitlines()]


def test_a_failed_drain_says_what_to_do_next_while_the_blade_is_in_maintenance():
    op = OperationStatus(id=7, kind="drain", target="blade3", phase="Failed", created=0, last_transition=60,
                         steps=[StepRecord(name="noout", outcome="done"), StepRecord(name="migrate",
                                                                                   outcome="failed")])
    hint = ("next: blade3 stays in maintenance with what was done (noout, cordons, VMs moved): fix the "
            "cause, then `drewburr drain blade3 --yes` to finish, or `drewburr restore blade3` to undo")
    assert hint in text_of(render_operation(op, maintenance={"blade3"}), width=200)
    assert "next:" not in text_of(render_operation(op, maintenance=set()))  # restored since: no hint


def test_a_reboot_all_that_stopped_at_the_boot_names_that_blade():
    op = OperationStatus(id=3, kind="reboot-all", target="all", phase="Failed", created=0, last_transition=0,
                         steps=[StepRecord(name="blade1/restore:clear", outcome="done"),
                                StepRecord(name="blade2/wait-ceph", outcome="failed")])
    assert "next: blade2 is still in maintenance: once it is back and Ceph is healthy, " \
           "`drewburr restore blade2` ends it" in text_of(render_operation(op), width=200)


def test_an_interrupted_operation_says_resume_or_cancel():
    op = OperationStatus(id=4, kind="drain", target="blade3", phase="Running", created=0, last_transition=0,
                         steps=[StepRecord(name="plan", outcome="done")])
    assert "`drewburr ops resume 4` continues it" in text_of(render_operation(op, interrupted=True), 200)
    assert "next:" not in text_of(render_operation(op))


def test_a_resumed_operation_that_succeeded_does_not_show_its_old_error():
    op = OperationStatus(id=5, kind="drain", target="blade3", phase="Succeeded", created=0, last_transition=0,
                         last_error="interrupted (Ctrl-C)", steps=[StepRecord(name="plan", outcome="done")])
    assert "interrupted" not in text_of(render_operation(op))


def test_a_long_pending_list_is_summarised():
    steps = [StepRecord(name=f"blade{b}/step{i}") for b in range(1, 5) for i in range(11)]
    op = OperationStatus(id=9, kind="reboot-all", target="all", phase="Running", created=0, last_transition=0,
                         steps=steps)
    text = text_of(render_operation(op, steps=False), width=80)
    assert "pending: blade1/step0, blade1/step1, blade1/step2 and 41 more" in text
    listed = text_of(render_operations([op], set(), set()), width=80)
    assert max(len(line) for line in listed.splitlines()) <= 80 and "step5" not in listed


def test_a_failed_bootstrap_is_not_told_to_drain_a_blade() -> None:
    from commands.render_ops import next_step
    from infra.journal import OperationStatus, StepRecord
    op = OperationStatus(id=4, kind="bootstrap", target="3 servers, 1 agents", phase="Failed", created=0,
                         last_transition=0, steps=[StepRecord(name="kube01/place", outcome="done"),
                                                   StepRecord(name="kube01/clone", outcome="failed")])
    hint = next_step(op) or ""
    assert "drain" not in hint and "maintenance" not in hint and "ops show 4" in hint
