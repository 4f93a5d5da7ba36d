"""`drain BLADE`: noout -> cordon -> evict -> live-migrate -> recorded in maintenance.

Each step looks at the real system first, so running it again (resume after a crash)
does no harm. What must be undone later (placement, cordons, noout) is in the journal's
maintenance record before the change is made.
"""

from __future__ import annotations

import contextlib
from typing import Literal

from infra.errors import Blocked, Fatal, GatewayError, NotFound, Retryable, TimedOut, Unavailable
from infra.journal import Maintenance
from infra.operations.context import Context
from infra.operations.machine import Step
from infra.operations.migrate import migrate_all
from infra.planner import OVERRIDE_FLAG, Intent, plan
from infra.topology import Snapshot, Vm
from infra.topology_build import MAINTENANCE_ANNOTATION, parse_pods


async def _record(ctx: Context, blade: str) -> Maintenance:
    record = await ctx.journal.get_maintenance(blade)
    if record is None:
        raise Fatal(f"no maintenance record for {blade}: run the plan step first")
    return record


async def _settle_record(ctx: Context, record: Maintenance, op_id: int) -> None:
    """After a change was refused: keep the record true; a drain that changed nothing leaves none."""
    if record.op_id == op_id and not record.noout_set and not record.cordoned:
        await ctx.journal.clear_maintenance(record.blade)
    else:
        await ctx.journal.put_maintenance(record)


def _stranded(snap: Snapshot, record: Maintenance) -> tuple[list[Vm], list[str]]:
    """The blade's VMs not yet safe elsewhere: (HA VMs on an offline blade, that PVE HA will restart;
    a line for each other VM still running on the blade or sitting on an offline blade)."""
    waiting, lost = [], []
    for vmid in record.placement:
        vm = snap.vms.get(vmid)
        if vm is None or vm.blade not in snap.blades:
            continue
        offline = not snap.blades[vm.blade].online
        if offline and vm.ha:
            waiting.append(vm)
        elif offline or (vm.blade == record.blade and vm.running):
            lost.append(f"{vm.name} ({vm.vmid}) on {vm.blade}, {'offline' if offline else vm.status}")
    return waiting, lost


def drain_steps(ctx: Context, op_id: int, blade: str, prefix: str = "",
                for_: Literal["drain", "reboot"] = "drain") -> list[Step]:
    """`for_`: the intent the plan step checks (a reboot's blockers are stricter)."""
    async def check() -> str:
        snap = await ctx.snapshot()
        p = plan(snap, Intent(kind=for_, blade=blade), ctx.plan_options())
        if p.blockers and not ctx.options.force:
            raise Fatal("refused: " + "; ".join(f.message for f in p.blockers))
        here = {vm.vmid: blade for vm in snap.vms_on(blade) if vm.running}
        record = await ctx.journal.get_maintenance(blade)
        if record is None:
            record = Maintenance(blade=blade, op_id=op_id, since=ctx.clock(), placement=here,
                                 nodes=[n.node for n in p.nodes], ceph_checks=sorted(snap.ceph.problems()))
        else:  # resumed, or drained again while in maintenance: keep what it knew, add what is new
            record.placement = {**here, **record.placement}
            record.nodes = sorted({*record.nodes, *(n.node for n in p.nodes)})
        await ctx.journal.put_maintenance(record)
        await ctx.journal.remember_homes(here, op_id)
        others = [m.blade for m in await ctx.journal.maintenance() if m.blade != blade]
        if others and not ctx.options.allow_more_maintenance:  # another drain raced this one
            if record.op_id == op_id:
                await ctx.journal.clear_maintenance(blade)
            raise Fatal(f"refused: {', '.join(others)} already in maintenance "
                        f"(an admin can override with {OVERRIDE_FLAG})")
        await ctx.journal.update_params(op_id, {f"{prefix}plan": p.model_dump(mode="json")})
        return f"{len(p.moves)} VM(s) to move, {len(p.nodes)} node(s) to drain, {len(p.warnings)} warning(s)"

    async def noout() -> str:
        record = await _record(ctx, blade)
        if "noout" in await ctx.ceph.flags_set():
            return "noout set (by this maintenance)" if record.noout_set else "noout already set"
        record.noout_set = True  # recorded before the change, so a crash cannot orphan the flag
        await ctx.journal.put_maintenance(record)
        try:
            await ctx.ceph.set_flag("noout", True)
        except GatewayError as exc:
            if not isinstance(exc, Unavailable):  # refused for good: the record says what Ceph says
                record.noout_set = "noout" in await ctx.ceph.flags_set()
                await _settle_record(ctx, record, op_id)
            raise
        return "noout set"

    async def cordon() -> str:
        record = await _record(ctx, blade)
        if ctx.k8s is None:
            return "no Kubernetes configured"
        done = []
        for name in record.nodes:
            try:
                node = await ctx.k8s.node_info(name)
            except NotFound:  # deleted since the plan: nothing to cordon, no pod to evict
                continue
            if node.unschedulable:
                continue
            record.cordoned = sorted({*record.cordoned, name})
            await ctx.journal.put_maintenance(record)
            try:
                await ctx.k8s.cordon(name)
            except GatewayError as exc:
                if not isinstance(exc, Unavailable):
                    if not (await ctx.k8s.node_info(name)).unschedulable:
                        record.cordoned.remove(name)
                    await _settle_record(ctx, record, op_id)
                raise
            done.append(name)
        return f"cordoned {', '.join(done) or 'nothing new'}"

    async def evict() -> str:
        record = await _record(ctx, blade)
        k8s = ctx.k8s
        if k8s is None or not record.nodes:
            return "nothing to evict"
        evicted: set[str] = set()
        remaining: list[str] = []
        blocked: list[str] = []

        async def gone() -> str | None:
            remaining.clear()
            blocked.clear()
            for name in record.nodes:
                for pod in parse_pods(await k8s.list_pods(node=name)):
                    if not pod.drained:
                        continue
                    remaining.append(pod.key)
                    if pod.deleting:
                        continue
                    try:
                        await k8s.evict(pod.namespace, pod.name)
                        evicted.add(pod.key)
                    except Blocked as exc:
                        blocked.append(f"{pod.key} ({exc.detail})")
                    except NotFound:
                        pass
            if remaining:
                return None
            # a resumed step may find the pods gone: it says so, not "evicted 0"
            return f"evicted {len(evicted)} pod(s)" if evicted else "no pod left to evict"
        return await ctx.poll_until(
            gone, ctx.options.drain_timeout_seconds,
            lambda: f"the pods to leave {', '.join(record.nodes)}; "
                    f"stuck: {', '.join((blocked or remaining)[:10])}",
            interval=lambda: ctx.options.eviction_retry_seconds if blocked else None)

    replanned: list[str] = []  # why a migration had to find a new target, for the journal
    ha_wait: list[float] = []  # when we started waiting for PVE HA to restart a VM a dead target took

    async def migrate() -> str:
        record = await _record(ctx, blade)
        snap = await ctx.snapshot()
        waiting, _ = _stranded(snap, record)
        if waiting:  # a target died after the move: PVE HA restarts the VM somewhere, then we look again
            ha_wait[:] = ha_wait or [ctx.clock() + ctx.options.migration_timeout_seconds]
            names = ", ".join(f"{vm.name} ({vm.vmid}) on {vm.blade}" for vm in waiting)
            if ctx.clock() >= ha_wait[0]:  # a wait across the step's retries, each a fresh look
                raise TimedOut(f"PVE HA to restart {names} after its blade went offline",
                               ctx.options.migration_timeout_seconds)
            raise Retryable(f"waiting for PVE HA to restart {names} (offline)",
                            delay=ctx.options.poll_seconds)
        p = plan(snap, Intent(kind="drain", blade=blade), ctx.plan_options())
        arrived = {m.vmid: blade for m in p.moves if m.vmid not in record.placement}
        if arrived:  # started or restarted on the blade since the plan: it leaves too, and comes home after
            record.placement = {**record.placement, **arrived}
            await ctx.journal.put_maintenance(record)
        moves = [(m.vmid, m.source, m.target) for m in p.moves]
        homeless = [str(v) for v, _, t in moves if t is None]
        if homeless:
            raise Fatal(f"no blade has room for VM(s) {', '.join(homeless)}")
        try:
            done = await migrate_all(ctx, [(v, s, t) for v, s, t in moves if t])
        except Retryable as exc:
            replanned.append(str(exc))
            raise
        return "; ".join([*done, *(f"planned again: {r}" for r in replanned)]) or "no VM left to move"

    async def mark() -> str:
        record = await _record(ctx, blade)
        # The end state, seen again: a target may have died after the move.
        waiting, lost = _stranded(await ctx.snapshot(), record)
        lost += [f"{vm.name} ({vm.vmid}) on {vm.blade}, offline" for vm in waiting]
        if lost:
            raise Fatal(f"not every VM of {blade} ended on an online blade: {'; '.join(lost)}. Run "
                        f"`drewburr drain {blade} --yes` again to move them (HA VMs restart by themselves)")
        if ctx.k8s is not None:
            for name in record.nodes:
                with contextlib.suppress(NotFound):  # deleted since the plan
                    await ctx.k8s.set_annotations(name, {MAINTENANCE_ANNOTATION: blade})
        return f"{blade} in maintenance (nodes {', '.join(record.nodes) or 'none'} annotated)"

    return [Step(f"{prefix}plan", check), Step(f"{prefix}noout", noout), Step(f"{prefix}cordon", cordon),
            Step(f"{prefix}evict", evict), Step(f"{prefix}migrate", migrate), Step(f"{prefix}mark", mark)]
