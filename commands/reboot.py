"""`reboot BLADE|all [--yes]`: drain, reboot, wait for the blade and Ceph, restore."""

from __future__ import annotations

from commands.operate import planned, start
from commands.result import Confirm, Result, blade_names, refused
from infra.operations.context import Context
from infra.operations.machine import Listener

PERMISSION = "operate"  # who may run it: read | operate | admin (design.md, permissions)


async def reboot(ctx: Context, blade: str, yes: bool = False, confirm: Confirm | None = None,
                 listener: Listener | None = None) -> Result:
    if blade != "all":
        return await planned(ctx, "reboot", blade, "reboot", dry_run=False, yes=yes, confirm=confirm,
                             listener=listener)
    blades = await blade_names(ctx)
    text = f"Reboot every blade, one at a time, stopping at the first failure: {', '.join(blades)}"
    if not yes and (confirm is None or not confirm(text)):
        return refused(text + "\nNot confirmed: nothing changed.")
    return await start(ctx, "reboot-all", "all", {"blades": blades}, listener)
