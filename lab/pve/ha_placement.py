"""Where ha-manager puts a service: node-affinity and resource-affinity rules applied as
PVE::HA::Manager::select_service_node applies them, plus the motion info the API shows
(`dependent-ha-resources`, `blocking-ha-resources`).

Node affinity: the highest-priority online nodes of the service's rule (a non-strict rule adds
every other node at priority -1; a strict one leaves the service stopped when none is online).
Resource affinity: nodes running a negative partner are removed; with positive partners the
node most of them run on is the only choice. A started service without `failback` stays on
its node while the rules allow it there; with failback (the default) it goes to its preferred
nodes. Among what is left the lab picks the node with the most free memory that can hold the
guest (PVE's static scheduler weighs memory too).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from lab.pve.ha_rules import HaRulesApi
from lab.pve.objects import Vm


class HaPlacement(HaRulesApi):
    def _active_rules(self, kind: str, sid: str) -> list[dict[str, Any]]:
        errors = self.ha_rule_errors()
        return [r for rid, r in sorted(self.ha_rules.items(), key=lambda r: r[1]["order"])
                if r["type"] == kind and sid in r["resources"] and not r.get("disable") and rid not in errors]

    def ha_node_affinity(self, sid: str, online: set[str]) -> tuple[set[str], set[str]]:
        """(allowed nodes, preferred nodes) among `online` (NodeAffinity::get_node_affinity)."""
        rules = self._active_rules("node-affinity", sid)
        if not rules:
            return set(online), set(online)
        nodes = dict(rules[0]["nodes"])
        if not rules[0].get("strict"):
            nodes = {n: -1 for n in self.blades} | nodes
        allowed = {n for n in nodes if n in online}
        top = max((nodes[n] for n in allowed), default=None)
        return allowed, {n for n in allowed if nodes[n] == top}

    def ha_resource_affinity(self, sid: str, online: set[str]) -> tuple[Counter[str], set[str]]:
        """(nodes positive partners run on, with how many; nodes negative partners use)."""
        together: Counter[str] = Counter()
        separate: set[str] = set()
        for rule in self._active_rules("resource-affinity", sid):
            for other in rule["resources"]:
                vm = self.ha_managed(other) if other != sid else None
                if vm is None:
                    continue
                used = [n for n in (vm.node, vm.migrating_to) if n in online]
                if rule["affinity"] == "positive" and used:
                    together[used[-1]] += 1  # the target of a moving partner, else where it is
                elif rule["affinity"] == "negative":
                    separate.update(used)
        return together, separate

    def ha_select_node(self, vm: Vm, now: float, stay: bool) -> str | None:
        """The node for `vm`: with `stay`, its own when the rules allow (the CRM's check of a
        started service); else the best one (recovery). None when no node fits."""
        online = {n for n, b in self.blades.items() if b.reachable(now) and not b.shutting_down}
        allowed, preferred = self.ha_node_affinity(vm.sid, online)
        together, separate = self.ha_resource_affinity(vm.sid, online)
        if stay and not vm.ha_failback and vm.node in allowed and (vm.node in together
                                                                    or vm.node not in separate):
            return vm.node  # without failback a service stays wherever the rules still allow it
        preferred -= separate
        together = Counter({n: k for n, k in together.items() if n in preferred})
        if together:
            preferred = {together.most_common(1)[0][0]}
        if stay and vm.node in preferred:
            return vm.node
        room = [n for n in preferred if self.mem_free(n) >= vm.memory]  # its own node too, after a fence
        if not room:
            return None
        return max(room, key=lambda n: (self.mem_free(n), -list(self.blades).index(n)))

    def ha_motion_info(self, sid: str, now: float) -> tuple[list[str], dict[str, list[dict[str, str]]]]:
        """PVE::HA::Config::get_resource_motion_info: positive partners that would come along,
        and per online node the negative partners that block a move there."""
        online = {n for n, b in self.blades.items() if b.reachable(now)}
        dependent: set[str] = set()
        blocking: dict[str, list[dict[str, str]]] = {}
        for rule in self._active_rules("resource-affinity", sid):
            partners = [s for s in rule["resources"] if s != sid and self.ha_managed(s) is not None]
            if rule["affinity"] == "positive":
                dependent.update(partners)
                continue
            for other in sorted(partners):
                vm = self.ha_managed(other)
                assert vm is not None
                for node in {vm.node, vm.migrating_to} & online:
                    blocking.setdefault(node, []).append({"sid": other, "cause": "resource-affinity"})
        return sorted(dependent), blocking
