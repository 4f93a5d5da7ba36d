"""`fence BLADE`: a dead blade's Kubernetes nodes get the out-of-service taint, so that their
pods (StatefulSets above all) come back elsewhere instead of staying Terminating forever.

confirm-off -> taint -> recover -> release. Only a blade confirmed off is fenced: PVE's HA
manager fenced it (infra/fencing.py), or an admin confirmed it powered off (`confirmed_by`).
A blade PVE sees online is never fenced. The taint goes on the NotReady nodes of the blade's
VMs: the non-HA ones (PVE will not restart them) and the HA ones until PVE restarts them
elsewhere. It comes off each node once that node is Ready again: at the end of the operation
for the HA VMs already back, later (`release_ready`, called by the remediation loop) for the
others, once the blade is back. What was tainted is in the operation's params (`tainted`).
"""

from __future__ import annotations

import contextlib
from typing import Any

from infra.errors import Fatal, NotFound, Retryable
from infra.fencing import fence_state
from infra.operations.context import Context
from infra.operations.machine import Step
from infra.topology import Snapshot

TAINT_KEY, TAINT_VALUE, TAINT_EFFECT = "node.kubernetes.io/out-of-service", "nodeshutdown", "NoExecute"


async def _params(ctx: Context, op_id: int) -> dict[str, Any]:
    op = await ctx.journal.get(op_id)
    return op.params if op else {}


def _where_vms_are(snap: Snapshot, blade: str, vmids: list[int]) -> str:
    """Which of the blade's VMs PVE HA restarted where, and which stay down."""
    said = []
    for vmid in vmids:
        vm = snap.vms.get(vmid)
        if vm is None:
            continue
        if vm.ha and vm.blade != blade:
            said.append(f"PVE HA restarted {vm.name} ({vmid}) on {vm.blade} ({vm.status})")
        elif vm.ha:
            said.append(f"{vm.name} ({vmid}) waits for PVE HA (state {vm.ha_state})")
        else:
            said.append(f"{vm.name} ({vmid}) is not HA: it stays down on {blade}")
    return "; ".join(said)


async def release_ready(ctx: Context, op_id: int) -> list[str]:
    """Take the taint off every node this fence tainted that is Ready again; returns their names."""
    if ctx.k8s is None:
        return []
    params = await _params(ctx, op_id)
    snap = await ctx.snapshot()
    released = []
    for name in params.get("tainted", []):
        node = snap.nodes.get(name)
        if node is None or node.ready:
            with contextlib.suppress(NotFound):  # deleted meanwhile: nothing left to untaint
                await ctx.k8s.set_taint(name, TAINT_KEY, TAINT_EFFECT, present=False)
            released.append(name)
    if released:
        await ctx.journal.update_params(op_id, {"tainted": [n for n in params.get("tainted", [])
                                                            if n not in released]})
    return released


def fence_steps(ctx: Context, op_id: int, blade: str) -> list[Step]:
    waited: list[float] = []  # the deadline for PVE HA to finish fencing

    async def confirm_off() -> str:
        snap = await ctx.snapshot()
        if blade not in snap.blades:
            raise Fatal(f"{blade} is not a PVE node")
        if snap.blades[blade].online:
            raise Fatal(f"refused: PVE sees {blade} online; a blade PVE sees online is never fenced")
        params = await _params(ctx, op_id)
        if params.get("confirmed_by"):
            why = f"{blade} confirmed powered off by {params['confirmed_by']}"
        else:
            state = fence_state(await ctx.pve.ha_manager_status(), blade)
            if state.verdict == "fencing":
                waited[:] = waited or [ctx.clock() + ctx.options.boot_timeout_seconds]
                if ctx.clock() >= waited[0]:  # a wait across the step's retries, each a fresh look
                    raise Fatal(f"PVE HA did not fence {blade} within "
                                f"{ctx.options.boot_timeout_seconds:.0f}s")
                raise Retryable(state.reason, delay=ctx.options.poll_seconds)
            if not state.off:
                raise Fatal(f"refused: {state.reason}")
            why = state.reason
        # the blade's VMs now, and the HA VMs PVE HA already took elsewhere (their node's zone is still
        # here); not a VM a drain moved away (its zone is stale, but it was not on the blade when it died)
        moved = await ctx.journal.homes()
        vmids = sorted({vm.vmid for vm in snap.vms_on(blade) if not vm.template}
                       | {n.vm for n in snap.nodes.values() if n.zone == blade and n.vm in snap.vms
                          and snap.vms[n.vm].ha and n.vm not in moved})
        nodes = sorted(n.name for n in snap.nodes.values() if n.vm in vmids and not n.ready)
        await ctx.journal.update_params(op_id, {"vms": vmids, "nodes": nodes})
        return f"{why}; NotReady nodes of its VMs: {', '.join(nodes) or 'none'}"

    async def taint() -> str:
        if ctx.k8s is None:
            return "no Kubernetes configured"
        params = await _params(ctx, op_id)
        snap = await ctx.snapshot()
        tainted: list[str] = list(params.get("tainted", []))
        for name in params.get("nodes", []):
            node = snap.nodes.get(name)
            if node is None or node.ready:  # deleted, or its VM is back (PVE HA restarted it)
                continue
            tainted = sorted({*tainted, name})
            await ctx.journal.update_params(op_id, {"tainted": tainted})  # before the change: never orphaned
            await ctx.k8s.set_taint(name, TAINT_KEY, TAINT_EFFECT, TAINT_VALUE)
        leaving = [p for p in snap.pods if p.node in tainted and p.drained]
        workloads = sorted({p.workload for p in leaving if p.workload})
        # their pods Ready elsewhere already: what is Ready later and not in this list moved
        ready_before = [p.key for p in snap.pods
                        if p.ready and p.workload in workloads and p.node not in tainted]
        await ctx.journal.update_params(op_id, {"pods": sorted(p.key for p in leaving),
                                                "workloads": workloads, "ready_before": ready_before})
        return (f"{TAINT_KEY}={TAINT_VALUE}:{TAINT_EFFECT} on {', '.join(tainted) or 'no node'}; "
                f"{len(leaving)} pod(s) to move")

    settling: list[float] = []  # the deadline for the pods to come back elsewhere
    calm: list[bool] = []  # the last two looks: a replacement may not be scheduled yet on the first

    async def recover() -> str:
        params = await _params(ctx, op_id)
        snap = await ctx.snapshot()
        fenced, workloads = set(params.get("tainted", [])), set(params.get("workloads", []))
        left = [p.key for p in snap.pods if p.node in fenced and p.key in params.get("pods", [])]
        elsewhere = [p for p in snap.pods if p.workload in workloads and p.node not in fenced]
        moving = sorted({p.workload or "" for p in elsewhere if p.node and not p.ready})
        # HA VMs' nodes: PVE HA restarts them elsewhere; their taint comes off once they are Ready
        moving += [f"{n.name} (HA)" for n in snap.nodes.values() if n.name in fenced and not n.ready
                   and n.vm in snap.vms and snap.vms[n.vm].ha]
        calm[:] = [*calm, not left and not moving][-2:]
        late = []
        if calm != [True, True]:
            settling[:] = settling or [ctx.clock() + ctx.options.drain_timeout_seconds]
            if ctx.clock() < settling[0]:
                raise Retryable(f"waiting for {', '.join(left + moving)[:300] or 'the pods to settle'}",
                                delay=ctx.options.poll_seconds)
            late = [f"not moved in time: {k}" for k in left + moving]
        moved = [f"moved: {p.key} Ready on {p.node} ({snap.blade_of_node(p.node or '')})" for p in elsewhere
                 if p.ready and p.key not in params.get("ready_before", [])]
        pending = [f"no place for: {w} (Pending)" for w in sorted({p.workload or "" for p in elsewhere
                                                                  if not p.node})]
        return "; ".join([_where_vms_are(snap, blade, params.get("vms", [])), *moved, *pending, *late])

    async def release() -> str:
        released = await release_ready(ctx, op_id)
        left = (await _params(ctx, op_id)).get("tainted", [])
        return (f"taint removed from {', '.join(released) or 'no node'} (Ready again); "
                + (f"kept on {', '.join(left)} until they are Ready" if left else "no taint left"))

    return [Step("confirm-off", confirm_off), Step("taint", taint), Step("recover", recover),
            Step("release", release)]
