"""`provision.install: ssh`: K3s installed over SSH (asyncssh) against a real SSH server.

The lab's guests have no network a test can dial, so the test starts an asyncssh server that
stands in for the new VM's sshd: it accepts the user and the keys the VM's cloud-init sets
(read back from PVE's `cloudinit/dump`, what cloud-init writes to authorized_keys), checks its
host key against the known_hosts drewburr is given, and runs each command in the VM's own shell
through the lab's guest agent (proxmoxer), with its stdin, output and exit status. So what is
tested is drewburr's SSH client and what it runs, on the VM that PVE made."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import asyncssh

from commands.provision import provision
from commands.result import DONE, FAILED
from infra.operations.provision_check import Ask
from infra.operations.provision_spec import SshOptions

from .opsctx import pve_client
from .provisionctx import ZONE, core, guest, keypair, lab, node_ready, provision_context


class GuestSshd(asyncssh.SSHServer):
    """The sshd of the lab VM `name` (see the module's docstring)."""

    def __init__(self, pve: Any, name: str, commands: list[str]) -> None:
        self.pve, self.name, self.commands = pve, name, commands

    def _cloud_config(self) -> tuple[str, set[str]]:
        vm = guest(self.pve, self.name)
        if vm is None:
            return "", set()
        user = self.pve.nodes(vm["node"]).qemu(vm["vmid"]).cloudinit.dump.get(type="user")
        login = next((line.split(": ", 1)[1] for line in user.splitlines() if line.startswith("user: ")), "")
        keys = {" ".join(line.split()[1:3]) for line in user.splitlines() if line.startswith("  - ssh-")}
        return login, keys

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        login, keys = self._cloud_config()
        return username == login and " ".join(key.export_public_key().decode().split()[:2]) in keys

    async def run(self, process: asyncssh.SSHServerProcess) -> None:
        command = process.command or ""
        self.commands.append(command)
        stdin = await process.stdin.read()
        vm = guest(self.pve, self.name)
        agent = self.pve.nodes(vm["node"]).qemu(vm["vmid"]).agent
        data = {"input-data": stdin} if stdin else {}
        pid = (await asyncio.to_thread(agent.exec.post, command=["sh", "-c", command], **data))["pid"]
        while True:  # the agent is polled, as PVE's clients do
            done = await asyncio.to_thread(agent("exec-status").get, pid=pid)
            if done["exited"]:
                break
            await asyncio.sleep(0.05)
        process.stdout.write(done.get("out-data", ""))
        process.stderr.write(done.get("err-data", ""))
        process.exit(done["exitcode"])


async def sshd(pve: Any, name: str, folder: Path,
               commands: list[str]) -> tuple[asyncssh.SSHAcceptor, int, Path]:
    """A GuestSshd on a free loopback port, and a known_hosts file naming its host key."""
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    server = GuestSshd(pve, name, commands)
    acceptor = await asyncssh.create_server(lambda: server, "127.0.0.1", 0, server_host_keys=[host_key],
                                            process_factory=server.run)
    port = acceptor.sockets[0].getsockname()[1]
    known_hosts = folder / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode()}")
    return acceptor, port, known_hosts


async def test_k3s_installed_over_ssh_joins_the_node(tmp_path: Path) -> None:
    with lab(tmp_path / "lab") as running:
        pve, commands = pve_client(running), []
        key_file, public = keypair(tmp_path)
        acceptor, port, known_hosts = await sshd(pve, "kube06", tmp_path, commands)
        try:
            ssh = SshOptions(host="127.0.0.1", port=port, key_file=key_file, known_hosts=known_hosts)
            ctx = provision_context(running, public, install="ssh", ssh=ssh)
            done = await provision(ctx, Ask(name="kube06", memory_mib=1024), yes=True)
            assert done.code == DONE, done.text
            assert "sh /root/drewburr-k3s-install.sh" in commands  # run over SSH ...
            vmid = guest(pve, "kube06")["vmid"]
            writes = running.call(lambda: running.lab.recorder.count("POST", f"/qemu/{vmid}/agent/file-write",
                                                                     "pve"))
            assert writes == 0  # ... and written over SSH, not through the agent
            node = core(running).read_node("kube06")
            assert node_ready(node) and node.metadata.labels[ZONE] == guest(pve, "kube06")["node"]

            (tmp_path / "stranger").mkdir()
            stranger, _ = keypair(tmp_path / "stranger")  # a key the VM's cloud-init does not hold
            acceptor.close()
            acceptor, port, known_hosts = await sshd(pve, "kube07", tmp_path, commands)
            ctx.provision = dataclasses.replace(ctx.provision, ssh=dataclasses.replace(
                ssh, port=port, known_hosts=known_hosts, key_file=stranger))
            refused = await provision(ctx, Ask(name="kube07", memory_mib=1024), yes=True)
            assert refused.code == FAILED and "Permission denied" in refused.text, refused.text
            assert "removed the half-made VM" in refused.text and guest(pve, "kube07") is None
        finally:
            acceptor.close()
