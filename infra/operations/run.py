"""Start, run and resume journaled operations by kind."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from infra import locks, owner
from infra.journal import OperationStatus
from infra.operations.addons import addons_steps
from infra.operations.bootstrap import bootstrap_locks, bootstrap_steps
from infra.operations.context import Context
from infra.operations.drain import drain_steps
from infra.operations.evacuate import evacuate_steps
from infra.operations.fence import fence_steps
from infra.operations.machine import Listener, Machine, Step
from infra.operations.provision import provision_locks, provision_steps
from infra.operations.reboot import reboot_all_steps, reboot_steps
from infra.operations.restore import restore_steps
from infra.operations.zone import zone_steps

# The operation the running code works for: logs name it (tasks started inside inherit it).
CURRENT_OPERATION: ContextVar[int | None] = ContextVar("drewburr_operation", default=None)

StepsFor = Callable[[Context, int, str, dict[str, Any]], list[Step]]


@dataclass(frozen=True)
class Kind:
    """One kind of operation: its steps (built again on resume) and the locks it holds."""
    steps: StepsFor
    locks: Callable[[str, dict[str, Any]], list[str]] = lambda target, params: [locks.blade(target)]


KINDS: dict[str, Kind] = {
    "drain": Kind(lambda ctx, op_id, target, params: drain_steps(ctx, op_id, target)),
    "restore": Kind(lambda ctx, op_id, target, params:
                    restore_steps(ctx, target, bool(params.get("migrate_back")))),
    "reboot": Kind(lambda ctx, op_id, target, params: reboot_steps(ctx, op_id, target)),
    # started by remediation (alert_handlers/remediate.py); a failing OSD's evacuation sets no noout
    "evacuate": Kind(lambda ctx, op_id, target, params:
                     evacuate_steps(ctx, op_id, target, bool(params.get("keep_noout", True)))),
    "fence": Kind(lambda ctx, op_id, target, params: fence_steps(ctx, op_id, target)),
    # `reboot all` names its blades and holds them all
    "reboot-all": Kind(lambda ctx, op_id, target, params:
                       reboot_all_steps(ctx, op_id, list(params["blades"])),
                       lambda target, params: [locks.blade(b) for b in params["blades"]]),
    # a VM name, its blade, and its VMID once taken (infra/operations/provision.py)
    "provision": Kind(provision_steps, provision_locks),
    # a new cluster: the cluster, and each VM's name, blade and VMID (infra/operations/bootstrap.py)
    "bootstrap": Kind(bootstrap_steps, bootstrap_locks),
    # the addons are the cluster's: one such operation at a time, whatever the addon
    "addons": Kind(lambda ctx, op_id, target, params: addons_steps(ctx, list(params["addons"])),
                   lambda target, params: [locks.CLUSTER]),
    # a node's zone label follows its VM (target: the node); no blade lock: it moves nothing
    "zone": Kind(lambda ctx, op_id, target, params: zone_steps(ctx, target, params),
                 lambda target, params: []),
}


def kind_of(kind: str) -> Kind:
    if kind not in KINDS:
        raise ValueError(f"unknown operation kind {kind!r}; kinds: {', '.join(KINDS)}")
    return KINDS[kind]


def steps_for(ctx: Context, kind: str, op_id: int, target: str, params: dict[str, Any]) -> list[Step]:
    return kind_of(kind).steps(ctx, op_id, target, params)


def locks_of(kind: str, target: str, params: dict[str, Any]) -> list[str]:
    return kind_of(kind).locks(target, params)


async def create(ctx: Context, kind: str, target: str, params: dict[str, Any]) -> OperationStatus:
    """Journal a new operation and take its locks (raises journal.Locked if held)."""
    names = [s.name for s in steps_for(ctx, kind, 0, target, params)]
    locks = locks_of(kind, target, params)
    return await ctx.journal.create(kind, target, params, names, locks, now=ctx.clock())


async def run(ctx: Context, op_id: int, listener: Listener | None = None) -> OperationStatus:
    op = await ctx.journal.get(op_id)
    if op is None:
        raise KeyError(op_id)
    steps = steps_for(ctx, op.kind, op.id, op.target, op.params)
    token = CURRENT_OPERATION.set(op_id)
    try:
        final = await Machine(ctx.journal, clock=ctx.clock, sleep=ctx.sleeper, listener=listener,
                              poll=ctx.options.poll_seconds, stopping=ctx.stopping).run(op_id, steps)
    finally:
        CURRENT_OPERATION.reset(token)
    for observe in ctx.observers:
        observe(final)
    return final


async def interrupted(ctx: Context) -> list[OperationStatus]:
    """Operations left unfinished by an owner that is gone (killed, crashed, rebooted, a replica lost)."""
    now = ctx.clock()
    return [op for op in await ctx.journal.unfinished()
            if not owner.alive(op.id, op.owner, op.heartbeat, now)]


async def cancel_interrupted(ctx: Context, op: OperationStatus) -> OperationStatus:
    """End an operation nobody runs: its unfinished step is marked cancelled, its locks freed.

    Nothing is undone: what the steps did stays, recorded (a drain's blade stays in maintenance).
    """
    for step in op.steps:
        if step.outcome in ("running", "retrying"):
            step.outcome, step.finished = "cancelled", ctx.clock()
            await ctx.journal.record_step(op.id, step)
    await ctx.journal.set_phase(op.id, "Cancelled", ctx.clock(), error="cancelled while interrupted")
    cancelled = await ctx.journal.get(op.id)
    assert cancelled is not None
    return cancelled


async def resume(ctx: Context, op_id: int, listener: Listener | None = None) -> OperationStatus:
    """Continue an interrupted operation from the journal; steps look at the real system again."""
    op = await ctx.journal.get(op_id)
    if op is None:
        raise KeyError(op_id)
    await ctx.journal.take_locks(op.id, locks_of(op.kind, op.target, op.params))
    return await run(ctx, op_id, listener)
