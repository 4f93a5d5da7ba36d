"""A load generator for the HTTP benchmarks: requests with a bounded number in flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

import aiohttp

Request = tuple[bytes, dict[str, str]]  # body, headers


async def post_all(url: str, requests: Iterable[Request], in_flight: int,
                   ok: int = 200, every: float | None = None) -> tuple[float, list[float]]:
    """(seconds for all, the latency of each); every answer must be `ok`. With `every`, each sender
    starts a request at most every `every` seconds (a steady rate of in_flight / every), instead of
    sending the next as soon as an answer comes."""
    pending = iter(requests)
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight)) as session:
        async def sender(offset: float) -> None:
            await asyncio.sleep(offset)  # paced senders start spread over one period, not all at once
            for body, headers in pending:
                start = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as r:
                    assert r.status == ok, await r.text()
                latencies.append(time.perf_counter() - start)
                if every is not None:
                    await asyncio.sleep(max(0.0, every - (time.perf_counter() - start)))
        start = time.perf_counter()
        await asyncio.gather(*(sender((every or 0.0) * i / in_flight) for i in range(in_flight)))
        return time.perf_counter() - start, latencies


def lazily(make: Callable[[int], Request], count: int) -> Iterable[Request]:
    """Requests made as they are sent (a timestamp signed at send time stays fresh)."""
    return (make(i) for i in range(count))
