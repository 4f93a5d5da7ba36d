"""Errors typed by what the caller should do next.

Gateways raise `GatewayError` subclasses `from` the client library's exception, so nothing
above a gateway ever sees (or compares the text of) a library error. Steps of an operation
raise `Retryable` (try again after `delay` seconds) or `Fatal` (stop the operation).
"""

from __future__ import annotations

import re

MAX_DETAIL = 500
_SECRETS = re.compile(
    r"(PVEAPIToken=[^=\s]+=)\S+|(Bearer\s+)\S+|((?:token|secret|password|ticket)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+",
    re.IGNORECASE,
)


def redact(text: object, limit: int = MAX_DETAIL) -> str:
    """Bound and redact a payload before it goes into an error, a log or the journal."""
    s = _SECRETS.sub(lambda m: (m.group(1) or m.group(2) or m.group(3)) + "***", str(text))
    return s if len(s) <= limit else s[: limit - 1] + "…"


class InfraError(Exception):
    """Base of every error the infra layer raises on purpose."""


SYSTEM_NAMES = {"pve": "PVE", "k8s": "Kubernetes", "prometheus": "Prometheus", "alertmanager": "Alertmanager"}
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def cause(exc: BaseException) -> str:
    """The root cause of a connection error, short (`Connection refused`), not a library's repr."""
    text = str(exc)
    if found := _ERRNO.findall(text):
        return found[-1].strip().rstrip(".")
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "certificate verify failed"
    if "timed out" in text.lower():
        return "timed out"
    return redact(text, 160)


class GatewayError(InfraError):
    """An external system refused or failed a call. `status` is its HTTP status, if any.

    Said as a person can act on it: the system and its URL, the call, what went wrong, and
    what to check (`hint`). The gateway's caller fills in `url` and `call`.
    """

    def __init__(self, system: str, message: object, status: int | None = None, *,
                 hint: str | None = None, url: str | None = None, call: str | None = None) -> None:
        self.system = system
        self.status = status
        self.detail = redact(message)
        self.hint, self.url, self.call = hint, url, call
        super().__init__(self.detail)

    def __str__(self) -> str:
        name = SYSTEM_NAMES.get(self.system, self.system)
        where = f"{name} at {self.url}" if self.url else name
        text = f"{where}: {self.call + ': ' if self.call else ''}{self.detail}"
        text += f" (HTTP {self.status})" if self.status else ""
        return text + (f"; check {self.hint}" if self.hint else "")


class NotFound(GatewayError):
    """The object does not exist (a VM, a node, a pod)."""


class Conflict(GatewayError):
    """The object is in a state that forbids the call now (locked, stale version, PDB)."""


class Blocked(Conflict):
    """Refused for now by a rule that may allow it later (an eviction a PDB forbids: 429)."""


class Unavailable(GatewayError):
    """The system could not be reached or answered 5xx/595; trying later may work."""


class StepError(InfraError):
    """Raised by a step of a journaled operation."""


class Retryable(StepError):
    """Not done yet; run the step again after `delay` seconds."""

    def __init__(self, message: str, delay: float = 5.0) -> None:
        self.delay = delay
        super().__init__(message)


class Fatal(StepError):
    """The step cannot succeed; the operation stops here and says why."""


class TimedOut(Fatal):
    """A wait outlived its timeout: says what it waited for, how long, and what it saw last."""

    def __init__(self, what: str, seconds: float) -> None:
        self.what, self.seconds = what, seconds
        super().__init__(f"timed out after {seconds:.0f}s waiting for {what}")
