"""The blades' NICs shared by concurrent transfers (live migrations), as on real hardware.

Each blade's NIC carries `nic_bandwidth` out and the same in (full duplex). Transfers share
every link they cross with max-min fairness (progressive filling): the most contended link
splits its capacity evenly, those transfers are fixed, the rest share what is left. Rates
are recomputed whenever a transfer starts or ends, so ten migrations off one blade take as
long, together, as their memory over that one NIC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count

Schedule = Callable[[float, Callable[[float], None]], None]
# lab seconds: a transfer this close to its end is done (lab time is ~1.7e9, so float sums
# of smaller steps may not move the clock at all)
DONE = 1e-3


@dataclass(eq=False)
class Transfer:
    source: str
    target: str
    left: float  # bytes still to send
    cap: float  # bytes per lab second the sender allows itself (`bwlimit`), inf when none
    done: Callable[[float], None]  # called when the last byte arrived, or the link went down
    rate: float = 0.0
    id: int = field(default_factory=count().__next__)

    def links(self) -> tuple[tuple[str, str], ...]:
        return ("out", self.source), ("in", self.target), ("cap", str(self.id))


class Links:
    def __init__(self, bandwidth: Callable[[str], float], schedule: Schedule, now: float) -> None:
        self._bandwidth = bandwidth
        self._schedule = schedule
        self.transfers: list[Transfer] = []
        self._last = now
        self._version = 0

    def start(self, transfer: Transfer, now: float) -> None:
        self._progress(now)
        self.transfers.append(transfer)
        self._replan(now)

    def remove(self, transfer: Transfer, now: float) -> None:
        """The sender gave up (its task was stopped): the others get its share."""
        if transfer in self.transfers:
            self._progress(now)
            self.transfers.remove(transfer)
            self._replan(now)

    def cancel(self, node: str, now: float) -> None:
        """The blade lost power: transfers from or to it end now (their `done` sees it down)."""
        self._progress(now)
        cut = [t for t in self.transfers if node in (t.source, t.target)]
        self.transfers = [t for t in self.transfers if t not in cut]
        self._replan(now)
        for transfer in cut:
            transfer.done(now)

    def _progress(self, now: float) -> None:
        elapsed = max(0.0, now - self._last)  # a late caller never gets bytes back
        for transfer in self.transfers:
            transfer.left -= transfer.rate * elapsed
        self._last = max(self._last, now)

    def _replan(self, now: float) -> None:
        fair_rates(self.transfers, self._bandwidth)
        self._version += 1
        moving = [t for t in self.transfers if t.rate > 0]
        if moving:
            when = now + min(max(t.left, 0.0) / t.rate for t in moving)
            version = self._version
            self._schedule(when, lambda t: self._due(t, version))

    def _due(self, now: float, version: int) -> None:
        if version != self._version:
            return  # rates changed since this was planned
        self._progress(now)
        finished = [t for t in self.transfers if t.left <= t.rate * DONE]
        self.transfers = [t for t in self.transfers if t not in finished]
        self._replan(now)
        for transfer in finished:
            transfer.done(now)


def fair_rates(transfers: list[Transfer], bandwidth: Callable[[str], float]) -> None:
    """Max-min fair rates: fill the most contended link first, then the rest. A transfer's
    own cap counts as one more link that only it crosses."""
    open_ = set(transfers)
    spare = {link: transfer.cap if link[0] == "cap" else bandwidth(link[1])
             for transfer in transfers for link in transfer.links()}
    for transfer in transfers:
        transfer.rate = 0.0
    while open_:
        users = {link: [t for t in open_ if link in t.links()] for link in spare}
        link = min((link for link in users if users[link]), key=lambda k: spare[k] / len(users[k]))
        share = spare[link] / len(users[link])
        for transfer in users[link]:
            transfer.rate = share
            open_.discard(transfer)
            for other in transfer.links():
                spare[other] -= share
