"""Provision one VM: place, clone, configure (cloud-init), resize, HA, start, wait for the agent
and cloud-init, install K3s, join, label the zone, wait Ready.

`vm_steps` builds the steps for one VM (bootstrap calls it once per VM, with a step prefix).
What a step chose (the blade, the VMID) is journaled in the operation's params under
`vm.NAME`, so a resumed operation makes the same VM; every step looks at PVE and Kubernetes
again before acting. A failure before the Node registered removes the half-made VM (and its HA
resource) and says so; after that, the VM stays (it is a node of the cluster).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from infra import locks
from infra.errors import Fatal, GatewayError, Retryable, Unavailable
from infra.gateways.pve_guests import Guest
from infra.journal import Locked
from infra.operations import provision_k3s
from infra.operations.context import Context
from infra.operations.machine import Step
from infra.operations.provision_spec import ProvisionOptions, VmRequest
from infra.placement import choose_blade

CLONE_ATTEMPTS = 5  # nextid is not a reservation: a clone may find the ID taken this many times
_SIZE = re.compile(r"size=(\d+(?:\.\d+)?)([KMGT])")
_UNITS = {"K": 1 / 1024**2, "M": 1 / 1024, "G": 1, "T": 1024}


class VmSteps:
    """The steps of one VM; `state` is what they chose, journaled under `key`."""

    def __init__(self, ctx: Context, op_id: int, request: VmRequest, params: dict[str, Any]) -> None:
        self.ctx, self.op_id, self.req = ctx, op_id, request
        self.key = f"vm.{request.name}"
        self.state: dict[str, Any] = dict(params.get(self.key) or {})
        self.joined = False

    async def _save(self, **changes: Any) -> None:
        self.state.update(changes)
        await self.ctx.journal.update_params(self.op_id, {self.key: self.state})

    @property
    def vmid(self) -> int:
        return int(self.state["vmid"])

    async def locate(self) -> Guest:
        """Where the VM is now (HA may move it): PVE's cluster resources are the truth."""
        found = await self.ctx.guests.guest(self.vmid)
        if found is None or found.name != self.req.name:
            raise Fatal(f"VM {self.vmid} ({self.req.name}) is gone")
        return found

    async def wait(self, upid: str, what: str) -> None:
        result = await self.ctx.poll_until(lambda: self.ctx.pve.task_result(upid),
                                           self.ctx.options.boot_timeout_seconds, f"the {what} task to end")
        if not result.ok:
            raise Fatal(f"{what} failed: {result.exitstatus}")

    # -- the steps
    async def place(self) -> str:
        if self.state.get("blade"):
            return f"on {self.state['blade']} (chosen before)"
        opts = self.ctx.provisioning()
        rule = await _ha_rule(self.ctx, opts) if self.req.ha else None
        chosen = choose_blade(await self.ctx.snapshot(), self.req.memory_mib * 1024**2,
                              self.req.role == "server", self.ctx.options.headroom_gib, self.req.blade, rule)
        if chosen.blade is None:
            raise Fatal(f"no blade for {self.req.name}: {chosen.reason}")
        await self._save(blade=chosen.blade)
        return chosen.reason

    async def clone(self) -> str:
        opts = self.ctx.provisioning()
        template = await find_template(self.ctx, opts.template)
        for _ in range(CLONE_ATTEMPTS):
            if "vmid" in self.state:
                found = await self.ctx.guests.guest(self.vmid)
                if found is not None and found.name == self.req.name:
                    if found.lock == "clone":
                        raise Retryable(f"the clone to VM {self.vmid} is still running",
                                        delay=self.ctx.options.poll_seconds)
                    return f"VM {self.vmid} ({self.req.name}) cloned from {template.name} onto {found.node}"
                if found is not None:  # someone else took the ID meanwhile
                    await self._save(vmid=await self._new_vmid())
            else:
                await self._save(vmid=await self._new_vmid())
            try:
                upid = await self.ctx.guests.clone(template.node, template.vmid, self.vmid, self.req.name,
                                                   self.state["blade"], opts.storage)
            except GatewayError as exc:
                if isinstance(exc, Unavailable) or await self.ctx.guests.guest(self.vmid) is None:
                    raise
                continue  # the ID was taken between nextid and the clone: look again, choose another
            await self.wait(upid, f"clone of {template.name} to VM {self.vmid}")
        raise Fatal(f"every VMID tried was taken before the clone ({CLONE_ATTEMPTS} tries)")

    async def _new_vmid(self) -> int:
        for _ in range(CLONE_ATTEMPTS):
            vmid = await self.ctx.guests.nextid()
            try:  # two provisions asking nextid at once get the same answer: one takes it
                await self.ctx.journal.take_locks(self.op_id, [locks.vmid(vmid)])
                return vmid
            except Locked:
                await self.ctx.sleep()
        raise Retryable("every free VMID is being taken by another provision")

    async def configure(self) -> str:
        opts, vm = self.ctx.provisioning(), await self.locate()
        settings: dict[str, Any] = {"cores": self.req.cores, "memory": self.req.memory_mib, "agent": "1",
                                    "ciuser": opts.ciuser, "ipconfig0": self.req.ipconfig0}
        settings.update({k: v for k, v in (("sshkeys", opts.sshkeys), ("nameserver", opts.nameserver),
                                           ("searchdomain", opts.searchdomain)) if v})
        await self.ctx.guests.set_config(vm.node, vm.vmid, **settings)
        keys = len([k for k in opts.sshkeys.splitlines() if k.strip()])
        return (f"{self.req.cores} cores, {self.req.memory_mib} MiB, ciuser {opts.ciuser}, "
                f"ipconfig0 {self.req.ipconfig0}, {keys} SSH key(s)")

    async def resize(self) -> str:
        opts, vm = self.ctx.provisioning(), await self.locate()
        config = await self.ctx.guests.config(vm.node, vm.vmid)
        size = _SIZE.search(str(config.get(opts.disk, "")))
        if size is None:
            raise Fatal(f"the template has no disk {opts.disk} (provision.disk)")
        current = float(size[1]) * _UNITS[size[2]]
        if current >= self.req.disk_gib:
            return f"{opts.disk} is {current:g} GiB"
        await self.wait(await self.ctx.guests.resize(vm.node, vm.vmid, opts.disk, f"{self.req.disk_gib}G"),
                        f"resize of {opts.disk}")
        return f"{opts.disk} grown from {current:g} to {self.req.disk_gib} GiB"

    async def ha(self) -> str:
        if not self.req.ha:
            return "not HA-managed"
        sid = f"vm:{self.vmid}"
        if all(r.get("sid") != sid for r in await self.ctx.guests.ha_resources()):
            await self.ctx.guests.ha_add(self.vmid, state="stopped")  # the start step starts it
        opts = self.ctx.provisioning()
        rule = await _ha_rule(self.ctx, opts)
        if rule is None:
            return f"{sid} is an HA resource"
        members = [r for r in str(rule.get("resources", "")).split(",") if r]
        if sid not in members:
            await self.ctx.guests.ha_rule_resources(rule["rule"], [*members, sid])
        return f"{sid} is an HA resource, in rule {rule['rule']}"

    async def start(self) -> str:
        vm = await self.locate()
        if vm.status != "running":
            await self.wait(await self.ctx.guests.power(vm.node, vm.vmid, "start"), f"start of VM {vm.vmid}")
        # an HA start only queues the request for the CRM: wait until PVE says it runs
        async def running() -> Guest | None:
            found = await self.locate()
            return found if found.status == "running" else None

        vm = await self.ctx.poll_until(running, self.ctx.options.boot_timeout_seconds,
                                       f"VM {vm.vmid} to run")
        return f"VM {vm.vmid} running on {vm.node}"

    async def agent(self) -> str:
        said = ["nothing"]

        async def answers() -> bool | None:
            vm = await self.locate()
            try:
                await self.ctx.guests.agent_ping(vm.node, vm.vmid)
            except Unavailable:
                raise
            except GatewayError as exc:  # 500 "QEMU guest agent is not running" while it boots
                said[0] = exc.detail
                return None
            return True

        await self.ctx.poll_until(answers, self.ctx.options.boot_timeout_seconds,
                                  lambda: f"the guest agent of VM {self.vmid} (it said: {said[0]})")
        sh = await provision_k3s.shell(self, "agent")
        done = await sh.run("cloud-init status --wait", within=self.ctx.options.boot_timeout_seconds)
        if done.code not in (0, 2):  # 2: done with recoverable errors (cloud-init 23.4+)
            raise Fatal(f"cloud-init failed (exit {done.code}): {done.tail(4)}")
        return f"guest agent up; cloud-init {done.tail(1).strip('. ')}"

    async def remove(self) -> str:
        """Undo a half-made VM: its HA resource, then stop and destroy it (with its disks)."""
        if "vmid" not in self.state:
            return "nothing was created"
        vm = await self.ctx.guests.guest(self.vmid)
        if vm is None or vm.name != self.req.name:
            return f"VM {self.vmid} was not created"
        said = ""
        if vm.hastate is not None or any(r.get("sid") == f"vm:{vm.vmid}"
                                         for r in await self.ctx.guests.ha_resources()):
            await self.ctx.guests.ha_remove(vm.vmid)
            said = " and its HA resource"
        if vm.status == "running":
            await self.wait(await self.ctx.guests.power(vm.node, vm.vmid, "stop"), f"stop of VM {vm.vmid}")
        await self.wait(await self.ctx.guests.destroy(vm.node, vm.vmid), f"removal of VM {vm.vmid}")
        return f"removed the half-made VM {vm.vmid} ({self.req.name}){said}"

    def undoing(self, run: Callable[[], Awaitable[str]]) -> Callable[[], Awaitable[str]]:
        """`run`, and on a failure for good before the Node joined, the half-made VM removed."""
        async def step() -> str:
            try:
                return await run()
            except (Retryable, Unavailable):
                raise
            except (Fatal, GatewayError) as exc:
                if self.joined:
                    raise
                try:
                    undone = await self.remove()
                except GatewayError as again:
                    raise Fatal(f"{exc}; the half-made VM {self.state.get('vmid')} could not be removed "
                                f"({again}): remove it by hand") from exc
                raise Fatal(f"{exc}; {undone}") from exc
        return step


async def find_template(ctx: Context, template: str) -> Guest:
    for guest in await ctx.guests.guests():
        if guest.template and template in (guest.name, str(guest.vmid)):
            return guest
    raise Fatal(f"no template {template!r} in PVE (provision.template)")


async def _ha_rule(ctx: Context, opts: ProvisionOptions) -> dict[str, Any] | None:
    if opts.ha_rule is None:
        return None
    rule = next((r for r in await ctx.guests.ha_rules() if r.get("rule") == opts.ha_rule), None)
    if rule is None:
        raise Fatal(f"no HA rule {opts.ha_rule!r} (provision.ha_rule)")
    return rule


def vm_steps(ctx: Context, op_id: int, request: VmRequest, params: dict[str, Any],
             prefix: str = "") -> list[Step]:
    """The steps that make one VM a Ready K3s node; `prefix` keeps step names apart when one
    operation makes several VMs (bootstrap)."""
    vm = VmSteps(ctx, op_id, request, params)
    k3s = provision_k3s.K3sSteps(vm)
    before = [("place", vm.place), ("clone", vm.clone), ("configure", vm.configure), ("resize", vm.resize),
              ("ha", vm.ha), ("start", vm.start), ("agent", vm.agent), ("k3s", k3s.install),
              ("join", k3s.join)]
    after = [("label", k3s.label), ("ready", k3s.ready)]
    return ([Step(prefix + name, vm.undoing(run)) for name, run in before]
            + [Step(prefix + name, run) for name, run in after])


def provision_steps(ctx: Context, op_id: int, target: str, params: dict[str, Any]) -> list[Step]:
    return vm_steps(ctx, op_id, VmRequest.model_validate(params["request"]), params)


def provision_locks(target: str, params: dict[str, Any]) -> list[str]:
    """The VM's name, the blade it goes on, and its VMID once one was taken."""
    request = VmRequest.model_validate(params["request"])
    state = params.get(f"vm.{request.name}") or {}
    keys = [locks.vm(request.name)]
    blade = state.get("blade") or request.blade
    keys += [locks.blade(blade)] if blade else []
    return keys + ([locks.vmid(int(state["vmid"]))] if "vmid" in state else [])

