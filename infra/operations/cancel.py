"""Cancelling a running operation within a poll interval, not after a long step.

The machine running an operation sets `WATCHING` to an event it sets once the journal says
a cancel was requested; every wait inside the operation's steps (`nap`) races that event, so
a 900 s wait ends at the next poll. Tasks a step starts (parallel migrations) inherit it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from infra.errors import InfraError

WATCHING: ContextVar[asyncio.Event | None] = ContextVar("drewburr_cancel", default=None)


class Cancelled(InfraError):
    """A person asked to cancel the operation; it stops where it stands."""


async def nap(sleep: Callable[[float], Awaitable[None]], seconds: float) -> None:
    """Sleep `seconds` with `sleep`, or less if the running operation is cancelled (then raise)."""
    stop = WATCHING.get()
    if stop is None:
        await sleep(seconds)
        return
    if stop.is_set():
        raise Cancelled
    napping = asyncio.ensure_future(sleep(seconds))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({napping, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (napping, stopping):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if stop.is_set():
        raise Cancelled
