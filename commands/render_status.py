"""`status` as tables: blades, K8s nodes, then what needs a look (moved VMs, mismatches, maintenance)."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from commands.render import gib, line, names
from infra.journal import Maintenance
from infra.topology import Snapshot


def when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def table(*columns: str) -> Table:
    """A kubectl-like table: no box, a bold header, cells wrap when the terminal is narrow."""
    t = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for c in columns:
        t.add_column(c, overflow="fold")
    return t


def _blades(snap: Snapshot) -> Table:
    t = table("BLADE", "STATE", "MEMORY USED", "VMS")
    osd_down = {o.host for o in snap.ceph.osds if not o.up}
    for b in sorted(snap.blades.values(), key=lambda b: b.name):
        vms = snap.vms_on(b.name)
        used = sum(v.maxmem for v in vms if v.running)
        state = Text("online" if b.online else "OFFLINE", style="" if b.online else "bold red")
        if b.maintenance:
            state.append(" maint", style="yellow")
        if b.name in osd_down:
            state.append(" osd-down", style="red")
        vm_names = [v.name + ("" if v.running else f" ({'template' if v.template else v.status})")
                    for v in vms]
        t.add_row(b.name, state, f"{gib(used)} / {gib(b.maxmem)}", names(vm_names))
    return t


def _nodes(snap: Snapshot) -> Table:
    t = table("NODE", "READY", "SCHED", "BLADE", "PODS")
    for n in sorted(snap.nodes.values(), key=lambda n: n.name):
        t.add_row(n.name, Text("yes") if n.ready else Text("NO", style="bold red"),
                  Text("cordoned", style="yellow") if n.unschedulable else Text("yes"),
                  snap.blade_of_node(n.name) or "?", str(len(snap.pods_by_node.get(n.name, []))))
    return t


def _noout(m: Maintenance, flags: list[str]) -> str:
    """What the record says about noout, checked against Ceph now (a record must not claim a flag
    that is not there)."""
    if m.noout_set:
        return "noout set by it" if "noout" in flags else "noout set by it, but cleared since"
    return "noout set by another" if "noout" in flags else "noout not set"


def render_status(snap: Snapshot, maintenance: list[Maintenance], locks: dict[str, int]) -> RenderableType:
    ceph = Text(snap.ceph.health, style="green" if snap.ceph.health == "HEALTH_OK" else "yellow")
    head = Text.assemble("PVE: ", ("quorate", "green") if snap.pve_quorate else ("NO QUORUM", "bold red"),
                         "; Ceph: ", ceph,
                         f" (flags: {', '.join(snap.ceph.flags)})" if snap.ceph.flags else "")
    out: list[RenderableType] = [head]
    out += [line(f"{check}: {message}", 2) for check, message in sorted(snap.ceph.checks.items())]
    out.append(_blades(snap))
    if snap.nodes:
        out.append(_nodes(snap))
    out += [line(m, 2) for m in snap.moved]
    out += [line(f"! {m}", style="yellow") for m in snap.mismatches]
    out += [line(f"! unreachable: {e}", style="bold red") for e in snap.errors]
    for m in maintenance:
        noout = _noout(m, snap.ceph.flags)
        cordoned = ", ".join(m.cordoned) or "nothing"
        out.append(line(Text.assemble(
            ("In maintenance: ", "yellow"),
            f"{m.blade} since {when(m.since)} (operation {m.op_id}; cordoned {cordoned}; {noout}); "
            f"`drewburr restore {m.blade}` ends it and brings its VMs home (`--stay` keeps them where "
            "they are)")))
    if locks:
        out.append(line("Locks: " + ", ".join(f"{b} (operation {op})" for b, op in sorted(locks.items()))))
    return Group(*out)
