"""Proxmox VE through proxmoxer, with an API token.

TLS is verified against `ca_file` (or the system store); `verify_tls=False` turns it off
with a logged warning. Reads are retried on connection errors, 5xx and 595; changes are
not. Tasks are polled on the node their UPID names.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException
from pydantic import BaseModel

from infra.errors import Conflict, GatewayError, NotFound, Unavailable, cause, redact
from infra.gateways._calls import Caller
from infra.gateways.pve_models import HaManager, Resource, Task, VmStatus

log = logging.getLogger(__name__)
SYSTEM = "pve"
UNAVAILABLE_STATUS = frozenset({502, 503, 504, 595, 596})


class TaskResult(BaseModel):
    upid: str
    node: str
    exitstatus: str

    @property
    def ok(self) -> bool:
        """`OK`, or `WARNINGS: n` (a success that logged warnings)."""
        return self.exitstatus == "OK" or self.exitstatus.startswith("WARNINGS")

    @property
    def warnings(self) -> int:
        if self.exitstatus.startswith("WARNINGS:"):
            return int(self.exitstatus.split(":", 1)[1].strip() or 0)
        return 0


def upid_fields(upid: str) -> tuple[str, str, int]:
    """(node, task type, start time) of `UPID:node:PID:PSTART:STARTTIME:type:id:user:`."""
    parts = upid.split(":")
    if len(parts) < 8 or parts[0] != "UPID":
        raise ValueError(f"not a UPID: {upid!r}")
    return parts[1], parts[5], int(parts[4], 16)


def upid_node(upid: str) -> str:
    return upid_fields(upid)[0]


HINTS = {401: "proxmox.token_id and proxmox.token_secret (the token exists, is enabled, not expired)",
         403: "the token's role on this path (privilege separation limits a token to its own ACLs)"}
UNREACHABLE = "proxmox.url and that PVE is up and reachable from here"
TLS = "proxmox.ca_file (the CA that signed PVE's certificate) or proxmox.verify_tls"


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value or "")


def _fields(errors: object) -> list[tuple[str, str]]:
    """PVE's `{"errors": {field: message}}`, as proxmoxer passes it on (possibly nested, or b'')."""
    if not isinstance(errors, dict):
        return []
    if set(errors) == {"errors"}:
        return _fields(errors["errors"])
    return [(str(k), _text(v)) for k, v in errors.items() if _text(v).strip()]


def _content(exc: ResourceException) -> str:
    """PVE's reason and its per-field errors, without Python reprs (`b''`, dicts)."""
    fields = "; ".join(f"{k}: {v}" for k, v in _fields(exc.errors))
    parts = [p.strip() for p in (exc.status_message, _text(exc.content), fields) if p and p.strip()]
    return ": ".join(dict.fromkeys(parts)) or f"HTTP {exc.status_code}"


def translate(exc: Exception) -> GatewayError:
    if isinstance(exc, ResourceException):
        status = int(exc.status_code)
        detail = _content(exc)
        if status in UNAVAILABLE_STATUS or status > 500:
            return Unavailable(SYSTEM, detail, status, hint="that the blade named in the path is up")
        kind = {404: NotFound, 409: Conflict, 423: Conflict}.get(status, GatewayError)
        return kind(SYSTEM, detail, status, hint=HINTS.get(status))
    if isinstance(exc, requests.exceptions.SSLError):  # not transient: retrying will not help
        return GatewayError(SYSTEM, f"TLS verification failed ({cause(exc)})", hint=TLS)
    if isinstance(exc, requests.Timeout):
        return Unavailable(SYSTEM, "no answer in time", hint=UNREACHABLE)
    if isinstance(exc, requests.RequestException):
        return Unavailable(SYSTEM, f"no answer ({cause(exc)})", hint=UNREACHABLE)
    return GatewayError(SYSTEM, f"{type(exc).__name__}: {exc}")


def _retryable(exc: BaseException) -> bool:
    """PVE answers 500 for transient trouble too, so idempotent reads retry on any 5xx."""
    return isinstance(exc, Unavailable) or (isinstance(exc, GatewayError) and exc.status == 500)


class PveGateway:
    def __init__(self, url: str, token_id: str, token_secret: str, ca_file: Path | str | None = None,
                 verify_tls: bool = True, timeout: float = 10) -> None:
        parts = urlsplit(url)
        user, _, token_name = token_id.partition("!")
        verify: bool | str = str(ca_file) if ca_file and verify_tls else verify_tls
        if not verify_tls:
            log.warning("TLS verification for %s is OFF (proxmox.verify_tls: false)", url)
        self.url = url
        self._api = ProxmoxAPI(parts.hostname, port=parts.port or 8006, user=user, token_name=token_name,
                               token_value=token_secret, verify_ssl=verify, timeout=timeout,
                               backend="https", service="PVE")
        self.caller = Caller(SYSTEM, translate, retryable=_retryable, url=url)

    @property
    def calls(self) -> int:
        return self.caller.total

    async def get(self, path: str, **params: Any) -> Any:
        return await self.caller.read(f"GET {path}", lambda: self._api(path).get(**params))

    async def post(self, path: str, **data: Any) -> Any:
        return await self.caller.write(f"POST {path}", lambda: self._api(path).post(**data))

    async def put(self, path: str, **data: Any) -> Any:
        return await self.caller.write(f"PUT {path}", lambda: self._api(path).put(**data))

    async def delete(self, path: str, **params: Any) -> Any:
        return await self.caller.write(f"DELETE {path}", lambda: self._api(path).delete(**params))

    async def get_once(self, path: str, **params: Any) -> Any:
        """A read that is not repeated on failure: it consumes what it reads (agent exec-status)."""
        return await self.caller.write(f"GET {path}", lambda: self._api(path).get(**params))

    # -- reads
    async def version(self) -> dict[str, Any]:
        return await self.get("version")

    async def cluster_resources(self, type: str | None = None) -> list[dict[str, Any]]:
        """The raw list, for the topology parsers; steps use `resources`."""
        return await self.get("cluster/resources", type=type)

    async def resources(self, type: str | None = None) -> list[Resource]:
        return [Resource.model_validate(e) for e in await self.cluster_resources(type)]

    async def cluster_status(self) -> list[dict[str, Any]]:
        return await self.get("cluster/status")

    async def ha_status(self) -> list[dict[str, Any]]:
        return await self.get("cluster/ha/status/current")

    async def ha_rules(self) -> list[dict[str, Any]]:
        """PVE 9's HA rules; PVE 8 has groups instead and no such path (501): no rules, then."""
        try:
            return await self.get("cluster/ha/rules")
        except GatewayError as exc:
            if exc.status == 501:
                return []
            raise

    async def ha_manager_status(self) -> HaManager:
        return HaManager.parse(await self.get("cluster/ha/status/manager_status") or {})

    async def vm_status(self, node: str, vmid: int) -> VmStatus:
        return VmStatus.model_validate(await self.get(f"nodes/{node}/qemu/{vmid}/status/current"))

    async def migrate_preconditions(self, node: str, vmid: int, target: str) -> dict[str, Any]:
        return await self.get(f"nodes/{node}/qemu/{vmid}/migrate", target=target)

    async def permissions(self, path: str) -> dict[str, int]:
        """`GET /access/permissions?path=`: this token's privileges on `path` (privilege -> propagate)."""
        tree = await self.caller.read("GET access/permissions", lambda: self._api("access/permissions").get(
            path=path))
        return dict((tree or {}).get(path) or {})

    async def task_status(self, upid: str) -> dict[str, Any]:
        return await self.get(f"nodes/{upid_node(upid)}/tasks/{upid}/status")

    async def node_tasks(self, node: str, **filters: Any) -> list[Task]:
        """`GET /nodes/{node}/tasks` (newest first)."""
        return [Task.model_validate(t) for t in await self.get(f"nodes/{node}/tasks", **filters)]

    # -- changes
    async def migrate_vm(self, node: str, vmid: int, target: str, online: bool = True) -> str:
        """Start a migration; returns the UPID (for an HA VM, of the `hamigrate` task)."""
        return await self.post(f"nodes/{node}/qemu/{vmid}/migrate", target=target, online=int(online))

    async def node_command(self, node: str, command: str) -> Any:
        """`reboot` or `shutdown` a blade."""
        return await self.post(f"nodes/{node}/status", command=command)

    async def task_result(self, upid: str) -> TaskResult | None:
        """The task's exit status once it has stopped; None while it runs (polled on its node)."""
        status = await self.task_status(upid)
        if status.get("status") != "stopped":
            return None
        exitstatus = redact(status.get("exitstatus") or "unknown")
        return TaskResult(upid=upid, node=upid_node(upid), exitstatus=exitstatus)
