"""Making and running guests through the PVE API: nextid, clone, config, resize, HA resources,
power, delete, cloud-init and the QEMU guest agent.

Reads go through `PveGateway.get` (retried), changes through `post`/`put`/`delete` (never
retried here: the operation's step looks at the system again and decides). Asynchronous calls
return a UPID for `PveGateway.task_result`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from infra.gateways.pve import PveGateway
from infra.gateways.pve_models import Resource
from infra.gateways.shell import ShellResult

# Context.poll_until: ask a condition until it returns something, within so many seconds
PollUntil = Callable[[Callable[[], Awaitable[Any]], float, str], Awaitable[Any]]


def encode_sshkeys(keys: str) -> str:
    """Cloud-init `sshkeys` as PVE wants them: URI-escaped (spaces `%20`, and `+ / = @ :` too)
    before the form encoding, which then escapes the `%` again. PVE unescapes once and checks
    each line is a public key."""
    return quote(keys, safe="")


class ExecStatus(BaseModel):
    """`agent/exec-status`: `exited` false while it runs; the output once it has."""
    exited: bool
    exitcode: int | None = None
    out: str = ""
    err: str = ""
    truncated: bool = False


class Guest(Resource):
    """A VM of `/cluster/resources`, with what provisioning reads of it besides."""
    vmid: int
    node: str
    name: str = ""
    template: bool = False
    maxmem: int = 0
    hastate: str | None = None


class PveGuests:
    def __init__(self, pve: PveGateway) -> None:
        self.pve = pve

    # -- reads
    async def nextid(self) -> int:
        """A free VMID now; not a reservation (a clone may still find it taken)."""
        return int(await self.pve.get("cluster/nextid"))

    async def guests(self) -> list[Guest]:
        return [Guest.model_validate(r) for r in await self.pve.cluster_resources(type="vm")]

    async def guest(self, vmid: int) -> Guest | None:
        return next((g for g in await self.guests() if g.vmid == vmid), None)

    async def config(self, node: str, vmid: int) -> dict[str, Any]:
        return await self.pve.get(f"nodes/{node}/qemu/{vmid}/config")

    async def cloudinit_dump(self, node: str, vmid: int, kind: str) -> str:
        """The generated cloud-init file: `user`, `network` or `meta`."""
        return str(await self.pve.get(f"nodes/{node}/qemu/{vmid}/cloudinit/dump", type=kind))

    async def ha_resources(self) -> list[dict[str, Any]]:
        return await self.pve.get("cluster/ha/resources")

    async def ha_rules(self) -> list[dict[str, Any]]:
        return await self.pve.get("cluster/ha/rules")

    # -- changes
    async def clone(self, node: str, template: int, newid: int, name: str, target: str,
                    storage: str) -> str:
        """A full clone onto `storage` (shared, so `target` may be any blade); returns the UPID."""
        return await self.pve.post(f"nodes/{node}/qemu/{template}/clone", newid=newid, name=name, full=1,
                                   target=target, storage=storage)

    async def set_config(self, node: str, vmid: int, **options: Any) -> None:
        """`PUT .../config`: synchronous. `sshkeys` are encoded here (see encode_sshkeys)."""
        if "sshkeys" in options:
            options["sshkeys"] = encode_sshkeys(options["sshkeys"])
        await self.pve.put(f"nodes/{node}/qemu/{vmid}/config", **options)

    async def set_config_async(self, node: str, vmid: int, **options: Any) -> str:
        """`POST .../config`: asynchronous, returns a UPID."""
        if "sshkeys" in options:
            options["sshkeys"] = encode_sshkeys(options["sshkeys"])
        return await self.pve.post(f"nodes/{node}/qemu/{vmid}/config", **options)

    async def resize(self, node: str, vmid: int, disk: str, size: str) -> str:
        return await self.pve.put(f"nodes/{node}/qemu/{vmid}/resize", disk=disk, size=size)

    async def ha_add(self, vmid: int, state: str = "started") -> None:
        await self.pve.post("cluster/ha/resources", sid=f"vm:{vmid}", state=state)

    async def ha_remove(self, vmid: int) -> None:
        await self.pve.delete(f"cluster/ha/resources/vm:{vmid}")

    async def ha_rule_resources(self, rule: str, resources: list[str]) -> None:
        await self.pve.put(f"cluster/ha/rules/{rule}", resources=",".join(resources))

    async def power(self, node: str, vmid: int, command: str) -> str:
        """`start`, `stop`, `shutdown` or `reboot`; returns the UPID (HA VMs: through ha-manager)."""
        return await self.pve.post(f"nodes/{node}/qemu/{vmid}/status/{command}")

    async def destroy(self, node: str, vmid: int) -> str:
        """Remove a stopped guest with its disks (`purge`: from HA and jobs too)."""
        return await self.pve.delete(f"nodes/{node}/qemu/{vmid}", purge=1)

    # -- the guest agent
    async def agent_ping(self, node: str, vmid: int) -> None:
        await self.pve.post(f"nodes/{node}/qemu/{vmid}/agent/ping")

    async def agent_exec(self, node: str, vmid: int, command: list[str], stdin: str | None = None) -> int:
        """Start `command` (argv, no shell); returns its pid for `agent_exec_status`."""
        data: dict[str, Any] = {"command": command}
        if stdin is not None:
            data["input-data"] = stdin
        return int((await self.pve.post(f"nodes/{node}/qemu/{vmid}/agent/exec", **data))["pid"])

    async def agent_exec_status(self, node: str, vmid: int, pid: int) -> ExecStatus:
        # not retried: qemu-ga forgets a process once it has reported its exit
        raw = await self.pve.get_once(f"nodes/{node}/qemu/{vmid}/agent/exec-status", pid=pid)
        return ExecStatus(exited=bool(raw.get("exited")), exitcode=raw.get("exitcode"),
                          out=raw.get("out-data", ""), err=raw.get("err-data", ""),
                          truncated=bool(raw.get("out-truncated") or raw.get("err-truncated")))

    async def agent_ipv4(self, node: str, vmid: int) -> str | None:
        """The guest's first IPv4 address that is not loopback, as its agent reports it."""
        interfaces = (await self.pve.get(f"nodes/{node}/qemu/{vmid}/agent/network-get-interfaces"))["result"]
        return next((a["ip-address"] for i in interfaces if i.get("name") != "lo"
                     for a in i.get("ip-addresses", []) if a.get("ip-address-type") == "ipv4"), None)

    async def agent_file_write(self, node: str, vmid: int, path: str, content: str) -> None:
        await self.pve.post(f"nodes/{node}/qemu/{vmid}/agent/file-write", file=path, content=content)

    async def agent_file_read(self, node: str, vmid: int, path: str) -> str:
        return str((await self.pve.get(f"nodes/{node}/qemu/{vmid}/agent/file-read", file=path))["content"])


class AgentShell:
    """A guest's shell through the guest agent: `exec` of `sh -c`, then `exec-status` until it exits,
    polled with the operation's `poll_until` (its clock, its cancel)."""

    def __init__(self, guests: PveGuests, node: str, vmid: int, poll_until: PollUntil) -> None:
        self.guests, self.node, self.vmid, self.poll_until = guests, node, vmid, poll_until

    async def run(self, command: str, stdin: str | None = None, within: float = 600) -> ShellResult:
        pid = await self.guests.agent_exec(self.node, self.vmid, ["sh", "-c", command], stdin)

        async def exited() -> ExecStatus | None:
            status = await self.guests.agent_exec_status(self.node, self.vmid, pid)
            return status if status.exited else None

        status = await self.poll_until(exited, within, f"`{command[:60]}` to end in VM {self.vmid}")
        return ShellResult(code=status.exitcode if status.exitcode is not None else 255, out=status.out,
                           err=status.err)
