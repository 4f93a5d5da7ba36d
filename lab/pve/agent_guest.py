"""The guest agent's file and guest-info commands: file-write, file-read, get-osinfo, info,
get-host-name; shaped as qemu-server's API2::Qemu::Agent answers them."""

from __future__ import annotations

import base64
import binascii
import posixpath
import shlex
from typing import Any

from lab.guest.programs import KERNEL
from lab.pve.agent import AgentApi, AgentError, perl_bytes, perl_text

MAX_READ = 16 * 1024 * 1024  # qemu-server's $MAX_READ_SIZE
READ_CHUNK = 1024 * 1024  # it reads in chunks this big
QGA_VERSION = "8.2.2"  # Ubuntu 24.04's qemu-guest-agent
QGA_COMMANDS = (
    "guest-exec", "guest-exec-status", "guest-file-close", "guest-file-flush", "guest-file-open",
    "guest-file-read", "guest-file-seek", "guest-file-write", "guest-fsfreeze-freeze",
    "guest-fsfreeze-freeze-list", "guest-fsfreeze-status", "guest-fsfreeze-thaw", "guest-fstrim",
    "guest-get-cpustats", "guest-get-devices", "guest-get-disks", "guest-get-diskstats", "guest-get-fsinfo",
    "guest-get-host-name", "guest-get-load", "guest-get-memory-block-info", "guest-get-memory-blocks",
    "guest-get-osinfo", "guest-get-time", "guest-get-timezone", "guest-get-users", "guest-get-vcpus",
    "guest-info", "guest-network-get-interfaces", "guest-ping", "guest-set-memory-blocks",
    "guest-set-time", "guest-set-user-password", "guest-set-vcpus", "guest-shutdown",
    "guest-ssh-add-authorized-keys", "guest-ssh-get-authorized-keys", "guest-ssh-remove-authorized-keys",
    "guest-suspend-disk",
    "guest-suspend-hybrid", "guest-suspend-ram", "guest-sync", "guest-sync-delimited",
)
NO_RESPONSE = frozenset({"guest-shutdown", "guest-suspend-disk", "guest-suspend-hybrid", "guest-suspend-ram"})
KERNEL_VERSION = "#49-Ubuntu SMP PREEMPT_DYNAMIC Mon Nov  4 02:06:24 UTC 2024"


def _open_failed(path: str, mode: str, reason: str) -> AgentError:
    return AgentError(f"failed to open file '{path}' (mode: '{mode}'): {reason}")


class AgentGuestApi(AgentApi):
    def qemu_agent_file_write(self, node: str, vmid: int, file: str, content: str, now: float,
                              encode: bool = True) -> None:
        vm = self._agent_vm(node, vmid, now)
        guest = self.guest(vm)
        if encode:
            data = perl_bytes(content)
        else:
            try:
                data = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                raise AgentError("Base64 data contains invalid characters") from None
        path = _path(file)
        if path in guest.dirs:
            raise _open_failed(file, "wb", "Is a directory")
        if not file or not guest.parent_exists(path):
            raise _open_failed(file, "wb", "No such file or directory")
        guest.write(path, data)

    def qemu_agent_file_read(self, node: str, vmid: int, file: str, now: float, count: int | None = None,
                             offset: int = 0, decode: bool = True) -> dict[str, Any]:
        vm = self._agent_vm(node, vmid, now)
        guest = self.guest(vm)
        path = _path(file)
        if path in guest.dirs:
            raise AgentError("failed to read file: Is a directory")
        if path not in guest.files:
            raise _open_failed(file, "r", "No such file or directory")
        data = guest.files[path][offset:]
        limit = MAX_READ if count is None else count
        taken = data[:limit]
        # qemu-ga answers each chunk base64-encoded; decode=0 forwards the chunks as they came
        chunks = [taken[i:i + READ_CHUNK] for i in range(0, len(taken), READ_CHUNK)] or [b""]
        content = perl_text(taken) if decode else "".join(base64.b64encode(c).decode() for c in chunks)
        result: dict[str, Any] = {"content": content, "bytes-read": len(taken)}
        if len(data) > limit:
            result["truncated"] = 1
        return result

    def qemu_agent_get_osinfo(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        vm = self._agent_vm(node, vmid, now)
        release = _os_release(self.guest(vm).files.get("/etc/os-release", b""))
        info = {"id": release.get("ID"), "name": release.get("NAME"),
                "pretty-name": release.get("PRETTY_NAME"), "version": release.get("VERSION"),
                "version-id": release.get("VERSION_ID"), "kernel-release": KERNEL,
                "kernel-version": KERNEL_VERSION, "machine": "x86_64"}
        return {"result": {k: v for k, v in sorted(info.items()) if v is not None}}

    def qemu_agent_info(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        self._agent_vm(node, vmid, now)
        return {"result": {"version": QGA_VERSION, "supported_commands": [
            {"name": name, "enabled": True, "success-response": name not in NO_RESPONSE}
            for name in QGA_COMMANDS]}}

    def qemu_agent_get_host_name(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        vm = self._agent_vm(node, vmid, now)
        return {"result": {"host-name": self.guest(vm).hostname}}


def _path(file: str) -> str:
    """A path as qemu-ga opens it: relative ones from its working directory, `/`."""
    return posixpath.normpath(posixpath.join("/", file))


def _os_release(data: bytes) -> dict[str, str]:
    out = {}
    for line in data.decode(errors="replace").splitlines():
        key, eq, value = line.partition("=")
        if eq:
            try:
                out[key.strip()] = "".join(shlex.split(value))
            except ValueError:
                out[key.strip()] = value
    return out
