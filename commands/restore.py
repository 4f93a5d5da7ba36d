"""`restore BLADE [--migrate-back]`: end a blade's maintenance."""

from __future__ import annotations

from commands.operate import start
from commands.result import Result, check_blade
from infra.operations.context import Context
from infra.operations.machine import Listener

PERMISSION = "operate"  # who may run it: read | operate | admin (design.md, permissions)


async def restore(ctx: Context, blade: str, migrate_back: bool = False,
                  listener: Listener | None = None) -> Result:
    if (bad := await check_blade(ctx, blade)) is not None:
        return bad
    return await start(ctx, "restore", blade, {"migrate_back": migrate_back}, listener)
