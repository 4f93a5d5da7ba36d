"""`restore BLADE [--stay] [--dry-run] [--yes]`: end a blade's maintenance; its VMs come home."""

from __future__ import annotations

from rich.console import Group, RenderableType

from commands.operate import confirmed_start, held_lock, privileges
from commands.render import line
from commands.result import Confirm, Result, check_blade, refused
from infra import locks
from infra.journal import Maintenance
from infra.operations.context import Context
from infra.operations.machine import Listener
from infra.operations.restore import Move, homeward
from infra.topology import Snapshot

PERMISSION = "operate"  # who may run it: read | operate | admin (design.md, permissions)


def _preview(blade: str, snap: Snapshot, record: Maintenance | None, moves: list[Move],
             stay: bool) -> RenderableType:
    def name(vmid: int) -> str:
        vm = snap.vms.get(vmid)
        return f"{vm.name} ({vmid})" if vm else str(vmid)

    out: list[RenderableType] = [line(f"Plan: restore {blade}", style="bold")]
    listed = [f"{name(v)}: {source} -> {target}" for v, source, target, _ in moves]
    if stay:
        out.append(line(f"VMs stay where they are (--stay); their home is remembered: "
                        f"{', '.join(listed) or 'none away'}", 2))
    elif listed:
        out.append(line(f"VMs to bring home ({len(listed)}):", 2))
        out += [line(item, 4) for item in listed]
    else:
        out.append(line("Every VM is home already.", 2))
    if record is not None:
        out.append(line(f"K8s nodes to uncordon: {', '.join(record.cordoned) or 'none'}", 2))
        if record.noout_set:
            out.append(line("Ceph: clear noout (unless another blade is still in maintenance)", 2))
    return Group(*out)


async def restore(ctx: Context, blade: str, stay: bool = False, dry_run: bool = False, yes: bool = False,
                  confirm: Confirm | None = None, listener: Listener | None = None) -> Result:
    if (bad := await check_blade(ctx, blade)) is not None:
        return bad
    snap = await ctx.snapshot()
    record = await ctx.journal.get_maintenance(blade)
    moves, _ = await homeward(ctx, blade)
    in_maintenance = blade in snap.maintenance_blades()
    if not in_maintenance and (stay or not moves):
        away = "" if stay else " and none of its VMs is away from home"
        return refused(f"{blade} is not in maintenance{away}: nothing to restore "
                       "(`drewburr status` shows what is)")
    refusal = None
    if not dry_run:
        vmids = [] if stay else [vmid for vmid, *_ in moves]
        refusal = (await held_lock(ctx, [locks.blade(blade)])
                   or await privileges(ctx, "restore", [blade], vmids))
    return await confirmed_start(ctx, "restore", blade, {"migrate_back": not stay},
                                 _preview(blade, snap, record, moves, stay), dry_run=dry_run, yes=yes,
                                 confirm=confirm, listener=listener, refusal=refusal)
