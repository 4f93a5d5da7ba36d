"""The K3s steps of a provision: install (through the guest agent, or over SSH), wait for the Node
to register (the join), label its zone, wait until Ready."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from infra.errors import Fatal, NotFound, TimedOut
from infra.gateways.k8s import K8sGateway
from infra.gateways.pve_guests import AgentShell
from infra.gateways.shell import Shell
from infra.gateways.ssh import SshShell

if TYPE_CHECKING:
    from infra.operations.provision import VmSteps

NODE_TOKEN = "/var/lib/rancher/k3s/server/node-token"
SCRIPT = "/root/drewburr-k3s-install.sh"
JOIN_TOKEN = "/root/.drewburr-k3s-token"  # K3S_TOKEN_FILE: kept out of exec arguments, which PVE logs
ZONE = "topology.kubernetes.io/zone"


async def shell(vm: VmSteps, how: str) -> Shell:
    """The guest's shell: through its agent, or over SSH to its address."""
    guest = await vm.locate()
    if how == "agent":
        return AgentShell(vm.ctx.guests, guest.node, guest.vmid, vm.ctx.poll_until)
    opts = vm.ctx.provisioning()
    ip = vm.req.ipconfig0.partition("ip=")[2].split(",")[0].split("/")[0]
    if ip in ("", "dhcp"):
        ip = await vm.ctx.guests.agent_ipv4(guest.node, guest.vmid) or ""
    ssh = opts.ssh
    return SshShell(ssh.host.format(ip=ip, name=vm.req.name), ssh.port, ssh.user or opts.ciuser, ssh.key_file,
                    ssh.known_hosts, ssh.connect_timeout_seconds)


class K3sSteps:
    def __init__(self, vm: VmSteps) -> None:
        self.vm, self.ctx, self.req = vm, vm.ctx, vm.req
        self.node_name = self.ctx.options.node_pattern.format(vm=self.req.name)
        self.unit = "k3s" if self.req.role == "server" else "k3s-agent"

    @property
    def k8s(self) -> K8sGateway:
        if self.ctx.k8s is None:
            raise Fatal("no Kubernetes access configured (kubernetes.kubeconfig)")
        return self.ctx.k8s

    async def node(self) -> dict[str, Any] | None:
        if self.ctx.k8s is None:  # a bootstrap before its first server answers: nothing has joined
            return None
        try:
            return await self.k8s.get_node(self.node_name)
        except NotFound:
            return None

    def script(self, token: bool) -> str:
        k3s = self.ctx.provisioning().k3s
        words: list[str] = [self.req.role]
        words += ["--server", self.req.server_url] if self.req.server_url else (
            ["--cluster-init"] if self.req.role == "server" else [])
        words += ["--node-name", self.node_name, *(k3s.server_args if self.req.role == "server" else
                                                   k3s.agent_args)]
        env = f"K3S_TOKEN_FILE={JOIN_TOKEN} " if token else ""
        return (f"#!/bin/sh\nset -e\ncurl -sfL {shlex.quote(k3s.installer_url)} | "
                f"{env}INSTALL_K3S_EXEC={shlex.quote(' '.join(words))} sh -s -\n")

    async def token(self) -> str | None:
        """The join token: configured, or read from a server through its guest agent."""
        k3s = self.ctx.provisioning().k3s
        if k3s.token:
            return k3s.token
        if self.req.server_url is None:
            return None  # the first server of a new cluster: K3s makes one
        guests = await self.ctx.guests.guests()
        if k3s.token_from:
            names = {k3s.token_from}
        else:
            snap = await self.ctx.snapshot()
            names = {snap.vms[n.vm].name for n in snap.nodes.values() if n.server and n.ready
                     and n.vm in snap.vms}
        for guest in sorted((g for g in guests if g.name in names and g.status == "running"),
                            key=lambda g: g.name):
            text = await self.ctx.guests.agent_file_read(guest.node, guest.vmid, NODE_TOKEN)
            return text.strip()
        tried = ", ".join(sorted(names)) or "none"
        raise Fatal(f"no running K3s server to read the join token from ({tried}); "
                    "set provision.k3s.token or provision.k3s.token_from")

    async def install(self) -> str:
        if await self.node() is not None:
            self.vm.joined = True
            return f"Node {self.node_name} already registered"
        opts = self.ctx.provisioning()
        sh = await shell(self.vm, opts.install)
        state = (await sh.run(f"systemctl is-active {self.unit}")).out.strip()
        if state in ("active", "activating"):  # installed before a restart of ours: not twice
            return f"{self.unit} installed before ({state})"
        token = await self.token()
        script = self.script(token is not None)
        if opts.install == "agent":
            vm = await self.vm.locate()
            if token is not None:
                await self.ctx.guests.agent_file_write(vm.node, vm.vmid, JOIN_TOKEN, token)
            await self.ctx.guests.agent_file_write(vm.node, vm.vmid, SCRIPT, script)
        else:
            for path, text in ((JOIN_TOKEN, token), (SCRIPT, script)):
                if text is not None and (wrote := await sh.run(f"cat > {path}", stdin=text)).code != 0:
                    raise Fatal(f"could not write {path} over SSH (exit {wrote.code}): {wrote.tail(2)}")
        try:
            done = await sh.run(f"sh {SCRIPT}", within=opts.join_timeout_seconds)
        except TimedOut as exc:
            raise Fatal(f"the K3s install did not finish: {exc}; {await self.unit_log(sh)}") from exc
        if done.code != 0:
            raise Fatal(f"the K3s install failed (exit {done.code}): {done.tail(4)}")
        return f"{self.unit} installed through the {opts.install}: {done.tail(3)}"

    async def unit_log(self, sh: Shell) -> str:
        log = await sh.run(f"journalctl -u {self.unit}")
        return f"{self.unit} says: {log.tail(2) or 'nothing'}"

    async def join(self) -> str:
        try:
            await self.ctx.poll_until(self.node, self.ctx.provisioning().join_timeout_seconds,
                                      f"Node {self.node_name} to register")
        except TimedOut as exc:
            raise Fatal(f"{exc}; {await self.unit_log(await shell(self.vm, 'agent'))}") from exc
        self.vm.joined = True
        return f"Node {self.node_name} registered"

    async def label(self) -> str:
        blade = (await self.vm.locate()).node
        await self.k8s.set_labels(self.node_name, {ZONE: blade})
        return f"{ZONE}={blade}"

    async def ready(self) -> str:
        async def ready() -> bool | None:
            node = await self.node() or {}
            conditions = (node.get("status") or {}).get("conditions") or []
            return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions) or None

        await self.ctx.poll_until(ready, self.ctx.provisioning().ready_timeout_seconds,
                                  f"Node {self.node_name} to be Ready")
        return f"Node {self.node_name} Ready"
