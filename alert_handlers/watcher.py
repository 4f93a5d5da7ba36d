"""The watcher: drewburr's own eyes, for when Prometheus and Alertmanager died with the blade.

A Kubernetes node watch (list, then watch from the list's resourceVersion; a 410 Gone lists
again) and a PVE/Ceph poll (nodes online, HA manager status, OSDs up/in) turn facts into
findings: `Alert`s with source "watcher" and a fingerprint per fact, fed to the same dedup,
queue and rules as the webhooks' alerts, so an alert and a finding about the same blade are one
incident. A finding is emitted when its fact changes (firing, then resolved), not every round.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from alert_handlers.alert import Alert, fingerprint
from infra.errors import GatewayError
from infra.gateways.ceph import CephGateway
from infra.gateways.k8s import K8sGateway
from infra.gateways.pve import PveGateway
from infra.gateways.pve_models import HaManager
from infra.topology_build import parse_ceph

log = logging.getLogger(__name__)
Json = dict[str, Any]
WATCH_SECONDS = 300  # a watch is opened again at least this often
GONE = 410  # the watch's resourceVersion is too old: list again


class Fact(NamedTuple):
    name: str  # the finding's alertname, as the rules know it
    labels: dict[str, str]
    bad: bool
    summary: str

    @property
    def key(self) -> str:
        return fingerprint({"alertname": self.name, **self.labels})


def node_fact(node: Json) -> Fact:
    """KubeNodeNotReady for a node whose Ready condition is not True (False or Unknown)."""
    name = node["metadata"]["name"]
    conditions = (node.get("status") or {}).get("conditions") or []
    ready: Json = next((c for c in conditions if c.get("type") == "Ready"), {})
    bad = ready.get("status") != "True"
    why = f"{ready.get('reason') or 'no Ready condition'}: {ready.get('message') or ''}".rstrip(": ")
    summary = f"K8s node {name} is NotReady ({why})" if bad else f"K8s node {name} is Ready"
    return Fact("KubeNodeNotReady", {"node": name}, bad, summary)


def pve_facts(cluster_status: Iterable[Json], manager: HaManager, fencing: set[str],
              fenced: set[str]) -> list[Fact]:
    """PveNodeOffline per blade; PveHaFenced once HA has fenced an offline blade. The HA manager shows
    a node as `fence` only while the fence is under way (then `unknown`), so `fencing` and `fenced`
    carry what it said in earlier rounds; both are updated here."""
    nodes = {e["name"]: bool(e.get("online")) for e in cluster_status if e.get("type") == "node"}
    ha_state = manager.nodes
    facts = []
    for blade, online in sorted(nodes.items()):
        state = ha_state.get(blade, "")
        if online:
            fencing.discard(blade)
            fenced.discard(blade)
        elif state == "fence":
            fencing.add(blade)
        elif blade in fencing:  # the fence is done: the blade's watchdog has reset it
            fencing.discard(blade)
            fenced.add(blade)
        facts.append(Fact("PveNodeOffline", {"blade": blade}, not online,
                          f"PVE node {blade} is {'online' if online else 'offline'} (HA: {state or 'n/a'})"))
        facts.append(Fact("PveHaFenced", {"blade": blade}, blade in fenced,
                          f"PVE HA has fenced {blade}" if blade in fenced else f"{blade} is not fenced"))
    return facts


def osd_facts(tree: Json) -> list[Fact]:
    """CephOSDDown per OSD that is down (its host and whether it is still in, said)."""
    return [Fact("CephOSDDown", {"ceph_daemon": f"osd.{o.id}", "hostname": o.host}, not o.up,
                 f"osd.{o.id} on {o.host} is {'up' if o.up else 'down'} and {'in' if o.in_ else 'out'}")
            for o in parse_ceph({}, (), tree).osds]


class Watcher:
    def __init__(self, pve: PveGateway, k8s: K8sGateway | None, emit: Callable[[list[Alert]], object],
                 clock: Callable[[], float] = time.time, poll_seconds: float = 10.0,
                 retry_seconds: float = 5.0) -> None:
        self.pve, self.k8s, self.emit, self.clock = pve, k8s, emit, clock
        self.poll_seconds, self.retry_seconds = poll_seconds, retry_seconds
        self.firing: dict[str, Alert] = {}  # fact key -> the firing finding
        self.fencing: set[str] = set()  # blades the HA manager is fencing
        self.fenced: set[str] = set()

    def update(self, facts: Iterable[Fact]) -> list[Alert]:
        """The findings for the facts that changed since last said; they go to `emit`."""
        out = []
        for fact in facts:
            was = self.firing.get(fact.key)
            if fact.bad and was is None:
                now = datetime.fromtimestamp(self.clock(), UTC)
                self.firing[fact.key] = alert = Alert(
                    name=fact.name, status="firing", labels={"alertname": fact.name, **fact.labels},
                    annotations={"summary": fact.summary}, fingerprint=fact.key, starts_at=now,
                    source="watcher")
                out.append(alert)
            elif not fact.bad and was is not None:
                del self.firing[fact.key]
                out.append(was.model_copy(update={"status": "resolved",
                                                  "annotations": {"summary": fact.summary}}))
        if out:
            log.info("watcher: %s", "; ".join(f"{a.status} {a.summary}" for a in out))
            self.emit(out)
        return out

    def _gone(self, names: set[str]) -> list[Fact]:
        """NotReady nodes no longer listed (deleted while the watch was down): resolved."""
        return [Fact("KubeNodeNotReady", {"node": a.labels["node"]}, False, f"{a.labels['node']} is gone")
                for a in list(self.firing.values()) if a.name == "KubeNodeNotReady"
                and a.labels.get("node") not in names]

    # -- the K8s node watch
    async def watch_nodes(self) -> None:
        if self.k8s is None:
            return
        while True:
            try:
                items, version = await self.k8s.list_nodes_at()
                names = {n["metadata"]["name"] for n in items}
                self.update([*map(node_fact, items), *self._gone(names)])
                while True:  # the server ends a watch after its timeout: go on from the last version
                    async for kind, node in self.k8s.watch_nodes(version, timeout_seconds=WATCH_SECONDS):
                        version = (node.get("metadata") or {}).get("resourceVersion") or version
                        if kind == "DELETED":
                            name = node["metadata"]["name"]
                            self.update([Fact("KubeNodeNotReady", {"node": name}, False, f"{name} is gone")])
                        elif kind in ("ADDED", "MODIFIED"):
                            self.update([node_fact(node)])
            except GatewayError as exc:
                if exc.status == GONE:
                    log.info("node watch: resourceVersion expired (410 Gone); listing again")
                    continue
                log.warning("node watch: %s; again in %.0f s", exc, self.retry_seconds)
                await asyncio.sleep(self.retry_seconds)
            except Exception:  # a bug or an odd object must not end the watch for good
                log.exception("node watch failed; again in %.0f s", self.retry_seconds)
                await asyncio.sleep(self.retry_seconds)

    # -- the PVE and Ceph poll
    async def poll(self) -> None:
        status = await self.pve.cluster_status()
        try:
            manager = await self.pve.ha_manager_status()
        except GatewayError as exc:  # blades online or not still count; "fenced" waits for it
            log.warning("watcher: the HA manager status could not be read: %s", exc)
            manager = HaManager(quorate=True, nodes={b: "fence" for b in self.fencing}, services={}, lrms={})
        facts = pve_facts(status, manager, self.fencing, self.fenced)
        online = sorted(e["name"] for e in status if e.get("type") == "node" and e.get("online"))
        if online:
            try:
                facts += osd_facts(await CephGateway(self.pve).osd_tree(online[0]))
            except GatewayError as exc:  # Ceph without quorum: what we said about OSDs stands
                log.warning("watcher: the OSD tree could not be read: %s", exc)
        self.update(facts)

    async def run(self) -> None:
        """Watch and poll until cancelled."""
        await asyncio.gather(self.watch_nodes(), every(self.poll_seconds, self.poll, "watcher"))


async def every(seconds: float, round_: Callable[[], Awaitable[object]], what: str) -> None:
    """Run `round_` every `seconds` until cancelled; a failure is logged, never fatal."""
    while True:
        try:
            await round_()
        except GatewayError as exc:  # a system that cannot be read now
            log.warning("%s: %s", what, exc)
        except Exception:
            log.exception("%s failed", what)
        await asyncio.sleep(seconds)
