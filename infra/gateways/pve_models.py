"""What the operations read from PVE, typed: they never index into PVE's raw JSON.

The topology parsers (`infra.topology_build`) read the raw lists themselves, once per snapshot;
these models are for the steps' own quick looks (where a VM is, its lock, a task's end).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Resource(BaseModel):
    """One entry of `/cluster/resources`: a node (`type: node`) or a VM (`type: qemu`)."""
    model_config = ConfigDict(extra="ignore")
    type: str
    node: str | None = None
    status: str = "unknown"
    vmid: int | None = None
    name: str | None = None
    lock: str | None = None  # `migrate` while a migration holds the VM
    uptime: int = 0

    @property
    def online(self) -> bool:
        return self.type == "node" and self.status == "online"

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.vmid})"


class VmStatus(BaseModel):
    """`GET /nodes/{node}/qemu/{vmid}/status/current`, the fields the steps decide on."""
    model_config = ConfigDict(extra="ignore")
    status: str
    lock: str | None = None
    name: str | None = None


class Task(BaseModel):
    """One entry of `GET /nodes/{node}/tasks`; a finished task's `status` is its exit status."""
    model_config = ConfigDict(extra="ignore")
    upid: str
    starttime: int = 0
    endtime: int | None = None
    status: str | None = None


class HaService(BaseModel):
    node: str
    state: str  # the CRM's: started, stopped, fence, recovery, migrate, freeze, ...


class Lrm(BaseModel):
    state: str = "unknown"  # active (runs HA services: watchdog armed), wait_for_agent_lock (idle), ...
    mode: str = "unknown"
    timestamp: int = 0


class HaManager(BaseModel):
    """`GET /cluster/ha/status/manager_status`: the CRM master's view and every node's LRM status
    (an unreachable node's is what it last wrote)."""
    quorate: bool
    nodes: dict[str, str]  # node -> online, unknown, fence, maintenance, gone
    services: dict[str, HaService]  # sid -> where and in which state
    lrms: dict[str, Lrm]

    @classmethod
    def parse(cls, data: dict[str, Any]) -> HaManager:
        # PVE nests the CRM's file under manager_status; some clients' mocks put its keys beside it
        manager = {**data, **(data.get("manager_status") or {})}
        return cls(quorate=bool((data.get("quorum") or {}).get("quorate")),
                   nodes=dict(manager.get("node_status") or {}),
                   services={sid: HaService(node=str(s.get("node", "")), state=str(s.get("state", "")))
                             for sid, s in (manager.get("service_status") or {}).items()},
                   lrms={n: Lrm(**{k: v for k, v in (lrm or {}).items() if k in Lrm.model_fields})
                         for n, lrm in (data.get("lrm_status") or {}).items()})
