"""The QEMU guest agent: ping, exec / exec-status, network-get-interfaces.

Commands run through `agent_exec_hooks`: the first hook that answers gives (exitcode,
stdout, stderr); other commands echo their arguments, as a stand-in guest would.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lab.pve.base import PveState
from lab.pve.cloudinit import ipconfig
from lab.pve.domain import AgentNotRunning, ParamError, PveError
from lab.pve.objects import Vm, mac_for

ExecHook = Callable[[Vm, list[str], float], "tuple[int, str, str] | None"]
EXEC_TIME = 1.0  # lab seconds before exec-status reports a command as exited


@dataclass
class Exec:
    vmid: int
    done_at: float
    exitcode: int
    out: str
    err: str


class AgentApi(PveState):
    agent_exec_hooks: list[ExecHook]
    _execs: dict[int, Exec]

    def _agent_vm(self, node: str, vmid: int, now: float) -> Vm:
        vm = self.vm_on(node, vmid, now)
        if not vm.agent:
            raise PveError("No QEMU guest agent configured")
        if not vm.running():
            raise PveError(f"VM {vmid} is not running")
        if not vm.agent_up(now):
            raise AgentNotRunning()
        return vm

    def qemu_agent_ping(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        self._agent_vm(node, vmid, now)
        return {"result": {}}

    def qemu_agent_exec(self, node: str, vmid: int, command: list[str], now: float) -> dict[str, int]:
        vm = self._agent_vm(node, vmid, now)
        if not command:
            raise ParamError("command", "property is missing and it is not optional")
        result = next((r for hook in self.agent_exec_hooks if (r := hook(vm, command, now)) is not None),
                      (0, " ".join(command[1:]) + "\n" if command[0] == "echo" else "", ""))
        pid = 1000 + len(self._execs)
        self._execs[pid] = Exec(vmid, now + EXEC_TIME, *result)
        return {"pid": pid}

    def qemu_agent_exec_status(self, node: str, vmid: int, pid: int, now: float) -> dict[str, Any]:
        self._agent_vm(node, vmid, now)
        run = self._execs.get(pid)
        if run is None or run.vmid != vmid:
            raise PveError("Agent error: Invalid parameter 'pid'")
        if now < run.done_at:
            return {"exited": 0}
        out: dict[str, Any] = {"exited": 1, "exitcode": run.exitcode}
        if run.out:
            out["out-data"] = run.out
        if run.err:
            out["err-data"] = run.err
        return out

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
