"""Gather a topology snapshot: a fixed set of calls per system, issued concurrently.

PVE: /cluster/resources, /cluster/status, /cluster/ha/status/current, /cluster/ha/rules; Ceph (via PVE):
status, flags, one OSD tree; Kubernetes: one list each of nodes, pods, ReplicaSets, PDBs.
The count never depends on the number of VMs or pods. A system that cannot be reached
leaves its part empty and says so in `snapshot.errors`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any, TypeVar

from infra.errors import GatewayError
from infra.gateways.ceph import CephGateway
from infra.gateways.k8s import K8sGateway
from infra.gateways.pve import PveGateway
from infra.topology import Snapshot
from infra.topology_build import Json, RawTopology, build_snapshot

T = TypeVar("T")


async def _soft(call: Awaitable[T], default: T, errors: list[str]) -> T:
    try:
        return await call
    except GatewayError as exc:
        errors.append(str(exc))
        return default


async def gather(pve: PveGateway, k8s: K8sGateway | None, pattern: str = "{vm}",
                 maintenance: Iterable[str] = (), homes: Mapping[int, tuple[str, int]] | None = None,
                 ) -> Snapshot:
    """PVE must answer (GatewayError otherwise); Ceph and Kubernetes may be missing.

    `maintenance` and `homes` (vmid -> (home blade, operation)) come from the journal."""
    errors: list[str] = []
    # Kubernetes does not wait for PVE: its four lists run beside PVE's two rounds.
    k8s_lists = asyncio.ensure_future(_k8s_part(k8s, errors))
    try:
        raw = await _pve_part(pve, errors)
    except BaseException:
        k8s_lists.cancel()
        raise
    raw.nodes, raw.pods, raw.replicasets, raw.pdbs = await k8s_lists
    snap = build_snapshot(raw, pattern, maintenance, now=time.time(), homes=homes)
    snap.errors = errors
    return snap


async def _pve_part(pve: PveGateway, errors: list[str]) -> RawTopology:
    """PVE and Ceph; the OSD tree is asked of a blade /cluster/status shows online."""
    ceph = CephGateway(pve)
    resources, cluster_status = await asyncio.gather(pve.cluster_resources(), pve.cluster_status())
    online = sorted(e["name"] for e in cluster_status if e.get("type") == "node" and e.get("online"))
    empty: list[dict[str, Any]] = []
    ha, rules, ceph_status, flags, tree = await asyncio.gather(
        _soft(pve.ha_status(), empty, errors), _soft(pve.ha_rules(), empty, errors),
        _soft(ceph.status(), {}, errors),
        _soft(ceph.flags(), empty, errors),
        _soft(ceph.osd_tree(online[0]), {}, errors) if online else asyncio.sleep(0, {}))
    return RawTopology(resources=resources, cluster_status=cluster_status, ha_status=ha, ha_rules=rules,
                       ceph_status=ceph_status, ceph_flags=flags, osd_tree=tree)


async def _k8s_part(k8s: K8sGateway | None, errors: list[str]) -> list[list[Json]]:
    """Nodes, pods, ReplicaSets and PDBs (empty without Kubernetes)."""
    if k8s is None:
        return [[], [], [], []]
    return list(await asyncio.gather(
        _soft(k8s.list_nodes(), [], errors), _soft(k8s.list_pods(), [], errors),
        _soft(k8s.list_replicasets(), [], errors), _soft(k8s.list_pdbs(), [], errors)))
