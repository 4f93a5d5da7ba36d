"""`drain BLADE [--dry-run] [--yes]`: move everything off a blade and mark it in maintenance."""

from __future__ import annotations

from commands.operate import planned
from commands.result import Confirm, Result
from infra.operations.context import Context
from infra.operations.machine import Listener

PERMISSION = "operate"  # who may run it: read | operate | admin (design.md, permissions)


async def drain(ctx: Context, blade: str, dry_run: bool = False, yes: bool = False,
                confirm: Confirm | None = None, listener: Listener | None = None) -> Result:
    return await planned(ctx, "drain", blade, "drain", dry_run=dry_run, yes=yes, confirm=confirm,
                         listener=listener)
