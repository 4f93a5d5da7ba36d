"""What provisioning needs: the configured defaults (`ProvisionOptions`, from the config's
`provision:` section) and one VM's request (`VmRequest`, journaled with the operation, so a
resumed operation makes the same VM). Secrets (the K3s token) stay in the options, never in the
journal."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

Role = Literal["server", "agent"]
Install = Literal["agent", "ssh"]
HOMELAB_SERVER_ARGS = ("--disable", "servicelb,traefik,metrics-server", "--etcd-expose-metrics")


@dataclass(frozen=True)
class SshOptions:
    """Installing K3s over SSH (asyncssh) instead of through the guest agent."""
    host: str = "{ip}"  # what to dial: {ip} (the guest's address), {name}, or a fixed host
    port: int = 22
    user: str | None = None  # None: the cloud-init user
    key_file: Path | None = None  # the private key whose public half is in `sshkeys`
    known_hosts: Path | None = None  # None: the host key is not checked
    connect_timeout_seconds: float = 30


@dataclass(frozen=True)
class K3sOptions:
    url: str | None = None  # the API of the cluster to join, e.g. https://192.168.1.121:6443
    token: str | None = None  # the join token; None: read from a server through its guest agent
    token_from: str | None = None  # the server VM to read it from; None: any server
    installer_url: str = "https://get.k3s.io"
    server_args: tuple[str, ...] = HOMELAB_SERVER_ARGS
    agent_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProvisionOptions:
    template: str  # the cloud-init template: its name or VMID
    storage: str = "ceph-rbd"  # shared storage for full clones
    disk: str = "scsi0"  # the template's boot disk, grown by `resize`
    ciuser: str = "ubuntu"
    sshkeys: str = ""  # public keys, one a line
    nameserver: str | None = None
    searchdomain: str | None = None
    subnet: str | None = None  # CIDR static addresses must be in
    gateway: str | None = None
    name_pattern: str = "kube{n:02d}"  # names for `provision` without NAME
    cores: int = 4
    memory_mib: int = 4096
    disk_gib: int = 64
    ha: bool = True  # register new VMs as PVE HA resources
    ha_rule: str | None = None  # an HA rule the new VM joins (node- or resource-affinity)
    install: Install = "agent"
    k3s: K3sOptions = field(default_factory=K3sOptions)
    ssh: SshOptions = field(default_factory=SshOptions)
    join_timeout_seconds: float = 300  # from the install to the Node registered
    ready_timeout_seconds: float = 300


class VmRequest(BaseModel):
    """One VM to make, as the verb (or bootstrap) resolved it before anything was created."""
    name: str
    role: Role
    blade: str | None = None  # None: the place step chooses
    cores: int
    memory_mib: int
    disk_gib: int
    ipconfig0: str  # `ip=dhcp` or `ip=CIDR,gw=IP`
    ha: bool
    server_url: str | None  # None with role server: the first server of a new cluster (--cluster-init)
