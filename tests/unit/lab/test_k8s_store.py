"""The object store: resourceVersions, conflicts, graceful deletion and the watch history."""

from __future__ import annotations

import pytest

from lab.clock import ManualClock
from lab.k8s.errors import AlreadyExists, Conflict, Gone, NotFound
from lab.k8s.resources import BY_KIND
from lab.k8s.store import Store

CM = BY_KIND["ConfigMap"]


def test_every_write_bumps_the_resource_version_and_a_stale_one_conflicts() -> None:
    store = Store(ManualClock().now)
    first = store.create(CM, {"metadata": {"name": "c", "namespace": "ns"}, "data": {"v": "1"}})
    second = store.update(CM, {**first, "data": {"v": "2"}})
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    with pytest.raises(Conflict):
        store.update(CM, {**first, "data": {"v": "3"}})
    with pytest.raises(AlreadyExists):
        store.create(CM, {"metadata": {"name": "c", "namespace": "ns"}})


def test_finalizers_hold_a_deleted_object_until_they_are_cleared() -> None:
    store = Store(ManualClock().now)
    store.create(CM, {"metadata": {"name": "c", "namespace": "ns", "finalizers": ["f"]}})
    marked = store.mark_deleting(CM, "ns", "c", 0)
    assert "deletionTimestamp" in marked["metadata"]
    store.mutate(CM, "ns", "c", lambda o: o["metadata"].pop("finalizers"))
    with pytest.raises(NotFound):
        store.get(CM, "ns", "c")


def test_watch_history_keeps_each_events_own_object_and_the_previous_state() -> None:
    store = Store(ManualClock().now)
    start = store.resource_version
    created = store.create(CM, {"metadata": {"name": "c", "namespace": "ns"}, "data": {"v": "1"}})
    store.update(CM, {**created, "data": {"v": "2"}})
    store.remove(CM, "ns", "c")
    added, modified, deleted = store.events_since(start, CM)
    assert [e.type for e in (added, modified, deleted)] == ["ADDED", "MODIFIED", "DELETED"]
    assert modified.old is not None and modified.old["data"] == {"v": "1"}
    # the DELETED event has its own resourceVersion; the MODIFIED one keeps its
    assert modified.obj["metadata"]["resourceVersion"] == str(modified.rv)
    assert deleted.obj["metadata"]["resourceVersion"] == str(deleted.rv)


def test_a_resource_version_older_than_the_history_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lab.k8s.store.HISTORY", 3)
    store = Store(ManualClock().now)
    start = store.resource_version
    for i in range(5):
        store.create(CM, {"metadata": {"name": f"c{i}", "namespace": "ns"}})
    with pytest.raises(Gone) as exc:
        store.events_since(start, CM)
    assert exc.value.code == 410
    assert exc.value.message.startswith(f"too old resource version: {start} (")
