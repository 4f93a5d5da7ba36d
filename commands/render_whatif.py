"""`whatif BLADE` as text: restarts, what stays down, pods lost, quorum, Ceph, PDBs, findings."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from commands.render import findings, line, names
from infra.whatif import WhatIf


def _quorum(w: WhatIf) -> list[RenderableType]:
    out: list[RenderableType] = [line("Quorum:", 2)]
    for q in w.quorum:
        verdict = Text("kept", style="green") if q.kept else Text("LOST", style="bold red")
        note = f" ({q.note})" if q.note else ""
        out.append(line(Text.assemble(f"{q.system}: {q.staying} of {q.total} stay, {q.needed} needed: ",
                                      verdict, note), 4))
    return out


def render_whatif(w: WhatIf) -> RenderableType:
    state = " (it is offline in PVE already)" if w.offline_now else ""
    out: list[RenderableType] = [line(f"What if {w.blade} dies now{state}: nothing changes, this is "
                                      "an analysis", style="bold")]
    started = [r for r in w.restarts if r.target]
    out.append(line("PVE HA restarts:" if started else "PVE HA restarts no VM.", 2))
    out += [line(f"{r.name} ({r.vmid}) on {r.target} ({r.why})", 4) for r in started]
    if w.stays_down:
        out.append(line("Stay down:", 2))
        out += [line(s, 4) for s in w.stays_down]
    out.append(line("Pods lost:" if w.pods else "No pod is lost.", 2))
    for p in w.pods:
        others = f"{p.elsewhere} ready elsewhere meanwhile" if p.elsewhere else "NONE elsewhere: down"
        out.append(line(f"{p.workload} ({names(p.pods)}; {others})", 4))
        out.append(line(f"without drewburr: {p.without}", 6))
        out.append(line(f"with drewburr: {p.with_drewburr}", 6))
    out += _quorum(w)
    if w.ceph is None:
        out.append(line("Ceph: the OSD tree reports no sizes for this blade: re-replication not assessed", 2))
    else:
        out.append(line(f"Ceph: {w.ceph.summary}", 2, style="red" if w.ceph.risks else ""))
    if w.pdbs:
        out.append(line("PDBs broken:", 2))
        out += [line(p, 4) for p in w.pdbs]
    out += findings("Also", w.findings, "yellow")
    return Group(*out)
