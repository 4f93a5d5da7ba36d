"""Who may post alerts: a bearer token (or basic auth with the token as password), or Grafana's
HMAC signature over the body, with its timestamp when one is sent. Every comparison takes
constant time; each check returns why it refused, or None."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

MAX_SKEW_SECONDS = 300.0  # a signed body older (or newer) than this is a replay, not an alert


def check_token(authorization: str | None, token: str) -> str | None:
    if not token:  # an unset token must not let an empty one in
        return "no webhook token is configured (webhooks.token)"
    if not authorization:
        return "no Authorization header"
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return "malformed basic credentials"
    elif scheme.lower() != "bearer":
        return f"unsupported authorization scheme {scheme!r}"
    if not hmac.compare_digest(value.strip().encode(), token.encode()):
        return "wrong token"
    return None


def grafana_signature(secret: str, body: bytes, timestamp: str | None) -> str:
    signed = timestamp.encode() + b":" + body if timestamp is not None else body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def check_grafana(secret: str, body: bytes, signature: str | None, timestamp: str | None,
                  now: float, timestamp_required: bool = True) -> str | None:
    if not signature:
        return "no signature header"
    if timestamp is None and timestamp_required:
        return "no timestamp header"
    if timestamp is not None:
        try:
            sent = float(timestamp)
        except ValueError:
            return f"timestamp {timestamp[:40]!r} is not a number"
        if abs(now - sent) > MAX_SKEW_SECONDS:
            return f"timestamp is {abs(now - sent):.0f} s away from now (more than {MAX_SKEW_SECONDS:.0f} s)"
    expected = grafana_signature(secret, body, timestamp)
    if not hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
        return "signature does not match"
    return None
