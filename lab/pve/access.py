"""Roles, users, API tokens and ACLs, as pve-access-control keeps them in user.cfg: what
`pveum role add`, `pveum user add`, `pveum user token add` and `pveum acl modify` call.

Simplification: no ACL tree. An ACL entry grants its role's privileges on every path, whatever
path it names (the lab checks privileges path-free: permissions.py). A user's privileges are
the union of the roles it holds; a privilege-separated token's are those of its own ACL entries
that its user also holds; a token without privilege separation has its user's. root@pam (and its
tokens made without an ACL) keep every privilege. Errors are worded as pve-access-control's.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from lab.pve.domain import ParamError, PveError
from lab.pve.permissions import AUDITOR

ROOT = "root@pam"
# PVE 9's privileges (pve-access-control's $privgroups)
VALID_PRIVILEGES = frozenset({
    "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
    "Group.Allocate", "Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify",
    "Pool.Allocate", "Pool.Audit", "Realm.Allocate", "Realm.AllocateUser", "SDN.Allocate", "SDN.Audit",
    "SDN.Use", "Sys.AccessNetwork", "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify",
    "Sys.PowerMgmt", "Sys.Syslog", "User.Modify", "VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone",
    "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType",
    "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.Console", "VM.GuestAgent.Audit",
    "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite",
    "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.PowerMgmt", "VM.Replicate", "VM.Snapshot",
    "VM.Snapshot.Rollback"})
BUILT_IN_ROLES = {"Administrator": VALID_PRIVILEGES, "PVEAuditor": AUDITOR, "NoAccess": frozenset()}
ACL_PATH = re.compile(r"/|/(access|nodes|pool|sdn|storage|vms|mapping)(/[A-Za-z0-9.\-_]+)*")


def _split(value: str | None) -> list[str]:
    """pve-common's split_list: commas, semicolons, spaces and NULs separate."""
    return [v for v in re.split(r"[,;\s\0]+", value or "") if v]


@dataclass
class AccessConfig:
    roles: dict[str, frozenset[str]] = field(default_factory=lambda: dict(BUILT_IN_ROLES))
    users: set[str] = field(default_factory=lambda: {ROOT})
    privsep: dict[str, bool] = field(default_factory=dict)  # API-made token id -> privilege separation
    acl: set[tuple[str, str, str]] = field(default_factory=set)  # (path, user or token id, role)


class AccessApi:
    access: AccessConfig
    tokens: dict[str, str]
    passwords: dict[str, str]
    privileges: dict[str, frozenset[str]]

    def create_role(self, roleid: str, privs: str | None) -> None:
        if roleid.upper().startswith("PVE"):
            raise ParamError("roleid",
                             "cannot use role ID starting with the (case-insensitive) 'PVE' namespace")
        if roleid in self.access.roles:
            raise PveError(f"create role failed: role '{roleid}' already exists")
        wanted = _split(privs)
        if bad := next((p for p in wanted if p not in VALID_PRIVILEGES), None):
            raise PveError(f"create role failed: invalid privilege '{bad}'")
        self.access.roles[roleid] = frozenset(wanted)

    def create_user(self, userid: str, password: str | None = None) -> None:
        if userid in self.access.users:
            raise PveError(f"create user failed: user '{userid}' already exists")
        self.access.users.add(userid)
        if password is not None:
            self.passwords[userid] = password
        self._grant()

    def generate_token(self, userid: str, tokenid: str, privsep: bool | None,
                       comment: str | None = None) -> dict[str, Any]:
        if userid not in self.access.users:
            raise PveError(f"no such user ('{userid}')")
        full = f"{userid}!{tokenid}"
        if full in self.tokens:
            raise ParamError("tokenid", "Token already exists.")
        self.tokens[full] = str(uuid.uuid4())
        self.access.privsep[full] = True if privsep is None else privsep
        self._grant()
        info: dict[str, Any] = {"privsep": int(self.access.privsep[full])}
        if comment:
            info["comment"] = comment
        return {"full-tokenid": full, "info": info, "value": self.tokens[full]}

    def update_acl(self, path: str, roles: str, users: str | None = None, tokens: str | None = None,
                   groups: str | None = None, delete: bool = False) -> None:
        if not (users or groups or tokens):
            required = "either 'users', 'groups' or 'tokens' is required."
            raise PveError("Parameter verification failed.", 400, dict.fromkeys(("users", "groups", "tokens"),
                                                                                 required))
        normal = "/" + "/".join(p for p in path.split("/") if p)
        if not ACL_PATH.fullmatch(normal):
            raise ParamError("path", f"invalid ACL path '{path}'")
        for role in _split(roles):
            if role not in self.access.roles:
                raise PveError(f"ACL update failed: role '{role}' does not exist")
            if _split(groups):  # the lab has no groups
                raise PveError(f"ACL update failed: group '{_split(groups)[0]}' does not exist")
            for who in [*_split(users), *_split(tokens)]:
                user, _, token = who.partition("!")
                if user not in self.access.users:
                    missing = f"no such user ('{user}')" if token else f"user '{user}' does not exist"
                    raise PveError(f"ACL update failed: {missing}")
                if token and who not in self.tokens:
                    raise PveError(f"ACL update failed: no such token '{token}' for user '{user}'")
                (self.access.acl.discard if delete else self.access.acl.add)((normal, who, role))
        self._grant()

    def _held(self, who: str) -> frozenset[str]:
        return frozenset().union(*(self.access.roles.get(r, frozenset())
                                   for _, holder, r in self.access.acl if holder == who))

    def _grant(self) -> None:
        """Every API-made user's and token's privileges, again (permissions.py reads them)."""
        for user in self.access.users - {ROOT}:
            self.privileges[user] = self._held(user)
        for token, separated in self.access.privsep.items():
            user = token.partition("!")[0]
            own = None if user == ROOT else self.privileges.get(user, frozenset())
            if not separated:
                if own is None:
                    self.privileges.pop(token, None)
                else:
                    self.privileges[token] = own
            else:
                self.privileges[token] = self._held(token) if own is None else self._held(token) & own
