"""PVE domain errors, worded as PVE words them; `lab/pve/errors.py` turns them into HTTP.

`status` is the HTTP status PVE answers with, `message` its text (the status line for
non-400 answers), `errors` PVE's per-field messages for a 400.
"""

from __future__ import annotations


class PveError(Exception):
    status = 500

    def __init__(self, message: str, status: int | None = None,
                 errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.errors = errors or {}


class ParamError(PveError):
    """A bad parameter: 400 with `{"errors": {field: msg}}`."""

    status = 400

    def __init__(self, field: str, msg: str) -> None:
        super().__init__("Parameter verification failed.", errors={field: msg})
        self.field = field


class NodeOffline(PveError):
    """A request proxied to a blade that does not answer: pveproxy relays AnyEvent::HTTP's 595.

    A powered-off blade gives "No route to host" (no ARP answer); a blade cut off by a network
    partition gives "Connection timed out" (measured on PVE 9: after 30 s, no JSON body).
    """

    status = 595

    def __init__(self, node: str, reason: str = "No route to host") -> None:
        super().__init__(reason)
        self.node = node


class NoSuchNode(PveError):
    def __init__(self, node: str) -> None:
        super().__init__(f"hostname lookup '{node}' failed - failed to get address info for: "
                         f"{node}: Name or service not known")
        self.node = node


class VmNotFound(PveError):
    def __init__(self, node: str, vmid: int) -> None:
        super().__init__(f"Configuration file 'nodes/{node}/qemu-server/{vmid}.conf' does not exist")
        self.vmid = vmid


class ConfigLocked(PveError):
    def __init__(self, vmid: int, lock: str) -> None:
        # AbstractConfig::check_lock says "VM is locked (backup)", without the id
        super().__init__(f"VM is locked ({lock})")
        self.vmid = vmid
        self.lock = lock


class NotQuorate(PveError):
    def __init__(self) -> None:
        super().__init__("cluster not ready - no quorum?")


class AgentNotRunning(PveError):
    def __init__(self) -> None:
        super().__init__("QEMU guest agent is not running")


class TaskNotFound(ParamError):
    def __init__(self, upid: str, malformed: bool = False) -> None:
        super().__init__("upid", "unable to parse worker upid" if malformed else "no such task")
        self.upid = upid
