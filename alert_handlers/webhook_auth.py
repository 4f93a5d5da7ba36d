"""Who may post alerts: a bearer token (or basic auth with the token as password), or Grafana's
HMAC signature over the body, with its timestamp when one is sent. Every comparison takes
constant time; each check returns why it refused, or None."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math

MAX_SKEW_SECONDS = 300.0  # a signed body older (or newer) than this is a replay, not an alert


def _raw(header: str) -> bytes:
    """A header value's bytes: the server decodes non-UTF-8 bytes as surrogates, which a plain
    `.encode()` refuses (a 500 for a header like `Bearer \x80`, found by fuzzing)."""
    return header.encode("utf-8", "surrogateescape")


def check_token(authorization: str | None, token: str) -> str | None:
    if not token:  # an unset token must not let an empty one in
        return "no webhook token is configured (webhooks.token)"
    if not authorization:
        return "no Authorization header"
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode().partition(":")[2]
        except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 inside
            return "malformed basic credentials"
    elif scheme.lower() != "bearer":
        return f"unsupported authorization scheme {scheme!r}"
    if not hmac.compare_digest(_raw(value.strip()), token.encode()):
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
            sent = math.nan
        if not math.isfinite(sent):  # "nan" would pass any comparison with the skew below
            return f"timestamp {timestamp[:40]!r} is not a number"
        if abs(now - sent) > MAX_SKEW_SECONDS:
            return f"timestamp is {abs(now - sent):.0f} s away from now (more than {MAX_SKEW_SECONDS:.0f} s)"
    expected = grafana_signature(secret, body, timestamp)
    if not hmac.compare_digest(_raw(signature.strip().lower()), expected.encode()):
        return "signature does not match"
    return None
