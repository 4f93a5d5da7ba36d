"""Ceph, as PVE manages it: every call goes through the PVE API (no Ceph client here)."""

from __future__ import annotations

import asyncio
from typing import Any

from infra.gateways.pve import PveGateway
from infra.topology import Ceph
from infra.topology_build import parse_ceph


class CephGateway:
    def __init__(self, pve: PveGateway) -> None:
        self.pve = pve

    async def status(self) -> dict[str, Any]:
        return await self.pve.get("cluster/ceph/status")

    async def flags(self) -> list[dict[str, Any]]:
        return await self.pve.get("cluster/ceph/flags")

    async def flags_set(self) -> set[str]:
        return {f["name"] for f in await self.flags() if f.get("value")}

    async def set_flag(self, flag: str, on: bool) -> None:
        """`PUT /cluster/ceph/flags/{flag}` (noout while a blade is in maintenance)."""
        await self.pve.put(f"cluster/ceph/flags/{flag}", value=int(on))

    async def osd_tree(self, node: str) -> dict[str, Any]:
        """The cluster's OSD tree (hosts and their OSDs), asked of one online blade."""
        return await self.pve.get(f"nodes/{node}/ceph/osd")

    async def health(self, node: str) -> Ceph:
        """Health, checks, flags and the OSD-to-blade map, parsed (the three reads at once)."""
        return parse_ceph(*await asyncio.gather(self.status(), self.flags(), self.osd_tree(node)))
