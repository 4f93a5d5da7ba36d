"""The lab's virtual clock: N lab seconds pass per real second (`--time-scale N`).

Models never call `time.time()`; they take `now` (lab seconds since the epoch) so that
tests can drive them with a manual clock and the HTTP layer with a scaled real one.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class ScaledClock:
    """Wall time scaled by `scale`, starting at the real time of creation."""

    def __init__(self, scale: float = 1.0, start: float | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be > 0")
        self.scale = scale
        self._lab_start = time.time() if start is None else start
        self._real_start = time.monotonic()

    def now(self) -> float:
        return self._lab_start + (time.monotonic() - self._real_start) * self.scale


class ManualClock:
    """A clock that moves only when told; for unit tests of the models."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        self._now += seconds
        return self._now
