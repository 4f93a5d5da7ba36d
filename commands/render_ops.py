"""Operations as a list (a table) and one by one (with steps), each with what to do next."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from commands.render import line, names
from commands.render_status import table, when
from infra.journal import OperationStatus

PHASE_STYLE = {"Succeeded": "green", "Failed": "bold red", "Cancelled": "yellow", "Refused": "yellow",
               "Running": "cyan"}
MAX_PENDING = 3  # a `reboot all` has 45 steps: name the next few, count the rest


def next_step(op: OperationStatus, interrupted: bool = False,
              maintenance: set[str] | None = None) -> str | None:
    """What the operator can do about an operation that did not succeed; None once it no longer
    applies (`maintenance`, the blades in maintenance now: a hint about one that left says nothing)."""
    if interrupted:
        return (f"interrupted (its process is gone): `drewburr ops resume {op.id}` continues it; "
                f"`drewburr ops cancel {op.id}` stops it for good")
    if op.phase not in ("Failed", "Cancelled") or not any(s.outcome == "done" for s in op.steps):
        return None
    then = "fix the cause, then " if op.phase == "Failed" else ""
    if op.kind == "addons":  # no maintenance: every step re-applies and looks again
        return f"{then}`drewburr addons install {op.target} --yes` again (a re-run redoes only what is amiss)"
    stopped = next((s.name for s in op.steps if s.outcome != "done"), "")
    if op.kind == "provision":
        return _provision_next(op, stopped)
    if op.kind not in BLADE_KINDS:  # bootstrap, fence, zone: no maintenance to finish or undo
        return (f"what its done steps did stays: {then}see `drewburr ops show {op.id}` for what is left "
                "(docs/operations.md, the runbooks)")
    blade, _, step = stopped.rpartition("/") if op.kind == "reboot-all" else (op.target, "", stopped)
    if maintenance is not None and blade not in maintenance:
        return None
    if op.kind == "restore" or step.startswith("restore:"):
        return f"{then}`drewburr restore {blade}` again (each step is safe to repeat)"
    if step in ("reboot", "wait-online", "wait-ceph"):
        return (f"{blade} is still in maintenance: once it is back and Ceph is healthy, "
                f"`drewburr restore {blade}` ends it")
    return (f"{blade} stays in maintenance with what was done (noout, cordons, VMs moved): {then}"
            f"`drewburr drain {blade} --yes` to finish, or `drewburr restore {blade}` to undo")


BLADE_KINDS = frozenset({"drain", "evacuate", "restore", "reboot", "reboot-all"})  # a blade in maintenance


def _provision_next(op: OperationStatus, stopped: str) -> str:
    if stopped in ("label", "ready"):  # past the join: the VM is a node and stays
        return f"{op.target} joined the cluster: fix the cause, then check it with `drewburr status`"
    return (f"a VM made before the failure is removed (the error says so): fix the cause, then "
            f"`drewburr provision {op.target}` again")


def _phase(op: OperationStatus) -> Text:
    return Text(op.phase, style=PHASE_STYLE.get(op.phase, ""))


def render_operation(op: OperationStatus, steps: bool = True, interrupted: bool = False,
                     maintenance: set[str] | None = None) -> RenderableType:
    progress = f"progress={op.done}/{op.total}  " if op.total else ""
    head = Text.assemble(f"Operation {op.id}: {op.kind} {op.target}  phase=", _phase(op),
                         f"  {progress}since {when(op.last_transition)}")
    out: list[RenderableType] = [head]
    if op.last_error and op.phase != "Succeeded":  # an error a resume got past is history, not news
        out.append(line(f"{'reason' if op.phase == 'Refused' else 'last error'}: {op.last_error}", 2))
    if op.pending and op.phase != "Succeeded":
        out.append(line(f"pending: {names(op.pending, MAX_PENDING)}", 2))
    if hint := next_step(op, interrupted, maintenance):
        out.append(line(f"next: {hint}", 2))
    if steps and op.steps:
        t = table("STEP", "OUTCOME", "ATTEMPTS", "TOOK", "MESSAGE")
        for s in op.steps:
            took = f"{s.finished - s.started:.1f}s" if s.started and s.finished else ""
            style = {"done": "green", "failed": "bold red", "retrying": "yellow"}.get(s.outcome, "")
            t.add_row(s.name, Text(s.outcome, style=style), str(s.attempts), took, s.message)
        out.append(t)
    return Group(*out)


def render_operations(rows: list[OperationStatus], interrupted: set[int],
                      maintenance: set[str]) -> RenderableType:
    t = table("ID", "OPERATION", "PHASE", "PROGRESS", "CHANGED", "NOTE")
    for op in rows:
        note = next_step(op, op.id in interrupted, maintenance) or ""
        if not note and op.last_error and op.phase not in ("Succeeded",):
            note = op.last_error
        t.add_row(str(op.id), f"{op.kind} {op.target}", _phase(op),
                  f"{op.done}/{op.total}" if op.total else "-", when(op.last_transition), note)
    return t
