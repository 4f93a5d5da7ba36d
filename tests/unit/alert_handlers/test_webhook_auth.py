"""Who may post alerts: a token, basic auth, or Grafana's HMAC with a recent timestamp."""

from __future__ import annotations

import base64

from alert_handlers.webhook_auth import check_grafana, check_token, grafana_signature

BODY = b'{"status": "firing", "alerts": []}'


def test_a_bearer_token_or_basic_auth_with_it_as_password_passes() -> None:
    assert check_token("Bearer s3cret", "s3cret") is None
    assert check_token("bearer s3cret", "s3cret") is None
    assert check_token("Basic " + base64.b64encode(b"alertmanager:s3cret").decode(), "s3cret") is None


def test_anything_else_is_refused_with_a_reason() -> None:
    assert check_token(None, "s3cret") == "no Authorization header"
    assert check_token("Bearer wrong", "s3cret") == "wrong token"
    assert check_token("Basic !!!", "s3cret") == "malformed basic credentials"
    assert check_token("Token s3cret", "s3cret") == "unsupported authorization scheme 'Token'"
    assert check_token("Bearer ", "") == "no webhook token is configured (webhooks.token)"


def test_grafanas_signature_covers_timestamp_and_body() -> None:
    signature = grafana_signature("k", BODY, "1700000000")
    assert check_grafana("k", BODY, signature, "1700000000", now=1700000010) is None
    tampered = check_grafana("k", BODY + b" ", signature, "1700000000", now=1700000010)
    assert tampered == "signature does not match"
    assert check_grafana("k", BODY, signature, "1700000001", now=1700000010) == "signature does not match"


def test_an_old_or_unsigned_body_is_refused() -> None:
    signature = grafana_signature("k", BODY, "1700000000")
    assert "more than 300 s" in str(check_grafana("k", BODY, signature, "1700000000", now=1700001000))
    assert check_grafana("k", BODY, None, "1700000000", now=1700000000) == "no signature header"
    assert check_grafana("k", BODY, signature, None, now=1700000000) == "no timestamp header"
    assert check_grafana("k", BODY, signature, "soon", now=1700000000) == "timestamp 'soon' is not a number"


def test_a_nan_timestamp_signed_by_the_secret_is_not_a_fresh_one() -> None:
    """NaN compares false with everything, so it used to pass the skew check (found by fuzzing)."""
    for stamp in ("nan", "NaN", "inf"):
        signed = grafana_signature("k", BODY, stamp)
        refused = check_grafana("k", BODY, signed, stamp, now=1700000000)
        assert refused == f"timestamp {stamp!r} is not a number"


def test_without_a_timestamp_header_configured_the_body_alone_is_signed() -> None:
    signature = grafana_signature("k", BODY, None)
    assert check_grafana("k", BODY, signature, None, now=0, timestamp_required=False) is None


def test_header_bytes_that_are_not_utf8_are_a_wrong_credential_not_a_crash() -> None:
    assert check_token("Bearer \udc80", "t") == "wrong token"  # b"\x80" as the server decodes it
    assert check_token("Basic \udc80", "t") == "malformed basic credentials"
    refused = check_grafana("k", BODY, "\udc80", None, now=0, timestamp_required=False)
    assert refused == "signature does not match"
