"""One incident per fact: duplicates and re-sends are dropped, a resolution is news."""

from __future__ import annotations

from datetime import UTC, datetime

from alert_handlers.alert import Alert
from alert_handlers.dedup import Dedup

START = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def _alert(status: str = "firing", fp: str = "abc", starts: datetime = START) -> Alert:
    return Alert(name="KubeNodeNotReady", status=status, labels={"node": "kube03"}, annotations={},
                 fingerprint=fp, starts_at=starts, source="alertmanager")


def test_the_same_notification_five_times_is_new_once() -> None:
    dedup = Dedup()
    assert [dedup.is_new(_alert(), now=t) for t in range(5)] == [True, False, False, False, False]


def test_a_resolution_and_a_new_firing_are_new() -> None:
    dedup = Dedup()
    assert dedup.is_new(_alert(), 0)
    assert dedup.is_new(_alert("resolved"), 1)
    assert dedup.is_new(_alert(starts=START.replace(hour=4)), 2)  # fired again later: a new fact
    assert dedup.is_new(_alert(fp="other"), 3)


def test_a_delivery_is_forgotten_after_the_memory_window_and_memory_is_bounded() -> None:
    dedup = Dedup(remember_seconds=60, limit=3)
    assert dedup.is_new(_alert(), 0)
    assert not dedup.is_new(_alert(), 50)  # a re-send refreshes the memory
    assert not dedup.is_new(_alert(), 100)
    assert dedup.is_new(_alert(), 200)
    for i in range(10):
        dedup.is_new(_alert(fp=str(i)), 201)
    assert len(dedup._seen) == 3
