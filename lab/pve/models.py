"""PVE state: blades (PVE nodes), VMs, tasks, HA and quorum.

Methods are named after the API they serve (`cluster_resources`, `qemu_migrate`) so one
grep finds both a client call and its handler. Every method takes `now` (lab seconds).
The state lives in `base.PveState`; each area of the API is one mixin module.
"""

from __future__ import annotations

from typing import Any

from lab.guest.programs import ubuntu
from lab.pve.access import AccessApi
from lab.pve.agent_info import AgentInfoApi
from lab.pve.base import ROOT
from lab.pve.clone import CloneApi
from lab.pve.ha import HaApi
from lab.pve.ha_status import HaStatusApi
from lab.pve.migrate import MigrateApi
from lab.pve.nodes import NodesApi
from lab.pve.objects import GIB, MIB, Blade, Disk, Vm, mac_for, uuid_for
from lab.pve.permissions import PermissionDenied
from lab.pve.power import PowerApi
from lab.pve.qemu import QemuApi
from lab.pve.tasks import Task, make_upid, task_log, tasks_list

__all__ = ["GIB", "MIB", "Blade", "Disk", "PveCluster", "Task", "Vm", "make_upid"]


class PveCluster(NodesApi, PowerApi, QemuApi, CloneApi, MigrateApi, HaApi, HaStatusApi, AgentInfoApi,
                 AccessApi):
    """The PVE cluster's state and API methods."""

    def __init__(self, blades: dict[str, Blade], vms: dict[int, Vm], storage: str,
                 timings: Any, now: float) -> None:
        super().__init__(blades, vms, storage, timings, now)
        self.software = ubuntu()  # what every guest can run; K3s adds its own (lab/k8s/guest.py)
        self._guests = {}

    @classmethod
    def from_scenario(cls, scenario: object, now: float) -> PveCluster:
        from lab.scenario import Scenario

        assert isinstance(scenario, Scenario)
        blades = {
            b.name: Blade(name=b.name, cores=b.cores, memory=int(b.memory_gib * GIB),
                          nic_bandwidth=b.nic_gbps * 1e9 / 8, nodeid=i + 1, ip=f"10.0.0.{11 + i}",
                          powered=b.online, booted_at=now - 86_400)
            for i, b in enumerate(scenario.blades)
        }
        vms = {v.vmid: _vm_from_spec(v, now, blades[v.blade].powered) for v in scenario.vms}
        cluster = cls(blades, vms, scenario.storage, scenario.timings, now)
        for blade in blades.values():
            if not blade.powered:  # off from the start: HA treats it as lost now
                blade.down_since = now
                cluster.ha_node_lost(blade.name, now)
        return cluster

    # --- tasks ------------------------------------------------------------------------------------
    def node_tasks(self, node: str, now: float, **filters: Any) -> list[dict[str, Any]]:
        self.online_blade(node, now)
        return tasks_list(self.task_table.on_node(node), **filters)

    def task_status(self, node: str, upid: str, now: float) -> dict[str, Any]:
        self.online_blade(node, now)
        return self.task_table.get(node, upid).status_json()

    def node_task_stop(self, node: str, upid: str, now: float, user: str = ROOT) -> None:
        """`DELETE .../tasks/{upid}`: its owner may stop a task (a user also its tokens' tasks),
        others need Sys.Modify on the node."""
        self.online_blade(node, now)
        task = self.task_table.get(node, upid)
        owner = task.user.partition("!")[0] if "!" not in user else task.user
        privileges = self.privileges.get(user)
        if user != owner and privileges is not None and "Sys.Modify" not in privileges:
            raise PermissionDenied(f"/nodes/{node}, Sys.Modify")
        self.task_table.stop(node, upid, now)

    def cluster_tasks(self, now: float, user: str = ROOT) -> list[dict[str, Any]]:
        """`GET /cluster/tasks`: the task lists the reachable nodes broadcast, newest first;
        a token's tasks name the user and the token apart. Without Sys.Audit, only the
        caller's own (as PVE compares them: a token sees none)."""
        privileges = self.privileges.get(user)
        everyone = privileges is None or "Sys.Audit" in privileges
        out = []
        for task in sorted(self.tasks.values(), key=lambda t: (t.starttime, t.pid), reverse=True):
            if not self.reachable(task.node, now):
                continue
            entry = task.list_json()
            owner, bang, token = task.user.partition("!")
            if bang:
                entry.update(user=owner, tokenid=token)
            if everyone or entry["user"] == user:
                out.append(entry)
        return out

    def task_log(self, node: str, upid: str, now: float, start: int = 0,
                 limit: int = 50) -> list[dict[str, Any]]:
        self.online_blade(node, now)
        return task_log(self.task_table.get(node, upid), start, limit)


def _vm_from_spec(v: Any, now: float, blade_up: bool) -> Vm:
    """A scenario VM as a cloud-init clone of the template looks on PVE."""
    prefix = "base" if v.template else "vm"
    disk = Disk("scsi0", v.storage, f"{prefix}-{v.vmid}-disk-0", v.disk_gb * GIB)
    config = {
        "boot": "order=scsi0", "scsihw": "virtio-scsi-single", "ostype": "l26", "cpu": "x86-64-v2-AES",
        "net0": f"virtio={mac_for(v.vmid)},bridge=vmbr0", "serial0": "socket", "vga": "serial0",
        "ide2": f"{v.storage}:vm-{v.vmid}-cloudinit,media=cdrom", "ciuser": "ubuntu",
        "smbios1": f"uuid={uuid_for(v.vmid)}", "vmgenid": uuid_for(-v.vmid),
        "meta": "creation-qemu=10.0.2,ctime=1761000000",
    }
    if v.ipconfig0:
        config["ipconfig0"] = v.ipconfig0
    running = v.status == "running" and not v.template and blade_up
    if v.status == "running" and not v.template:
        config["onboot"] = "1"  # homelab guests come back with their blade
    vm = Vm(vmid=v.vmid, name=v.name, node=v.blade, cores=v.cores, memory=int(v.memory_gib * GIB),
            disks=[disk], status="running" if running else "stopped", template=v.template,
            ha=v.ha, agent=v.agent, k3s_role=v.k3s, config=config,
            ha_request="started" if v.status == "running" else "stopped",
            ha_state="started" if running else "stopped",
            started_at=now - 86_000, agent_ready_at=now - 86_000)
    vm.cloudinit_drive = vm.cloudinit_conf()  # started before: the drive and the guest agree
    vm.guest_boot()
    return vm
