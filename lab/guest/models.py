"""One VM's guest: its filesystem, its processes (as qemu-guest-agent tracks them), its units.

What a guest can run comes from `Software` (one per lab, shared by every guest): programs by
path, web documents `curl` can fetch, scripts whose content the lab runs natively (the K3s
installer, its uninstall scripts), and the systemd units other systems provide (K3s).
A program is `fn(ctx, argv) -> Result`; its `duration` is the lab time it takes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from lab.pve.objects import Vm

PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
ELF = b"\x7fELF\x02\x01\x01\x00"  # what a binary's first bytes read as
FIRST_PID = 1100  # the guest's own services took the pids below
MAX_OUTPUT = 16 * 1024 * 1024  # qemu-ga's GUEST_EXEC_MAX_OUTPUT: more is dropped, flagged truncated


@dataclass
class Result:
    code: int = 0
    out: bytes = b""
    err: bytes = b""
    duration: float = 0.0  # lab seconds the command takes; inf: it never ends
    blocked: Callable[[], float] | None = None  # it waits on something: when that lets it end (inf: not yet)


Program = Callable[["Ctx", list[str]], Result]


class Unit(Protocol):
    description: str

    def active_state(self, now: float) -> str:
        """active | activating | failed | inactive."""

    def since(self) -> float: ...

    def journal(self, now: float) -> list[tuple[float, str]]:
        """(time, message) lines of the unit's process, oldest first."""


UnitSource = Callable[["Ctx", str], "Unit | None"]
Image = Callable[["Guest", "Vm"], None]  # writes what the scenario says is installed already


@dataclass
class Software:
    binaries: dict[str, Program] = field(default_factory=dict)  # absolute path -> program
    urls: dict[str, bytes] = field(default_factory=dict)
    scripts: dict[bytes, Program] = field(default_factory=dict)  # script content -> what it does
    units: list[UnitSource] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)


@dataclass
class Process:
    pid: int
    boot: float  # the VM start it runs in: a reboot ends it and qemu-ga forgets it
    start: float
    result: Result

    def done_at(self) -> float:
        if self.result.blocked is not None:
            return self.result.blocked()
        return self.start + self.result.duration


@dataclass
class Guest:
    hostname: str
    ip: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    executables: set[str] = field(default_factory=set)
    dirs: set[str] = field(default_factory=set)
    processes: dict[int, Process] = field(default_factory=dict)
    next_pid: int = FIRST_PID
    first_boot: float | None = None  # the start cloud-init ran its first-boot stages in

    def parent_exists(self, path: str) -> bool:
        return posixpath.dirname(posixpath.normpath(path)) in self.dirs

    def write(self, path: str, data: bytes, executable: bool = False, append: bool = False) -> None:
        path = posixpath.normpath(path)
        self.mkdir(posixpath.dirname(path))
        self.files[path] = (self.files.get(path, b"") if append else b"") + data
        if executable:
            self.executables.add(path)

    def mkdir(self, path: str) -> None:
        while path not in self.dirs:
            self.dirs.add(path)
            path = posixpath.dirname(path)

    def remove(self, path: str) -> bool:
        """rm -rf: a file or a whole tree; whether anything was there."""
        path = posixpath.normpath(path)
        gone = [p for p in self.files if p == path or p.startswith(path + "/")]
        for p in gone:
            del self.files[p]
            self.executables.discard(p)
        dirs = {d for d in self.dirs if d == path or d.startswith(path + "/")}
        self.dirs -= dirs
        return bool(gone or dirs)

    def resolve(self, name: str, env: dict[str, str]) -> str | None:
        """The executable a command name runs (PATH search for a bare name), None if none."""
        if "/" in name:
            return posixpath.normpath(name) if name in self.files else None
        dirs = env.get("PATH", ":".join(PATH)).split(":")
        return next((f"{d}/{name}" for d in dirs if f"{d}/{name}" in self.executables), None)

    def spawn(self, result: Result, now: float, boot: float) -> int:
        pid = self.next_pid
        self.next_pid += 1
        self.processes[pid] = Process(pid, boot, now, result)
        return pid


@dataclass
class Ctx:
    """What a running program sees."""

    guest: Guest
    vm: Vm
    software: Software
    now: float
    env: dict[str, str]
    stdin: bytes = b""

    def unit(self, name: str) -> Unit | None:
        name = name.removesuffix(".service")
        return next((u for source in self.software.units if (u := source(self, name)) is not None), None)

    def later(self, seconds: float) -> Ctx:
        """The same program's view some lab seconds on (the steps of a script run one after another)."""
        return Ctx(self.guest, self.vm, self.software, self.now + seconds, self.env, self.stdin)


def new_guest(vm: Vm, software: Software) -> Guest:
    """A fresh Ubuntu 24.04 cloud image, as cloud-init leaves it for this VM."""
    guest = Guest(hostname=vm.name)
    for d in ("/etc", "/tmp", "/root", "/home/ubuntu", "/usr/local/bin", "/usr/local/sbin", "/var/lib",
              "/var/log", "/run", "/etc/systemd/system", "/opt", "/srv", "/mnt", "/dev"):
        guest.mkdir(d)
    guest.write("/etc/hostname", f"{vm.name}\n".encode())
    guest.write("/etc/os-release", OS_RELEASE)
    guest.write("/etc/hosts", f"127.0.0.1 localhost\n127.0.1.1 {vm.name} {vm.name}\n".encode())
    for path in software.binaries:
        if not path.startswith("/usr/local/"):  # the image's own programs; /usr/local is K3s'
            guest.write(path, ELF, executable=True)
    for image in software.images:
        image(guest, vm)
    return guest


OS_RELEASE = b"""PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=noble
LOGO=ubuntu-logo
"""
