"""Who sent a request: the bearer token's user, then impersonation, as the API server's filters do.

The lab's admin token is `system:admin` in `system:masters` (K3s' admin kubeconfig); a
ServiceAccount token is its ServiceAccount. Anything else is 401. `Impersonate-User` and
`Impersonate-Group` need the `impersonate` verb on `users`, `groups` or `serviceaccounts`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping

from lab.k8s import tokens
from lab.k8s.errors import BadRequest, Unauthorized
from lab.k8s.rbac import AUTHENTICATED, MASTERS, Attributes, User, forbidden, split_service_account
from lab.k8s.store import Store

ADMIN = User("system:admin", (MASTERS, AUTHENTICATED))

Authorize = Callable[[User, Attributes], tuple[bool, str]]


def authenticate(headers: Mapping[str, str], admin_token: str, key: bytes, store: Store,
                 now: float) -> User:
    sent = headers.get("Authorization", "")
    scheme, _, token = sent.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        if hmac.compare_digest(token.encode(), admin_token.encode()):
            return ADMIN
        user = tokens.authenticate(key, store, token, now)
        if user is not None:
            return user
    raise Unauthorized("Unauthorized")


def impersonate(user: User, headers: Mapping[str, str], groups: list[str],
                authorize: Authorize) -> User:
    """The user the request acts as; `groups` are the Impersonate-Group values (headers repeat)."""
    name = headers.get("Impersonate-User")
    if name is None and not groups:
        return user
    if not name:
        raise BadRequest(f"requested {_describe_groups(groups)} without impersonating a user")
    service_account = split_service_account(name)
    if service_account:
        ns, sa = service_account
        attrs = Attributes("impersonate", namespace=ns, resource="serviceaccounts", name=sa)
    else:
        attrs = Attributes("impersonate", resource="users", name=name)
    checks = [attrs] + [Attributes("impersonate", resource="groups", name=g) for g in groups]
    for check in checks:
        allowed, reason = authorize(user, check)
        if not allowed:
            raise forbidden(user, check, reason)
    if not groups and service_account:
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{service_account[0]}"]
    if name != "system:anonymous" and AUTHENTICATED not in groups:
        groups = [*groups, AUTHENTICATED]
    return User(name, tuple(groups))


def _describe_groups(groups: list[str]) -> str:
    return "[" + " ".join(f"{{Group  {g}  }}" for g in groups) + "]"
