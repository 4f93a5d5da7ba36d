"""Nodes and cluster views: `/nodes`, node status, `/cluster/status|resources|nextid`."""

from __future__ import annotations

from typing import Any

from lab.pve.base import PveState
from lab.pve.domain import ParamError
from lab.pve.objects import GIB, Vm

ROOTFS = 100 * GIB  # each blade's system disk (the NVMe is Ceph's)
RELEASE, REPOID = "9.1.1", "42ab3d9f1e5c2d7b"  # the pve-manager the lab answers as (also GET /version)
VERSION = f"pve-manager/{RELEASE}/{REPOID}"
KERNEL = "6.14.11-4-pve"


class NodesApi(PveState):
    # --- reads ------------------------------------------------------------------------------------
    def _node_entry(self, node: str, now: float) -> dict[str, Any]:
        blade = self.blades[node]
        entry: dict[str, Any] = {"id": f"node/{node}", "node": node, "type": "node", "level": "",
                                 "maxcpu": blade.cores, "maxmem": blade.memory, "maxdisk": ROOTFS}
        if blade.reachable(now):
            running = [v for v in self.vms.values() if v.node == node and v.running()]
            entry.update(status="online", uptime=int(now - blade.booted_at),
                         cpu=round(0.02 + 0.1 * sum(v.cores for v in running) / blade.cores / 4, 6),
                         mem=self.mem_used(node), disk=int(ROOTFS * 0.03))
        else:  # PVE keeps only the sizes (from the last RRD update) of an offline node
            entry["status"] = "offline"
        return entry

    def nodes(self, now: float) -> list[dict[str, Any]]:
        out = []
        for node, blade in self.blades.items():
            out.append({**self._node_entry(node, now), "ssl_fingerprint": blade.ssl_fingerprint})
        return out

    def node_status(self, node: str, now: float) -> dict[str, Any]:
        blade = self.online_blade(node, now)
        entry = self._node_entry(node, now)  # online_blade: reachable, so with its usage
        used = entry["mem"]
        return {
            "cpu": entry["cpu"], "wait": 0.0001, "idle": 0, "uptime": entry["uptime"],
            "loadavg": ["0.42", "0.38", "0.35"],
            "cpuinfo": {"cpus": blade.cores, "cores": blade.cores, "sockets": 1, "hvm": "1",
                        "model": "AMD Ryzen 5 5600U with Radeon Graphics", "mhz": "2894.562",
                        "user_hz": 100, "flags": "fpu vme de pse tsc msr pae mce cx8 apic svm"},
            "memory": {"total": blade.memory, "used": used, "free": blade.memory - used,
                       "available": blade.memory - used},
            "swap": {"total": 0, "used": 0, "free": 0},
            "ksm": {"shared": 0},
            "rootfs": {"total": ROOTFS, "used": entry["disk"], "free": ROOTFS - entry["disk"],
                       "avail": ROOTFS - entry["disk"]},
            "pveversion": VERSION, "kversion": f"Linux {KERNEL} #1 SMP PREEMPT_DYNAMIC PMX",
            "current-kernel": {"sysname": "Linux", "release": KERNEL, "machine": "x86_64",
                               "version": "#1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4"},
            "boot-info": {"mode": "efi", "secureboot": 0},
        }

    def cluster_status(self, now: float) -> list[dict[str, Any]]:
        local = self.local_node(now)
        out: list[dict[str, Any]] = [{"type": "cluster", "id": "cluster", "name": "homelab",
                                      "version": len(self.blades) + 2, "nodes": len(self.blades),
                                      "quorate": int(self.quorate(now))}]
        for name, blade in self.blades.items():
            out.append({"type": "node", "id": f"node/{name}", "name": name, "nodeid": blade.nodeid,
                        "ip": blade.ip, "level": "", "local": int(name == local),
                        "online": int(blade.reachable(now))})
        return out

    def _vm_resource(self, vm: Vm, now: float) -> dict[str, Any]:
        entry = {"id": f"qemu/{vm.vmid}", "type": "qemu", "vmid": vm.vmid, "name": vm.name,
                 "node": vm.node, "status": vm.status, "template": int(vm.template), "maxcpu": vm.cores,
                 **vm.usage(now)}
        if vm.ha:
            entry["hastate"] = vm.ha_state
        return entry

    def cluster_resources(self, now: float, type: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if type in (None, "vm"):
            out += [self._vm_resource(vm, now) for vm in sorted(self.vms.values(), key=lambda v: v.vmid)]
        if type in (None, "node"):
            for node in self.blades:
                entry = self._node_entry(node, now)
                entry["cgroup-mode"] = 2
                entry["hastate"] = self.ha_node_state(node, now)
                out.append(entry)
        if type in (None, "storage"):
            for node in self.blades:
                online = self.blades[node].reachable(now)
                out.append({"id": f"storage/{node}/{self.storage}", "type": "storage",
                            "storage": self.storage, "node": node, "plugintype": "rbd",
                            "status": "available" if online else "unknown", "shared": 1,
                            "content": "images", "disk": sum(v.maxdisk for v in self.vms.values()),
                            "maxdisk": 1000 * GIB * len(self.blades) // 3})
        return out

    def cluster_nextid(self, now: float, vmid: int | None = None) -> str:
        if vmid is not None:
            if vmid in self.vms:
                raise ParamError("vmid", f"VM {vmid} already exists")
            return str(vmid)
        return str(next(i for i in range(100, 1_000_000_000) if i not in self.vms))
