"""Log lines: JSON with the operation they belong to, and every configured secret masked, whoever
logged it and however (arguments, a traceback)."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator

import pytest

from bot import logs
from bot.config import Settings
from infra.operations.run import CURRENT_OPERATION


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    hooks = threading.excepthook, sys.unraisablehook
    out = io.StringIO()
    logs.setup("json", "INFO", ["s3cret-token-value", "xoxb-abc"])
    root.handlers[0].setStream(out)  # type: ignore[attr-defined]
    yield out
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    threading.excepthook, sys.unraisablehook = hooks


def test_a_line_is_json_and_names_its_operation(captured: io.StringIO) -> None:
    token = CURRENT_OPERATION.set(42)
    try:
        logging.getLogger("drewburr.test").info("step %s done", "cordon")
    finally:
        CURRENT_OPERATION.reset(token)
    logging.getLogger("drewburr.test").warning("outside")
    first, second = (json.loads(line) for line in captured.getvalue().splitlines())
    assert first["message"] == "step cordon done" and first["op_id"] == 42 and first["level"] == "INFO"
    assert second["op_id"] is None and second["logger"] == "drewburr.test"


def test_secrets_are_masked_in_arguments_and_tracebacks(captured: io.StringIO) -> None:
    log = logging.getLogger("drewburr.test")
    log.info("calling with %s", {"Authorization": "Bearer s3cret-token-value"})
    try:
        raise RuntimeError("refused token xoxb-abc")
    except RuntimeError:
        log.exception("failed")
    text = captured.getvalue()
    assert "s3cret-token-value" not in text and "xoxb-abc" not in text
    assert text.count(logs.MASK) >= 2 and "RuntimeError" in text


def test_every_secret_of_the_settings_is_found() -> None:
    pve = {"url": "https://pve:8006", "token_id": "root@pam!d", "token_secret": "pve-s"}
    settings = Settings(proxmox=pve,
                        slack={"bot_token": "xoxb-1", "app_token": "xapp-1", "signing_secret": "sign-1"},
                        webhooks={"token": "hook-1", "grafana_secret": "graf-1"})
    assert sorted(settings.secrets()) == sorted(["pve-s", "xoxb-1", "xapp-1", "sign-1", "hook-1", "graf-1"])


def test_an_error_in_a_thread_is_a_json_log_line_too(captured: io.StringIO) -> None:
    def boom() -> None:
        raise ValueError("token xoxb-abc refused")
    thread = threading.Thread(target=boom, name="pump")
    thread.start()
    thread.join()
    [line] = [json.loads(text) for text in captured.getvalue().splitlines()]
    assert line["level"] == "ERROR" and "pump" in line["message"] and "xoxb-abc" not in json.dumps(line)
