"""Rules: an alert (or a watcher finding) and the live topology -> a decision about one blade.

A rule names the alert it matches, how to find the blade the fact is about, and its mode.
Pure: the snapshot is read, nothing is called. What the fact means depends on the blade:
a blade PVE still sees online is sick but alive (evacuate it); one PVE sees offline is
dead (fence it, once the gates agree it is really off).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from alert_handlers.alert import Alert
from infra.topology import Snapshot

Mode = Literal["auto", "approve", "notify"]
Target = Literal["node", "blade", "down-osds", "none"]
Action = Literal["evacuate", "fence", "notify", "resolve", "ignore"]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    alert: str  # the alertname, or a Ceph health check's name (ceph_health_detail{name=...})
    target: Target  # node: the alert's `node` label (a K8s node); blade: its `blade` label (a PVE node);
    # down-osds: the hosts of the OSDs down now
    mode: Mode = "approve"
    keep_noout: bool = True  # False for a failing OSD: its data must re-replicate elsewhere


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(alert="KubeNodeNotReady", target="node"),
    Rule(alert="KubeNodeUnreachable", target="node"),
    Rule(alert="CephOSDDown", target="down-osds", keep_noout=False),
    Rule(alert="CephOSDHostDown", target="down-osds", keep_noout=False),
    Rule(alert="OSD_DOWN", target="down-osds", keep_noout=False),
    # the watcher's own findings from PVE (alert_handlers/watcher.py)
    Rule(alert="PveNodeOffline", target="blade"),
    Rule(alert="PveHaFenced", target="blade"),
)
OWN_CHECKS = frozenset({"OSDMAP_FLAGS"})  # our own noout raises it: never news


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: Action
    blade: str | None = None
    mode: Mode = "notify"
    reason: str
    keep_noout: bool = True

    @property
    def fact(self) -> str:
        """One incident per fact: an alert and a watcher finding about the same blade meet here."""
        return f"{self.action}:{self.blade}" if self.blade else f"{self.action}:{self.reason}"


def _rule_for(alert: Alert, rules: tuple[Rule, ...]) -> Rule | None:
    names = {alert.name, alert.labels.get("name", "")}  # ceph_health_detail alerts carry the check's name
    return next((r for r in rules if r.alert in names), None)


def _blade(alert: Alert, rule: Rule, snap: Snapshot) -> tuple[str | None, str]:
    """(the blade, or None, and what was found)."""
    if rule.target == "node":
        node = alert.labels.get("node", "")
        blade = snap.blade_of_node(node)
        return blade, f"node {node} is on {blade}" if blade else f"node {node!r} is not a node of a known VM"
    if rule.target == "blade":
        blade = alert.labels.get("blade", "")
        if blade not in snap.blades:
            return None, f"{blade!r} is not a PVE node"
        return blade, f"PVE node {blade}"
    if rule.target == "down-osds":
        hosts = sorted({o.host for o in snap.ceph.osds if not o.up})
        if len(hosts) == 1:
            return hosts[0], f"the down OSDs are on {hosts[0]}"
        if not hosts:
            return None, "no OSD is down now"
        return None, f"OSDs are down on {', '.join(hosts)}: not one blade"
    return None, "the rule names no blade"


def decide(alert: Alert, snap: Snapshot, rules: tuple[Rule, ...] = DEFAULT_RULES) -> Decision:
    if alert.labels.get("name") in OWN_CHECKS or alert.name in OWN_CHECKS:
        return Decision(action="ignore", reason=f"{alert.name}: set by drewburr's own noout")
    rule = _rule_for(alert, rules)
    if rule is None:
        return Decision(action="notify", reason=f"{alert.name}: no rule acts on it ({alert.summary})")
    blade, found = _blade(alert, rule, snap)
    if alert.status == "resolved":
        return Decision(action="resolve", blade=blade, reason=f"{alert.name} resolved; {found}")
    if blade is None or blade not in snap.blades:
        return Decision(action="notify", reason=f"{alert.name}: {found}")
    if rule.mode == "notify":
        return Decision(action="notify", blade=blade, reason=f"{alert.name}: {found} (rule mode notify)")
    action: Action = "evacuate" if snap.blades[blade].online else "fence"
    state = "online in PVE: sick but alive" if action == "evacuate" else "offline in PVE"
    return Decision(action=action, blade=blade, mode=rule.mode, keep_noout=rule.keep_noout,
                    reason=f"{alert.name}: {found}, {state}")
