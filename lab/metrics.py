"""The lab's Prometheus metrics, in the names real exporters use.

Ceph as the ceph-mgr `prometheus` module names it (ceph_health_status, ceph_health_detail,
ceph_osd_up/in/metadata, ceph_mon_quorum_status/metadata); PVE as prometheus-pve-exporter
names it (pve_up, pve_node_info, pve_guest_info); Kubernetes as kube-state-metrics names it,
from `lab.k8s.metric_families(now)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

from lab.ceph.health import host_addr, overall
from lab.ceph.status import CEPH_VERSION

if TYPE_CHECKING:
    from lab.ceph.models import CephCluster
    from lab.pve.models import PveCluster
    from lab.world import Lab

HEALTH_VALUE = {"HEALTH_OK": 0, "HEALTH_WARN": 1, "HEALTH_ERR": 2}


def _gauge(name: str, doc: str, labels: list[str], samples: Iterable[tuple[list[str], float]]
           ) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in samples:
        family.add_metric(values, value)
    return family


def ceph_families(ceph: CephCluster, now: float) -> Iterator[Metric]:
    checks = ceph.health_checks(now)
    yield _gauge("ceph_health_status", "Cluster health status", [], [([], HEALTH_VALUE[overall(checks)])])
    active = {(c.name, c.severity) for c in checks}
    # like the mgr module, a check once seen stays in the output with 0 when it clears
    yield _gauge("ceph_health_detail", "healthcheck status by type (0=inactive, 1=active)",
                 ["name", "severity"],
                 [([n, s], float((n, s) in active)) for n, s in sorted(ceph.seen_checks)])
    osds = sorted(ceph.osds.values(), key=lambda o: o.id)
    yield _gauge("ceph_osd_up", "OSD status up", ["ceph_daemon"], [([o.name], float(o.up)) for o in osds])
    yield _gauge("ceph_osd_in", "OSD status in", ["ceph_daemon"], [([o.name], float(o.in_)) for o in osds])
    yield _gauge("ceph_osd_metadata", "OSD Metadata",
                 ["back_iface", "ceph_daemon", "cluster_addr", "device_class", "front_iface", "hostname",
                  "objectstore", "public_addr", "ceph_version"],
                 [(["", o.name, host_addr(ceph, o.host), "nvme", "", o.host, "bluestore",
                    host_addr(ceph, o.host), CEPH_VERSION], 1.0) for o in osds])
    mons = sorted(ceph.mons.values(), key=lambda m: m.rank)
    quorum = {m.name for m in ceph.quorum}
    yield _gauge("ceph_mon_quorum_status", "Monitors in quorum", ["ceph_daemon"],
                 [([f"mon.{m.name}"], float(m.name in quorum)) for m in mons])
    yield _gauge("ceph_mon_metadata", "MON Metadata",
                 ["ceph_daemon", "hostname", "public_addr", "rank", "ceph_version"],
                 [([f"mon.{m.name}", m.host, host_addr(ceph, m.host), str(m.rank), CEPH_VERSION], 1.0)
                  for m in mons])


def pve_families(pve: PveCluster, now: float) -> Iterator[Metric]:
    blades = sorted(pve.blades.values(), key=lambda b: b.name)
    vms = sorted(pve.vms.values(), key=lambda v: v.vmid)
    up = [([f"node/{b.name}"], float(pve.reachable(b.name, now))) for b in blades]
    up += [([f"qemu/{v.vmid}"], float(v.status == "running")) for v in vms]
    yield _gauge("pve_up", "Node/VM/CT-Status is online/running", ["id"], up)
    yield _gauge("pve_node_info", "Node info", ["id", "level", "name", "nodeid"],
                 [([f"node/{b.name}", "", b.name, str(i + 1)], 1.0) for i, b in enumerate(blades)])
    yield _gauge("pve_guest_info", "VM/CT info", ["id", "node", "name", "type", "template", "tags"],
                 [([f"qemu/{v.vmid}", v.node, v.name, "qemu", str(int(v.template)), ""], 1.0) for v in vms])


class LabCollector:
    """A prometheus_client collector over the lab's state at the moment of each scrape."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def collect(self) -> Iterator[Metric]:
        now = self.lab.advance()  # the state and the time it is reported at agree
        yield from ceph_families(self.lab.ceph, now)
        yield from pve_families(self.lab.pve, now)
        yield from self.lab.k8s.metric_families(now)


def make_registry(lab: Lab) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LabCollector(lab))  # type: ignore[arg-type]
    return registry
