"""proxmoxer against the lab, and polling with deadlines (never long sleeps)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from lab.faults import apply_fault
from tests.conftest import REFERENCE, RunningLab

T = TypeVar("T")


def proxmox(lab: RunningLab, token: str = "drewburr", secret: str | None = None,
            user: str = "root@pam") -> ProxmoxAPI:
    """proxmoxer as `user`'s `token` (by default root@pam's drewburr, whose secret the lab made)."""
    host, port = lab.pve_url.removeprefix("https://").split(":")
    return ProxmoxAPI(host, port=int(port), user=user, token_name=token,
                      token_value=secret or lab.server.token_secret, verify_ssl=lab.ca_file)


def fault(lab: RunningLab, name: str, target: str | None = None) -> None:
    """Apply the lab fault `name` to `target` now, on the lab's loop."""
    lab.call(lambda: apply_fault(lab.lab, name, target, lab.lab.advance()))


def wait_for(check: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` real seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_task(api: ProxmoxAPI, upid: str, timeout: float = 10.0) -> dict[str, Any]:
    """Poll a task on the UPID's node until it stops; return its final status."""
    node = upid.split(":")[1]

    def stopped() -> dict[str, Any] | None:
        status = api.nodes(node).tasks(upid).status.get()
        return status if status["status"] == "stopped" else None

    return wait_for(stopped, timeout, f"task {upid}")


def agent_up(vm: Any) -> bool:
    """Whether the guest agent of `vm` (a proxmoxer `.../qemu/{vmid}` resource) answers."""
    try:
        vm.agent.ping.post()
    except ResourceException:
        return False
    return True


def eth0_address(vm: Any) -> str:
    """The guest's first eth0 address, as its agent reports it."""
    interfaces = vm.agent("network-get-interfaces").get()["result"]
    return str(next(i for i in interfaces if i["name"] == "eth0")["ip-addresses"][0]["ip-address"])


def vm_resource(api: ProxmoxAPI, vmid: int) -> dict[str, Any]:
    return next(r for r in api.cluster.resources.get(type="vm") if r["vmid"] == vmid)


def reference(name: str) -> Any:
    return json.loads((REFERENCE / "pve" / name).read_text())["data"]


def kind(value: object) -> str:
    return {bool: "number", int: "number", float: "number", str: "string", list: "list",
            dict: "object"}.get(type(value), "null")


def assert_shaped_like(ours: dict[str, Any], real: dict[str, Any], keys: set[str] | None = None) -> None:
    """Our entry has the real capture's keys (or `keys` of them), with the same JSON types."""
    for key in keys or set(real):
        assert key in ours, f"missing {key!r}"
        assert kind(ours[key]) == kind(real[key]), f"{key}: {ours[key]!r} vs real {real[key]!r}"
