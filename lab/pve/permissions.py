"""API permissions as pve-access-control checks them (RPCEnvironment::check_api2_permissions):
each method's `permissions` from the schema, against the privileges of the user or token.

root@pam and tokens without an entry in `privileges` may do everything (privsep=0); an entry
limits a user or token to those privileges, on every path (the lab has no ACL tree; access.py
computes the entries from roles and ACLs). A refusal is
403 "Permission check failed (/vms/105, VM.PowerMgmt)".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from lab.pve.auth import USER_KEY
from lab.pve.domain import PveError
from lab.pve.schema import Authorize

# The built-in PVEAuditor role (pve-access-control's PVE::AccessControl role definitions).
AUDITOR = frozenset({"Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit",
                     "VM.Audit", "VM.GuestAgent.Audit"})


class PermissionDenied(PveError):
    status = 403

    def __init__(self, what: str = "") -> None:
        super().__init__("Permission check failed" + (f" ({what})" if what else ""))


def check_api2_permissions(perm: Mapping[str, Any] | None, privileges: frozenset[str] | None,
                           params: Mapping[str, Any], user: str = "") -> None:
    """Raise PermissionDenied unless `user`'s `privileges` (None: all of them) allow the call."""
    if privileges is None or (perm or {}).get("user") in ("all", "world"):
        return
    if not perm:
        raise PermissionDenied("user != root@pam")
    if "check" not in perm:
        raise PermissionDenied()
    _check(perm["check"], Caller(user, privileges), params, noerr=False)


@dataclass(frozen=True)
class Caller:
    user: str  # user@realm, or user@realm!tokenid
    privileges: frozenset[str]


def _check(check: list[Any], caller: Caller, params: Mapping[str, Any], noerr: bool) -> bool:
    test, *args = check
    privileges = caller.privileges
    if test == "and":
        return all(_check(sub, caller, params, noerr=False) for sub in args)
    if test == "or":
        if any(_check(sub, caller, params, noerr=True) for sub in args):
            return True
        return _refuse(noerr)
    if test == "userid-param":  # 'self' (a token is not its user), or a privilege on the user's realm
        ok = params.get("userid") == caller.user if args[0] == "self" else args[0] in privileges
        return ok or _refuse(noerr)
    if test == "userid-group":  # one of the privileges on the user's groups (the lab has none)
        return any(p in privileges for p in args[0]) or _refuse(noerr)
    if test == "perm-modify":
        path = re.sub(r"\{(\w+)\}", lambda m: str(params.get(m[1], "")), args[0])
        return "Permissions.Modify" in privileges or _refuse(noerr, f"{path}, Permissions.Modify")
    if test != "perm":
        return True  # other checks: not on any route the lab serves
    path, wanted, *rest = args
    options = dict(zip(rest[::2], rest[1::2], strict=False))
    if options.get("require_param") and params.get(options["require_param"]) is None:
        return _refuse(noerr)
    path = re.sub(r"\{(\w+)\}", lambda m: str(params.get(m[1], "")), path)
    if options.get("any"):
        if any(p in privileges for p in wanted):
            return True
        return _refuse(noerr, f"{path}, {'|'.join(wanted)}")
    missing = next((p for p in wanted if p not in privileges), None)
    return True if missing is None else _refuse(noerr, f"{path}, {missing}")


def _refuse(noerr: bool, what: str = "") -> bool:
    if noerr:
        return False
    raise PermissionDenied(what)


def authorizer(privileges: Mapping[str, frozenset[str]]) -> Authorize:
    """The schema middleware's permission hook: the caller's privileges against the method's."""

    def authorize(request: web.Request, info: dict[str, Any], params: dict[str, Any]) -> None:
        user = request.get(USER_KEY, "")
        check_api2_permissions(info.get("permissions"), privileges.get(user), params, user)

    return authorize


# extract_node_stats(..., $exclude_stats) leaves these out of a node's entry (PVE::API2Tools)
NODE_STATS = frozenset({"uptime", "cpu", "mem", "disk", "maxcpu", "maxmem", "maxdisk"})


Entry = dict[str, Any]


def visible_resources(entries: list[Entry], privileges: frozenset[str] | None) -> list[Entry]:
    """What `GET /cluster/resources` shows the caller (pve-manager's Cluster.pm): a guest only with
    VM.Audit, a storage only with Datastore.Audit, a node always but without its stats unless Sys.Audit.
    No error either way: a token short of VM.Audit just sees no VMs."""
    if privileges is None:
        return entries
    shown = []
    for entry in entries:
        kind = entry.get("type")
        if (kind in ("qemu", "lxc") and "VM.Audit" not in privileges) or (
                kind == "storage" and "Datastore.Audit" not in privileges):
            continue
        if kind == "node" and "Sys.Audit" not in privileges:
            entry = {k: v for k, v in entry.items() if k not in NODE_STATS}
        shown.append(entry)
    return shown

