"""`GET /cluster/ha/status/manager_status`: the CRM master's status file and each node's LRM
status, as PVE::API2::HA::Status reads them (manager_status.json, lrm_status per node).

The master writes `node_status` and `service_status` (node, state, uid, and `target` while a
service migrates); an LRM is `active` once it runs HA services and waits for its agent lock
otherwise. A node that is down keeps the last status it wrote.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from lab.pve.base import PveState
from lab.pve.objects import Vm


def _uid(vm: Vm) -> str:
    """An md5_base64 uid, new with every state change (Manager::compute_new_uuid)."""
    digest = hashlib.md5(f"{vm.sid}:{vm.ha_state}:{vm.node}".encode()).digest()
    return base64.b64encode(digest).decode().rstrip("=")


class HaStatusApi(PveState):
    def _service_status(self, vm: Vm) -> dict[str, Any]:
        state = {"freeze": "freeze", "fence": "fence", "recovery": "recovery", "migrate": "migrate",
                 "request_stop": "request_stop"}.get(vm.ha_state, "started" if vm.running() else "stopped")
        entry: dict[str, Any] = {"node": vm.node, "state": state, "uid": _uid(vm)}
        if state == "started":
            entry["running"] = 1
        if state == "migrate" and vm.migrating_to:
            entry["target"] = vm.migrating_to
        return entry

    def _lrm_status(self, node: str, now: float) -> dict[str, Any]:
        blade = self.blades[node]
        reachable = blade.reachable(now)
        active = any(vm.ha and vm.node == node and vm.ha_request == "started" for vm in self.vms.values())
        if not reachable:  # nobody writes its file: after a fence its services run elsewhere, the file stays
            active = self.lrm_was_active.get(node, active)
        return {"mode": "restart" if blade.shutting_down else "active",
                "state": "active" if active else "wait_for_agent_lock", "results": {},
                "timestamp": int(now if reachable else blade.down_since)}

    def ha_manager_status(self, now: float) -> dict[str, Any]:
        local = self.local_node(now)
        nodes = {name: self.ha_node_state(name, now) for name in self.blades}
        return {
            "manager_status": {
                "master_node": local, "node_status": nodes, "timestamp": int(now),
                "service_status": {vm.sid: self._service_status(vm)
                                   for vm in sorted(self.vms.values(), key=lambda v: v.vmid) if vm.ha},
            },
            "quorum": {"node": local, "quorate": int(self.quorate(now))},
            "lrm_status": {name: self._lrm_status(name, now) for name in sorted(nodes)},
        }
