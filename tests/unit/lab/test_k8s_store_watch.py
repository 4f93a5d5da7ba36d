"""What a watcher with selectors sees of the store's events."""

from __future__ import annotations

from lab.clock import ManualClock
from lab.k8s.resources import BY_KIND
from lab.k8s.selectors import labels_match, parse_label_selector
from lab.k8s.store import Store
from lab.k8s.watch import WatchRequest, next_bookmark, translate

CM = BY_KIND["ConfigMap"]


def _watcher(selector: str, namespace: str | None = "ns") -> WatchRequest:
    reqs = parse_label_selector(selector)
    return WatchRequest(CM, namespace, lambda o: labels_match(reqs, o), "", False, 10)


def _seen(store: Store, since: int, req: WatchRequest) -> list[tuple[str, str]]:
    out = []
    for event in store.events_since(since, CM):
        seen = translate(req, event)
        if seen:
            out.append((seen[0], seen[1]["metadata"]["labels"]["team"]))
    return out


def test_relabelling_moves_an_object_out_of_and_into_a_selection() -> None:
    store = Store(ManualClock().now)
    start = store.resource_version
    cm = store.create(CM, {"metadata": {"name": "c", "namespace": "ns", "labels": {"team": "blue"}}})
    cm = store.update(CM, {**cm, "metadata": {**cm["metadata"], "labels": {"team": "red"}}})
    cm = store.update(CM, {**cm, "metadata": {**cm["metadata"], "labels": {"team": "blue"}}})
    store.remove(CM, "ns", "c")
    # leaving the selection shows the object as it was, with the event's resourceVersion
    assert _seen(store, start, _watcher("team=blue")) == [("ADDED", "blue"), ("DELETED", "blue"),
                                                          ("ADDED", "blue"), ("DELETED", "blue")]
    assert _seen(store, start, _watcher("team=red")) == [("ADDED", "red"), ("DELETED", "red")]


def test_a_namespaced_watch_ignores_other_namespaces_and_kinds() -> None:
    store = Store(ManualClock().now)
    start = store.resource_version
    store.create(CM, {"metadata": {"name": "c", "namespace": "other", "labels": {"team": "blue"}}})
    secret = {"metadata": {"name": "s", "namespace": "ns", "labels": {"team": "blue"}}}
    store.create(BY_KIND["Secret"], secret)
    assert _seen(store, start, _watcher("")) == []
    assert _seen(store, start, _watcher("", namespace=None)) == [("ADDED", "blue")]


def test_a_bookmark_comes_two_seconds_before_the_watch_times_out() -> None:
    start = 1000.0
    assert next_bookmark(start, every=60, end=start + 10) == start + 8
    assert next_bookmark(start + 8, every=60, end=start + 10) == start + 68
    assert next_bookmark(start, every=1.2, end=start + 10) == start + 1.2
