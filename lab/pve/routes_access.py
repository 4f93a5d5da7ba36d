"""`GET /access/permissions`: the caller's privileges, as pve-access-control dumps them.

The lab has no ACL tree: an unlimited user or token holds every privilege on every path, a
limited token (`privileges`) holds its set on every path, each propagated (1). With `path`,
the answer is that one path; without, the top-level paths PVE always lists.
"""

from __future__ import annotations

import re

from aiohttp import web

from lab.pve.auth import _ROOT_CAP
from lab.pve.domain import ParamError
from lab.pve.handlers import Call, answers
from lab.pve.permissions import PermissionDenied

table = web.RouteTableDef()
ALL_PRIVILEGES = frozenset(p for group in _ROOT_CAP.values() for p in group)
# pve-access-control's userid / token id pattern (user@realm or user@realm!token)
USERID = re.compile(r"[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+(?:![A-Za-z][A-Za-z0-9.\-_]+)?")
TOP_PATHS = ("/", "/access", "/nodes", "/pool", "/sdn", "/storage", "/vms", "/mapping")


@table.get("/api2/json/access/permissions")
@answers
def access_permissions(c: Call) -> object:
    userid = c.text("userid") or c.user
    if not USERID.fullmatch(userid):  # the schema's pattern is Perl-only, so the validator skips it
        raise ParamError("userid", "value does not match the regex pattern")
    own = userid == c.user or userid.startswith(c.user + "!")  # a user may dump its own tokens
    if not own and "Sys.Audit" not in c.pve.privileges.get(c.user, ALL_PRIVILEGES):
        raise PermissionDenied("/access, Sys.Audit")
    held = c.pve.privileges.get(userid, ALL_PRIVILEGES)
    paths = [c.text("path")] if c.text("path") else TOP_PATHS
    return {path: {privilege: 1 for privilege in sorted(held)} for path in paths}


@table.post("/api2/json/access/roles")
@answers
def create_role(c: Call) -> object:
    c.pve.create_role(str(c.text("roleid")), c.text("privs"))
    return None


@table.post("/api2/json/access/users")
@answers
def create_user(c: Call) -> object:
    c.pve.create_user(str(c.text("userid")), c.text("password"))
    return None


@table.post("/api2/json/access/users/{userid}/token/{tokenid}")
@answers
def generate_token(c: Call) -> object:
    return c.pve.generate_token(str(c.text("userid")), str(c.text("tokenid")), c.flag("privsep"),
                                c.text("comment"))


@table.put("/api2/json/access/acl")
@answers
def update_acl(c: Call) -> object:
    c.pve.update_acl(str(c.text("path")), str(c.text("roles")), c.text("users"), c.text("tokens"),
                     c.text("groups"), bool(c.flag("delete")))
    return None

