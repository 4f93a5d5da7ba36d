"""What the operations read from PVE, typed: they never index into PVE's raw JSON.

The topology parsers (`infra.topology_build`) read the raw lists themselves, once per snapshot;
these models are for the steps' own quick looks (where a VM is, its lock, a task's end).
"""

from __future__ import annotations

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
