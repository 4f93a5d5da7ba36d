"""PVE state: blades (PVE nodes), VMs, tasks, HA and quorum.

Methods are named after the API they serve (`cluster_resources`, `qemu_migrate`) so one
grep finds both a client call and its handler. Every method takes `now` (lab seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

GIB = 1024**3
MIB = 1024**2


@dataclass
class Blade:
    name: str
    cores: int
    memory: int  # bytes
    nic_bandwidth: float  # bytes per lab second, for live migration
    powered: bool = True
    boot_done_at: float = 0.0  # when a powered blade is online again
    booted_at: float = 0.0
    ssl_fingerprint: str = ""

    def online(self, now: float) -> bool:
        return self.powered and now >= self.boot_done_at


@dataclass
class Disk:
    key: str  # scsi0
    storage: str
    volume: str  # vm-101-disk-0
    size: int  # bytes

    def config_value(self) -> str:
        return f"{self.storage}:{self.volume},size={self.size // GIB}G"


@dataclass
class Vm:
    vmid: int
    name: str
    node: str  # the blade it is on
    cores: int
    memory: int  # bytes
    disks: list[Disk]
    status: Literal["running", "stopped"] = "stopped"
    template: bool = False
    ha: bool = False
    agent: bool = True
    k3s_role: str | None = None
    lock: str | None = None
    config: dict[str, str] = field(default_factory=dict)  # other config keys, PVE wording
    pending: dict[str, str] = field(default_factory=dict)
    started_at: float = 0.0
    agent_ready_at: float = 0.0

    @property
    def maxdisk(self) -> int:
        return sum(d.size for d in self.disks)


@dataclass
class Task:
    upid: str
    node: str
    type: str
    id: str
    user: str
    pid: int
    pstart: int
    starttime: int
    status: Literal["running", "stopped"] = "running"
    exitstatus: str | None = None
    endtime: int | None = None
    log: list[str] = field(default_factory=list)


def make_upid(node: str, pid: int, pstart: int, starttime: int, kind: str, obj: str, user: str) -> str:
    """`UPID:node:PID:PSTART:STARTTIME:type:id:user:` with PVE's hex fields."""
    return f"UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{kind}:{obj}:{user}:"


class PveCluster:
    """The PVE cluster's state. API methods are added per endpoint (see routes.py)."""

    def __init__(self, blades: dict[str, Blade], vms: dict[int, Vm], storage: str,
                 timings: object, now: float) -> None:
        self.blades = blades
        self.vms = vms
        self.storage = storage
        self.timings = timings
        self.tasks: dict[str, Task] = {}
        self.quorate = True
        self.tokens: dict[str, str] = {}  # "user@realm!tokenid" -> secret
        self.passwords: dict[str, str] = {}  # "user@realm" -> password, for ticket auth
        self._pid = 0x1000
        self.started = now

    @classmethod
    def from_scenario(cls, scenario: object, now: float) -> PveCluster:
        from lab.scenario import Scenario

        assert isinstance(scenario, Scenario)
        blades = {
            b.name: Blade(name=b.name, cores=b.cores, memory=int(b.memory_gib * GIB),
                          nic_bandwidth=b.nic_gbps * 1e9 / 8, powered=b.online,
                          booted_at=now - 86_400)
            for b in scenario.blades
        }
        vms = {}
        for v in scenario.vms:
            disk = Disk("scsi0", v.storage, f"vm-{v.vmid}-disk-0" if not v.template
                        else f"base-{v.vmid}-disk-0", v.disk_gb * GIB)
            vms[v.vmid] = Vm(vmid=v.vmid, name=v.name, node=v.blade, cores=v.cores,
                             memory=int(v.memory_gib * GIB), disks=[disk],
                             status="stopped" if v.template else v.status,
                             template=v.template, ha=v.ha, agent=v.agent, k3s_role=v.k3s,
                             started_at=now - 86_000)
            if v.ipconfig0:
                vms[v.vmid].config["ipconfig0"] = v.ipconfig0
        return cls(blades, vms, scenario.storage, scenario.timings, now)

    def advance(self, now: float) -> None:
        """Move time-driven state (tasks, migrations, HA recovery) up to `now`."""
