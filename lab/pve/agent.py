"""The QEMU guest agent: ping, exec / exec-status, network-get-interfaces (files and guest info:
`agent_guest.py`).

Each VM has a guest (lab/guest/): exec runs a command in it as qemu-ga's guest-exec does (no
shell: argv[0] is searched on PATH) and exec-status reports it once its lab time is over; qemu-ga
forgets a process once its exit was reported, and every process when the VM restarts. Errors the
agent returns come back as PVE words them: `Agent error: <qemu-ga's message>` (500).
"""

from __future__ import annotations

import ipaddress
import math
from typing import Any

from lab.guest.interp import NotExecutable, run_argv
from lab.guest.models import MAX_OUTPUT, Ctx, Guest, Result, Software, new_guest
from lab.pve.base import PveState
from lab.pve.cloudinit import hostname_fqdn, ipconfig
from lab.pve.domain import AgentNotRunning, PveError
from lab.pve.objects import Vm, mac_for

GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # systemd's default for qemu-ga
SPAWN_TIME = 0.2  # lab seconds for even the quickest command to run and be reaped


class AgentError(PveError):
    """An error qemu-ga answered; check_agent_error prefixes it."""

    def __init__(self, desc: str) -> None:
        super().__init__(f"Agent error: {desc}")


def command_failed(message: str) -> AgentError:
    """qemu-ga 8.2 (Ubuntu 24.04) wraps most failures in QERR_QGA_COMMAND_FAILED."""
    return AgentError(f"Guest agent command failed, error was '{message}'")


def perl_bytes(text: str) -> bytes:
    """A parameter as PVE's encode_base64 takes it: characters past U+00FF make Perl die."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise PveError("Wide character in subroutine entry") from None


def perl_text(data: bytes) -> str:
    """Bytes as PVE's JSON writer serializes a byte string: each byte one character."""
    return data.decode("latin-1")


class AgentApi(PveState):
    software: Software
    _guests: dict[int, tuple[Vm, Guest]]

    def _agent_vm(self, node: str, vmid: int, now: float) -> Vm:
        vm = self.vm_on(node, vmid, now)
        if not vm.agent:
            raise PveError("No QEMU guest agent configured")
        if not vm.running():
            raise PveError(f"VM {vmid} is not running")
        if not vm.agent_up(now):
            raise AgentNotRunning()
        return vm

    def guest(self, vm: Vm) -> Guest:
        """The VM's guest OS (its disk outlives reboots; a clone or a new VM with this id starts fresh)."""
        entry = self._guests.get(vm.vmid)
        if entry is None or entry[0] is not vm:
            entry = (vm, new_guest(vm, self.software))
            self._guests[vm.vmid] = entry
        guest = entry[1]
        if guest.first_boot is None:
            guest.first_boot = vm.started_at
        if vm.cloudinit_booted:  # cloud-init set the hostname at boot from the drive it read
            hostname = hostname_fqdn(vm.cloudinit_booted, vm.vmid)[0]
            if hostname != guest.hostname:
                guest.hostname = hostname
                guest.write("/etc/hostname", f"{hostname}\n".encode())
        guest.ip = guest_ipv4(vm)[0]
        for pid in [p for p, proc in guest.processes.items() if proc.boot != vm.started_at]:
            del guest.processes[pid]  # qemu-ga restarted with the guest
        return guest

    def guest_ctx(self, vm: Vm, now: float, stdin: bytes = b"") -> Ctx:
        return Ctx(self.guest(vm), vm, self.software, now, {"PATH": GUEST_PATH}, stdin)

    def qemu_agent_ping(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        self._agent_vm(node, vmid, now)
        return {"result": {}}

    def qemu_agent_exec(self, node: str, vmid: int, command: list[str], now: float,
                        input_data: str | None = None) -> dict[str, int]:
        vm = self._agent_vm(node, vmid, now)
        stdin = perl_bytes(input_data) if input_data is not None else b""
        if not command:
            raise AgentError("Invalid parameter type for 'path', expected: string")
        ctx = self.guest_ctx(vm, now, stdin)
        try:
            result = run_argv(ctx, list(command))
        except NotExecutable as exc:
            quoted = f"\u201c{command[0]}\u201d"  # GLib's curly quotes
            raise command_failed(f"Failed to execute child process {quoted} ({exc})") from None
        except RecursionError:  # a script that runs itself: it never ends
            result = Result(duration=math.inf)
        result.duration = max(result.duration, SPAWN_TIME)
        return {"pid": ctx.guest.spawn(result, now, vm.started_at)}

    def qemu_agent_exec_status(self, node: str, vmid: int, pid: int, now: float) -> dict[str, Any]:
        vm = self._agent_vm(node, vmid, now)
        guest = self.guest(vm)
        run = guest.processes.get(pid)
        if run is None:
            raise AgentError("Invalid parameter 'pid'")
        if now < run.done_at():
            return {"exited": 0}
        del guest.processes[pid]  # reported once: qemu-ga frees it
        return {"exited": 1, "exitcode": run.result.code, **_captured(run.result)}

    def qemu_agent_network_get_interfaces(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        vm = self._agent_vm(node, vmid, now)
        return {"result": [
            {"name": "lo", "hardware-address": "00:00:00:00:00:00", "statistics": _stats(),
             "ip-addresses": [{"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8},
                              {"ip-address-type": "ipv6", "ip-address": "::1", "prefix": 128}]},
            {"name": "eth0", "hardware-address": mac_for(vm.vmid).lower(), "statistics": _stats(),
             "ip-addresses": [{"ip-address-type": "ipv4", "ip-address": ip, "prefix": prefix}
                              for ip, prefix in [guest_ipv4(vm)]]},
        ]}


def guest_ipv4(vm: Vm) -> tuple[str, int]:
    """The guest's address: the static ipconfig0 its cloud-init read at its last boot, else a
    DHCP lease from the vmid (also for an ipconfig0 qemu-server would not use)."""
    net = ipconfig(vm.cloudinit_booted, 0) or {}
    if net.get("ip", "dhcp") not in ("dhcp", "manual"):
        iface = ipaddress.IPv4Interface(net["ip"])
        return str(iface.ip), iface.network.prefixlen
    return f"192.168.1.{vm.vmid % 200 + 20}", 24


def _stats() -> dict[str, int]:
    return {"rx-bytes": 0, "rx-packets": 0, "rx-errs": 0, "rx-dropped": 0,
            "tx-bytes": 0, "tx-packets": 0, "tx-errs": 0, "tx-dropped": 0}


def _captured(result: Result) -> dict[str, Any]:
    """out-data / err-data when not empty, cut at qemu-ga's limit with the `-truncated` flags."""
    out: dict[str, Any] = {}
    for key, data in (("out", result.out), ("err", result.err)):
        if data:
            out[f"{key}-data"] = perl_text(data[:MAX_OUTPUT])
        if len(data) > MAX_OUTPUT:
            out[f"{key}-truncated"] = 1
    return out
