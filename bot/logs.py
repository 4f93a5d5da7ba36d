"""The process's logging: one JSON object per line (or plain text), each with the operation it
belongs to, and no secret in any of them.

Secrets are kept out at the source (gateways redact what they raise; settings hold `SecretStr`);
the `Scrub` filter is the last line: every configured secret value is replaced before a record
is written, whatever logged it (a library's debug line, a traceback).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

from infra.operations.run import CURRENT_OPERATION

Format = Literal["json", "text"]
MASK = "***"


class WithOperation(logging.Filter):
    """Adds `op_id`: the journaled operation this line is about (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.op_id = CURRENT_OPERATION.get()
        return True


class Scrub(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # longest first, so a secret that contains another is masked whole
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg, record.args = self.scrub(record.getMessage()), None
            if record.exc_info:
                record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


def _route_stray_errors() -> None:
    """Errors Python would print straight to stderr (in a thread, in a finalizer) become log lines,
    so every line of the log is in its format and scrubbed."""
    log = logging.getLogger("drewburr.unhandled")

    def in_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not SystemExit:
            log.error("unhandled error in thread %s", args.thread.name if args.thread else "?",
                      exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback))

    def unraisable(args: sys.UnraisableHookArgs) -> None:
        log.warning("%s: %r", args.err_msg or "exception ignored", args.exc_value)

    threading.excepthook = in_thread
    sys.unraisablehook = unraisable


def setup(fmt: Format = "json", level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Replace the root logger's handlers with one on stderr, in `fmt`."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(op_id)s",
                                           rename_fields={"asctime": "time", "levelname": "level",
                                                          "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(WithOperation())
    handler.addFilter(Scrub(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    _route_stray_errors()
    logging.captureWarnings(True)  # a library's warning is a log line too, in the same format
