"""PVE authentication: API tokens, tickets (POST /access/ticket) and the CSRF token for writes.

Wording and flow follow pve-manager's PVE::HTTPServer::auth_handler and pve-access-control:
no credentials -> 401 "No ticket"; a bad token or ticket -> 401 "Authentication failed!";
a write with a ticket but without a valid CSRFPreventionToken header -> 401 "Permission
denied - invalid csrf token"; all three with an empty body. A wrong password at
/access/ticket -> 401 "authentication failure" with the JSON error body.
Tickets look like PVE's (`PVE:user@realm:HEXTIME::signature`), signed with HMAC-SHA256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from urllib.parse import unquote

from aiohttp import web

from lab.pve.domain import PveError
from lab.pve.errors import pve_error_response
from lab.pve.schema import API_ROOT, PARAMS_KEY, Handler, Middleware

COOKIE = "PVEAuthCookie"
TOKEN_KEY = "PVEAPIToken"
OPEN_CALLS = {("GET", "/access/domains"), ("GET", "/access/ticket"), ("POST", "/access/ticket")}
USER_KEY = web.RequestKey("pve_user", str)  # the authenticated user or token id

# The privileges of root@pam, as /access/ticket reports them in `cap`.
_ROOT_CAP = {
    "vms": ["VM.Allocate", "VM.Audit", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU",
            "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory",
            "VM.Config.Network", "VM.Config.Options", "VM.Console", "VM.GuestAgent.Audit",
            "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.PowerMgmt", "VM.Snapshot",
            "VM.Snapshot.Rollback", "Permissions.Modify"],
    "storage": ["Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate",
                "Datastore.Audit", "Permissions.Modify"],
    "access": ["Group.Allocate", "Permissions.Modify", "User.Modify"],
    "nodes": ["Permissions.Modify", "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify",
              "Sys.PowerMgmt", "Sys.Syslog"],
    "dc": ["Sys.Audit", "Sys.Modify", "SDN.Allocate", "SDN.Audit"],
    "sdn": ["Permissions.Modify", "SDN.Allocate", "SDN.Audit", "SDN.Use"],
    "mapping": ["Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify"],
}


class AuthFailed(Exception):
    """A refused request, answered with 401 and the reason only (pveproxy sends no body)."""


class PveAuth:
    """Issues and checks tickets and CSRF tokens; checks API tokens against `tokens`."""

    def __init__(self, tokens: dict[str, str], passwords: dict[str, str],
                 now: Callable[[], float]) -> None:
        self.tokens = tokens  # "user@realm!tokenid" -> secret
        self.passwords = passwords  # "user@realm" -> password
        self.now = now
        self._secret = secrets.token_bytes(32)

    def _sign(self, text: str) -> str:
        digest = hmac.new(self._secret, text.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode().rstrip("=")

    def ticket(self, username: str) -> str:
        plain = f"PVE:{username}:{int(self.now()):08X}"
        return f"{plain}::{self._sign(plain)}"

    def verify_ticket(self, ticket: str) -> str:
        match = re.fullmatch(r"(PVE:(\S+):[0-9A-F]{8})::(\S+)", ticket)
        if not match or not hmac.compare_digest(self._sign(match[1]), match[3]):
            raise AuthFailed("Authentication failed!")
        return match[2]

    def csrf_token(self, username: str) -> str:
        stamp = f"{int(self.now()):08X}"
        return f"{stamp}:{self._sign(f'{stamp}:{username}')}"

    def verify_csrf(self, username: str, token: str | None) -> None:
        match = re.fullmatch(r"([A-Z0-9]{8}):(\S+)", token or "")
        if not match or not hmac.compare_digest(self._sign(f"{match[1]}:{username}"), match[2]):
            raise AuthFailed("Permission denied - invalid csrf token")

    def verify_token(self, value: str) -> str:
        tokenid, sep, secret = value.rpartition("=")
        known = self.tokens.get(tokenid)
        if not sep or known is None or not hmac.compare_digest(known, secret):
            raise AuthFailed("Authentication failed!")
        return tokenid

    def access_ticket(self, username: str, password: str, realm: str | None = None) -> dict[str, object]:
        """POST /access/ticket: a new ticket for a password, or for a still valid ticket."""
        if realm and "@" not in username:
            username = f"{username}@{realm}"
        known = self.passwords.get(username)
        valid = known is not None and hmac.compare_digest(known, password)
        if not valid and password.startswith("PVE:"):
            try:
                valid = self.verify_ticket(password) == username
            except AuthFailed:
                valid = False
        if not valid:
            raise PveError("authentication failure", 401)
        cap = {area: dict.fromkeys(privs, 1) for area, privs in _ROOT_CAP.items()}
        return {"username": username, "ticket": self.ticket(username),
                "CSRFPreventionToken": self.csrf_token(username), "cap": cap,
                "clustername": "homelab"}

    def authenticate(self, method: str, headers: Mapping[str, str], cookie: str | None) -> str:
        """The user (or token id) a request acts as; AuthFailed when refused."""
        auth_header = headers.get("Authorization")
        ticket = _auth_value(cookie, COOKIE) or _auth_value(auth_header, COOKIE)
        if not ticket:
            api_token = _auth_value(auth_header, TOKEN_KEY)
            if api_token:
                return self.verify_token(api_token)
            raise AuthFailed("No ticket")
        username = self.verify_ticket(ticket)
        if method != "GET":
            self.verify_csrf(username, headers.get("CSRFPreventionToken"))
        return username


def _auth_value(header: str | None, key: str) -> str | None:
    """PVE::APIServer::Formatter::extract_auth_value: `KEY=value` or `KEY value`, URI-unescaped."""
    if not header:
        return None
    match = re.search(rf"(?:^|\s){re.escape(key)}(?:=| )([^;]*)", header)
    return unquote(match[1]) if match and match[1] else None


def auth_middleware(auth: PveAuth) -> Middleware:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        rel = request.path.removeprefix(API_ROOT)
        if not request.path.startswith(API_ROOT + "/") or (request.method, rel) in OPEN_CALLS:
            return await handler(request)
        try:
            # the headers themselves, not a dict copy: their names are case-insensitive
            request[USER_KEY] = auth.authenticate(request.method, request.headers,
                                                  request.headers.get("Cookie"))
        except AuthFailed as refused:
            return pve_error_response(401, str(refused), body=False)
        return await handler(request)

    return authenticate


def make_routes(auth: PveAuth) -> web.RouteTableDef:
    table = web.RouteTableDef()

    @table.get(f"{API_ROOT}/access/ticket")
    async def get_ticket(request: web.Request) -> web.Response:
        # "Dummy. Useful for formatters which want to provide a login page."
        return web.json_response({"data": None})

    @table.post(f"{API_ROOT}/access/ticket")
    async def create_ticket(request: web.Request) -> web.Response:
        params = request[PARAMS_KEY]
        return web.json_response({"data": auth.access_ticket(
            str(params["username"]), str(params["password"]), params.get("realm"))})

    return table
