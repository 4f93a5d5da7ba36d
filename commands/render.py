"""Plain-text rendering of plans, snapshots and operations (what the CLI prints)."""

from __future__ import annotations

from datetime import UTC, datetime

from infra.journal import OperationStatus
from infra.planner import Plan
from infra.topology import GIB, Snapshot

MAX_LISTED = 8


def _gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def render_plan(plan: Plan) -> str:
    intent = plan.intent
    lines = [f"Plan: {intent.kind} {intent.blade}"]
    if plan.moves:
        total = sum(m.memory for m in plan.moves)
        verb = "restart elsewhere by PVE HA" if intent.kind == "down" else "live-migrate"
        lines.append(f"  VMs to {verb} ({len(plan.moves)}, {_gib(total)}):")
        for m in plan.moves:
            role = ", K3s server" if m.server else ""
            target = m.target or "NO ROOM"
            lines.append(f"    {m.name} ({m.vmid}, {_gib(m.memory)}{role}): {m.source} -> {target}")
    else:
        lines.append("  No running VM to move.")
    if plan.stays:
        lines.append(f"  Left in place: {_names(plan.stays)}")
    if plan.nodes:
        lines.append("  K8s nodes to cordon and drain:")
        for n in plan.nodes:
            note = " (already cordoned)" if n.cordoned else ""
            lines.append(f"    {n.node}{note}: evict {len(n.evict)} pod(s)"
                         + (f": {_names(n.evict)}" if n.evict else ""))
            if n.left:
                lines.append(f"      left (DaemonSet/mirror): {len(n.left)}")
    if plan.set_noout:
        lines.append("  Ceph: set noout while the blade is in maintenance")
    for title, found in (("Blockers", plan.blockers), ("Warnings", plan.warnings)):
        if found:
            lines.append(f"{title}:")
            lines.extend(f"  - [{f.code}] {f.message}" for f in found)
    lines.append("Ready to go." if plan.ok else "Refused: resolve the blockers first.")
    return "\n".join(lines)


def render_status(snap: Snapshot) -> str:
    lines = [f"PVE: {'quorate' if snap.pve_quorate else 'NO QUORUM'}; Ceph: {snap.ceph.health}"
             + (f" (flags: {', '.join(snap.ceph.flags)})" if snap.ceph.flags else "")]
    for check, message in sorted(snap.ceph.checks.items()):
        lines.append(f"  {check}: {message}")
    lines.append(f"{'BLADE':<10} {'STATE':<21} {'MEMORY USED':<20} VMS")
    osd_down = {o.host for o in snap.ceph.osds if not o.up}
    for b in sorted(snap.blades.values(), key=lambda b: b.name):
        vms = snap.vms_on(b.name)
        used = sum(v.maxmem for v in vms if v.running)
        state = "online" if b.online else "OFFLINE"
        state += " maint" if b.maintenance else ""
        state += " osd-down" if b.name in osd_down else ""
        names = [v.name + ("" if v.running else f" ({'template' if v.template else v.status})") for v in vms]
        lines.append(f"{b.name:<10} {state:<21} {_gib(used) + ' / ' + _gib(b.maxmem):<20} {_names(names)}")
    if snap.nodes:
        lines.append(f"{'NODE':<12} {'READY':<6} {'SCHED':<11} {'BLADE':<10} PODS")
        counts = {name: len(pods) for name, pods in snap.pods_by_node.items()}
        for n in sorted(snap.nodes.values(), key=lambda n: n.name):
            lines.append(f"{n.name:<12} {'yes' if n.ready else 'NO':<6} "
                         f"{'cordoned' if n.unschedulable else 'yes':<11} "
                         f"{snap.blade_of_node(n.name) or '?':<10} {counts.get(n.name, 0)}")
    lines.extend(f"  {m}" for m in snap.moved)
    lines.extend(f"! {m}" for m in snap.mismatches)
    lines.extend(f"! unreachable: {e}" for e in snap.errors)
    return "\n".join(lines)


def when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def next_step(op: OperationStatus, interrupted: bool = False) -> str | None:
    """What the operator can do about an operation that did not succeed."""
    if interrupted:
        return (f"interrupted (its process is gone): `drewburr ops resume {op.id}` continues it; "
                f"`drewburr ops cancel {op.id}` stops it for good")
    if op.phase not in ("Failed", "Cancelled") or not any(s.outcome == "done" for s in op.steps):
        return None
    stopped = next((s.name for s in op.steps if s.outcome != "done"), "")
    blade, _, step = stopped.rpartition("/") if op.kind == "reboot-all" else (op.target, "", stopped)
    if op.kind == "restore" or step.startswith("restore:"):
        then = "fix the cause, then " if op.phase == "Failed" else ""
        return f"{then}`drewburr restore {blade}` again (each step is safe to repeat)"
    if step in ("reboot", "wait-online", "wait-ceph"):
        return (f"{blade} is still in maintenance: once it is back and Ceph is healthy, "
                f"`drewburr restore {blade} --migrate-back` ends it")
    then = "fix the cause, then " if op.phase == "Failed" else ""
    return (f"{blade} stays in maintenance with what was done (noout, cordons, VMs moved): {then}"
            f"`drewburr drain {blade} --yes` to finish, or `drewburr restore {blade}` to undo")


def render_operation(op: OperationStatus, steps: bool = True, interrupted: bool = False) -> str:
    progress = f"progress={op.done}/{op.total}  " if op.total else ""
    lines = [f"Operation {op.id}: {op.kind} {op.target}  phase={op.phase}  "
             f"{progress}since {when(op.last_transition)}"]
    if op.last_error and op.phase != "Succeeded":  # an error a resume got past is history, not news
        lines.append(f"  {'reason' if op.phase == 'Refused' else 'last error'}: {op.last_error}")
    if op.pending and op.phase not in ("Succeeded",):
        lines.append(f"  pending: {', '.join(op.pending)}")
    if hint := next_step(op, interrupted):
        lines.append(f"  next: {hint}")
    if steps:
        for s in op.steps:
            took = f" {s.finished - s.started:.1f}s" if s.started and s.finished else ""
            lines.append(f"  [{s.outcome:<9}] {s.name} (attempts {s.attempts}{took})"
                         + (f": {s.message}" if s.message else ""))
    return "\n".join(lines)
