"""Live migration of a set of VMs, bounded per source NIC, confirmed from /cluster/resources.

The task's end is not the proof: an HA-managed VM migrates through a `hamigrate` task that
ends before the VM moves. A VM counts as moved when /cluster/resources shows it running on
the target.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from infra.errors import Fatal, GatewayError, Retryable
from infra.gateways.pve import TaskResult, upid_fields
from infra.operations.context import Context

MIGRATING = "migrate"


async def _where(ctx: Context, vmid: int) -> tuple[str, str, str | None, set[str]]:
    """(blade, status, lock) of a VM and the blades online, from one /cluster/resources read."""
    entries = await ctx.pve.resources()
    online = {e.node for e in entries if e.online and e.node}
    for entry in entries:
        if entry.type == "qemu" and entry.vmid == vmid and entry.node:
            return entry.node, entry.status, entry.lock or None, online
    raise Fatal(f"VM {vmid} is gone from /cluster/resources")


async def _settle(ctx: Context, vmid: int) -> tuple[str, str]:
    """Wait out a migration already under way (a resumed operation); returns (blade, status)."""
    seen: list[str | None] = [None]

    async def unlocked() -> tuple[str, str] | None:
        blade, status, seen[0], _ = await _where(ctx, vmid)
        return (blade, status) if seen[0] != MIGRATING else None
    return await ctx.poll_until(unlocked, ctx.options.migration_timeout_seconds,
                                lambda: f"VM {vmid} to be unlocked (lock {seen[0]}) by a migration")


async def migrate_one(ctx: Context, vmid: int, target: str) -> str:
    timeout = ctx.options.migration_timeout_seconds
    source, status = await _settle(ctx, vmid)
    if source == target:
        return f"{vmid} already on {target}"
    current = await ctx.pve.vm_status(source, vmid)
    if current.lock:
        raise Fatal(f"VM {vmid} is locked ({current.lock}) on {source}")
    online = current.status == "running"
    upid = await ctx.pve.migrate_vm(source, vmid, target, online=online)
    result = await ctx.poll_until(lambda: ctx.pve.task_result(upid), timeout, f"migration task {upid} to end")
    if not result.ok:
        await _failed(ctx, vmid, source, target, result.exitstatus)
    _, kind, started = upid_fields(upid)
    seen = [f"{source}, {status}"]

    async def arrived() -> str | None:
        blade, now_status, lock, up = await _where(ctx, vmid)
        seen[0] = f"{blade}, {now_status}, lock {lock}"
        if target not in up and lock is None:  # it died under us: plan again rather than wait it out
            raise Retryable(f"target {target} went offline while VM {vmid} moved; VM {vmid} is on "
                            f"{blade} ({now_status}): planning a new target", delay=ctx.options.poll_seconds)
        if blade == target and lock is None and (now_status == "running" or not online):
            return f"{vmid} {source} -> {target}"
        if kind == "hamigrate":
            await _ha_migration_failed(ctx, vmid, source, target, started)
        return None
    return await ctx.poll_until(arrived, timeout, lambda: f"VM {vmid} to run on {target} (on {seen[0]})")


async def _ha_migration_failed(ctx: Context, vmid: int, source: str, target: str, since: int) -> None:
    """The HA manager's own `qmigrate` task for the VM, if it already ended in an error."""
    for task in await ctx.pve.node_tasks(source, vmid=vmid, typefilter="qmigrate", source="all", limit=5):
        if task.starttime >= since and task.endtime and task.status:
            result = TaskResult(upid=task.upid, node=source, exitstatus=task.status)
            if not result.ok:
                await _failed(ctx, vmid, source, target, result.exitstatus)


async def _failed(ctx: Context, vmid: int, source: str, target: str, exitstatus: str) -> None:
    """A failed migration task: when its target went offline, plan again; otherwise it is fatal.

    A target that dies mid-copy fails the task ("migration problems") before or after
    /cluster/resources shows it offline; either order must lead to a new target.
    """
    blade, status, _, up = await _where(ctx, vmid)
    if target not in up:
        raise Retryable(f"target {target} went offline while VM {vmid} moved ({exitstatus}); VM {vmid} "
                        f"is on {blade} ({status}): planning a new target", delay=ctx.options.poll_seconds)
    raise Fatal(f"migration of VM {vmid} {source} -> {target} failed: {exitstatus}")


async def migrate_all(ctx: Context, moves: list[tuple[int, str, str]]) -> list[str]:
    """Run (vmid, source, target) moves in parallel, at most `migrations_per_nic` per source.

    Every migration runs to its end even when one fails, so no VM is left half-handled;
    then one Fatal names every failure, or, when a target only went away, one Retryable.
    """
    limits: dict[str, asyncio.Semaphore] = defaultdict(
        lambda: asyncio.Semaphore(ctx.options.migrations_per_nic))

    async def one(vmid: int, source: str, target: str) -> str:
        async with limits[source]:
            return await migrate_one(ctx, vmid, target)

    results = await asyncio.gather(*(one(*m) for m in moves), return_exceptions=True)
    unexpected = [r for r in results if isinstance(r, BaseException)
                  and not isinstance(r, Fatal | GatewayError | Retryable)]
    if unexpected:
        raise unexpected[0]
    failures = [str(r) for r in results if isinstance(r, Fatal | GatewayError)]
    if failures:
        raise Fatal("; ".join(failures))
    again = [r for r in results if isinstance(r, Retryable)]
    if again:  # the step runs again: it plans anew and skips the VMs already moved
        raise Retryable("; ".join(str(r) for r in again), delay=min(r.delay for r in again))
    return [str(r) for r in results]
