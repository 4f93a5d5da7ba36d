"""ServiceAccount tokens: JWTs the lab's API server issues (TokenRequest, token Secrets) and accepts.

Claims are the real ones (bound tokens: `kubernetes.io` with the ServiceAccount's name and
uid, `aud`, `exp`; legacy Secret tokens: the `kubernetes.io/serviceaccount/...` claims).
Simplification: signed with HS256 and a key of the lab's, where the API server uses RS256.
A token is accepted only while what it is bound to exists with the same uid, as the
service account authenticator's lookups check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

from lab.k8s.rbac import SA_PREFIX, User, service_account_user
from lab.k8s.resources import BY_KIND
from lab.k8s.store import Store

ISSUER = "https://kubernetes.default.svc.cluster.local"
LEGACY_ISSUER = "kubernetes/serviceaccount"
API_AUDIENCES = ("https://kubernetes.default.svc.cluster.local", "k3s")  # K3s' --api-audiences
SERVICE_ACCOUNT, SECRET = BY_KIND["ServiceAccount"], BY_KIND["Secret"]
_LEGACY = "kubernetes.io/serviceaccount/"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, claims: dict[str, Any]) -> str:
    head = _b64(json.dumps({"alg": "HS256", "kid": hashlib.sha256(key).hexdigest()[:16]}).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def bound_token(key: bytes, sa: dict[str, Any], audiences: list[str], now: float, seconds: int,
                bound: dict[str, Any] | None = None) -> str:
    meta = sa["metadata"]
    k8s: dict[str, Any] = {"namespace": meta["namespace"],
                           "serviceaccount": {"name": meta["name"], "uid": meta["uid"]}}
    if bound:  # a Secret or Pod the token dies with
        k8s[bound["kind"].lower()] = {"name": bound["name"], "uid": bound.get("uid", "")}
    return sign(key, {"aud": audiences, "exp": int(now) + seconds, "iat": int(now), "iss": ISSUER,
                      "jti": str(uuid.uuid4()), "kubernetes.io": k8s, "nbf": int(now),
                      "sub": f"{SA_PREFIX}{meta['namespace']}:{meta['name']}"})


def legacy_token(key: bytes, sa: dict[str, Any], secret_name: str) -> str:
    meta = sa["metadata"]
    return sign(key, {"iss": LEGACY_ISSUER, f"{_LEGACY}namespace": meta["namespace"],
                      f"{_LEGACY}secret.name": secret_name, f"{_LEGACY}service-account.name": meta["name"],
                      f"{_LEGACY}service-account.uid": meta["uid"],
                      "sub": f"{SA_PREFIX}{meta['namespace']}:{meta['name']}"})


def decode_secret_token(secret: dict[str, Any]) -> str:
    """The token a token Secret holds (its `data.token`, base64), or "" before the controller filled it."""
    try:
        return base64.b64decode((secret.get("data") or {}).get("token") or "").decode()
    except (ValueError, TypeError):  # not base64: no token a client could have sent
        return ""


def _claims(key: bytes, token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        mac = _unb64(parts[2])
        expected = hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            return None
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def _alive(store: Store, namespace: str, name: str, uid: str,
           extra: dict[str, list[str]] | None = None) -> User | None:
    sa = store.find(SERVICE_ACCOUNT, namespace, name)
    if sa is None or sa["metadata"]["uid"] != uid or sa["metadata"].get("deletionTimestamp"):
        return None
    user = service_account_user(namespace, name, uid)
    return User(user.name, user.groups, uid, extra or {})


def authenticate(key: bytes, store: Store, token: str, now: float) -> User | None:
    """The ServiceAccount a token stands for, or None (the caller answers 401)."""
    claims = _claims(key, token)
    if claims is None:
        return None
    if claims.get("iss") == LEGACY_ISSUER:
        ns, secret_name = claims.get(f"{_LEGACY}namespace", ""), claims.get(f"{_LEGACY}secret.name", "")
        secret = store.find(SECRET, ns, secret_name)
        if secret is None or decode_secret_token(secret) != token:
            return None
        return _alive(store, ns, claims.get(f"{_LEGACY}service-account.name", ""),
                      claims.get(f"{_LEGACY}service-account.uid", ""))
    k8s = claims.get("kubernetes.io") or {}
    if (claims.get("iss") != ISSUER or not isinstance(k8s, dict) or now >= claims.get("exp", 0)
            or not set(claims.get("aud") or []) & set(API_AUDIENCES)):
        return None
    # what the authenticator adds as the user's extra: the token's ID, and the pod it is bound to
    extra = {"authentication.kubernetes.io/credential-id": [f"JTI={claims.get('jti', '')}"]}
    for kind in ("secret", "pod"):
        ref = k8s.get(kind)
        if ref:
            obj = store.find(BY_KIND[kind.capitalize()], k8s.get("namespace", ""), ref.get("name", ""))
            if obj is None or obj["metadata"]["uid"] != ref.get("uid"):
                return None
            if kind == "pod":
                extra["authentication.kubernetes.io/pod-name"] = [ref.get("name", "")]
                extra["authentication.kubernetes.io/pod-uid"] = [ref.get("uid", "")]
    sa = k8s.get("serviceaccount") or {}
    return _alive(store, k8s.get("namespace", ""), sa.get("name", ""), sa.get("uid", ""), extra)
