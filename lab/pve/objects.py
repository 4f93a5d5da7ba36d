"""The things a PVE cluster is made of: blades (PVE nodes), VMs and their disks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

GIB = 1024**3
MIB = 1024**2
HOST_RESERVED = 2 * GIB  # PVE itself plus the blade's Ceph OSD; not available to guests


@dataclass
class Blade:
    name: str
    cores: int
    memory: int  # bytes
    nic_bandwidth: float  # bytes per lab second, for live migration
    nodeid: int = 1
    ip: str = ""
    powered: bool = True
    boot_done_at: float = 0.0  # when a powered blade is online again
    booted_at: float = 0.0
    ssl_fingerprint: str = ""
    boot_seq: int = 0  # bumped on every power loss, so stale boot events are ignored
    shutting_down: bool = False
    down_since: float = 0.0  # when it last went down: its LRM's last timestamp
    isolated: bool = False  # its corosync (and every other) link is cut: a network partition
    awaiting_quorum: bool = False  # booted while isolated: pve-guests and the LRM wait for quorum

    def online(self, now: float) -> bool:
        """Powered and booted, whether or not anyone can reach it."""
        return self.powered and now >= self.boot_done_at

    def reachable(self, now: float) -> bool:
        """Online and not cut off: a vote in the quorate partition, a host Ceph and K3s peers see."""
        return self.online(now) and not self.isolated


@dataclass
class Disk:
    key: str  # scsi0
    storage: str
    volume: str  # vm-101-disk-0
    size: int  # bytes

    def config_value(self) -> str:
        return f"{self.storage}:{self.volume},iothread=1,size={_size_text(self.size)}"


def _size_text(size: int) -> str:
    for unit, factor in (("T", 1024**4), ("G", GIB), ("M", MIB), ("K", 1024)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


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
    pending_delete: set[str] = field(default_factory=set)
    started_at: float = 0.0
    agent_ready_at: float = 0.0
    # HA-manager view of the VM as service "vm:<vmid>" (meaningful only when `ha`)
    ha_request: str = "started"  # the configured state (request_state)
    ha_state: str = "started"  # the CRM's state: started, stopped, migrate, fence, recovery, freeze
    ha_failback: bool = True  # back to its highest-priority node once that is online (PVE's default)
    migrating_to: str | None = None
    starting: bool = False  # QEMU is being started: its memory is already taken
    # cloud-init: PVE's `[special:cloudinit]` section (old values of keys changed on the running
    # guest since its drive was generated, and `added`); the config the drive was generated from;
    # the config the guest's cloud-init read at its last boot (its hostname, keys and address)
    cloudinit_record: dict[str, str] = field(default_factory=dict)
    cloudinit_drive: dict[str, str] = field(default_factory=dict)
    cloudinit_booted: dict[str, str] = field(default_factory=dict)

    @property
    def sid(self) -> str:
        return f"vm:{self.vmid}"

    @property
    def maxdisk(self) -> int:
        return sum(d.size for d in self.disks)

    def running(self) -> bool:
        return self.status == "running"

    def cloudinit_conf(self) -> dict[str, str]:
        """The config keys cloud-init renders from (name, netN, ipconfigN, ci*, ...)."""
        return {"name": self.name, **self.config}

    def guest_boot(self) -> None:
        """The guest boots: its cloud-init reads the drive as it is now."""
        self.cloudinit_booted = dict(self.cloudinit_drive)

    def agent_up(self, now: float) -> bool:
        return self.running() and self.agent and now >= self.agent_ready_at

    def usage(self, now: float) -> dict[str, Any]:
        """The sizes and usage PVE reports for a guest in both `qemu` lists and cluster resources."""
        running = self.running()
        out: dict[str, Any] = {
            "maxmem": self.memory, "mem": int(self.memory * 0.55) if running else 0,
            "maxdisk": self.maxdisk, "disk": 0, "cpu": 0.03 if running else 0,
            "uptime": int(now - self.started_at) if running else 0,
            "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
        }
        if self.lock:
            out["lock"] = self.lock
        if "tags" in self.config:
            out["tags"] = self.config["tags"]
        return out


def mac_for(vmid: int) -> str:
    """A stable MAC in Proxmox's BC:24:11 range."""
    return f"BC:24:11:{(vmid >> 16) & 0xFF:02X}:{(vmid >> 8) & 0xFF:02X}:{vmid & 0xFF:02X}"


def uuid_for(seed: int) -> str:
    h = hashlib.md5(str(seed).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
