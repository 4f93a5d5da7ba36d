"""Shared plumbing: run a blocking call in a thread, retry idempotent reads, count calls."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from infra.errors import GatewayError, Unavailable

T = TypeVar("T")


class Caller:
    """Runs one system's calls: `translate` maps a library error to a GatewayError."""

    def __init__(self, system: str, translate: Callable[[Exception], GatewayError],
                 retryable: Callable[[BaseException], bool] = lambda e: isinstance(e, Unavailable),
                 attempts: int = 4, max_wait: float = 4.0, url: str | None = None) -> None:
        self.system = system
        self.url = url  # named in every error, with the call
        self.translate = translate
        self.retryable = retryable
        self.attempts = attempts
        self.max_wait = max_wait
        self.calls: Counter[str] = Counter()  # by kind of call, for the API-call budget

    async def _once(self, label: str, fn: Callable[[], T]) -> T:
        self.calls[label] += 1
        try:
            return await asyncio.to_thread(fn)
        except GatewayError as exc:
            raise self._said(exc, label) from exc.__cause__
        except Exception as exc:
            raise self._said(self.translate(exc), label) from exc

    def _said(self, err: GatewayError, label: str) -> GatewayError:
        err.url = err.url or self.url
        if err.status is not None:  # a system that answered: which call it refused matters
            err.call = err.call or label
        return err

    async def read(self, label: str, fn: Callable[[], T]) -> T:
        """An idempotent read: retried with backoff while `retryable` says so (Unavailable)."""
        async for attempt in AsyncRetrying(
                retry=retry_if_exception(self.retryable), reraise=True,
                stop=stop_after_attempt(self.attempts),
                wait=wait_exponential(multiplier=0.25, max=self.max_wait)):
            with attempt:
                return await self._once(label, fn)
        raise AssertionError("unreachable")

    async def write(self, label: str, fn: Callable[[], T]) -> T:
        """A change: never retried here (the step decides, after looking at the system again)."""
        return await self._once(label, fn)

    @property
    def total(self) -> int:
        return sum(self.calls.values())
