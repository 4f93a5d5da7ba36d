"""Zone labels on the lab: a drain leaves them (the VMs come home); after `restore --stay` they
follow the VMs, through a journaled `zone` operation, and the change is said."""

from __future__ import annotations

from alert_handlers.zones import ZoneKeeper
from commands.drain import drain
from commands.restore import restore
from commands.result import DONE
from tests.conftest import RunningLab

from .opsctx import lab_context


async def test_a_drain_keeps_zone_labels_and_restore_stay_makes_them_follow(running_lab: RunningLab):
    ctx = lab_context(running_lab)
    said: list[str] = []

    async def say(text: str) -> None:
        said.append(text)

    keeper = ZoneKeeper(ctx, say)
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    assert await keeper.check() == [] and await keeper.check() == []  # two rounds: still kept
    snap = await ctx.snapshot()
    assert {snap.nodes[n].zone for n in ("kube03", "kube05")} == {"blade3"}
    assert {snap.blade_of_node(n) for n in ("kube03", "kube05")} <= {"blade1", "blade2", "blade4"}

    assert (await restore(ctx, "blade3", stay=True, yes=True)).code == DONE
    snap = await ctx.snapshot()
    where = {n: snap.blade_of_node(n) for n in ("kube03", "kube05")}
    assert await keeper.check() == []  # seen once: not yet "for good"
    await keeper.check()
    snap = await ctx.snapshot()
    assert {n: snap.nodes[n].zone for n in where} == where and snap.mismatches == []
    assert sorted(said) == sorted(
        f"Zone label of K8s node {n}: blade3 -> {b}. Its VM {n} ({vmid}) runs on {b} for good (PVE HA "
        f"recovery or a restore that left it there) [op {op}]"
        for (n, b), vmid, op in zip(sorted(where.items()), (103, 105), _zone_ops(await ctx.journal.list()),
                                    strict=True))
    assert await ctx.journal.homes() != {}  # the homes stay remembered: a later restore brings them home


def _zone_ops(ops) -> list[int]:
    return sorted(op.id for op in ops if op.kind == "zone" and op.phase == "Succeeded")
