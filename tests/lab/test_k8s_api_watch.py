"""Watch streams through the official client's Watch: history, live events, selectors, bookmarks, 410."""

from __future__ import annotations

import json
import time

import pytest
from kubernetes import client, watch

from lab.k8s import watch as watches
from tests.conftest import RunningLab
from tests.lab.kube import fresh_namespace


def _events(stream, until: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(type, name) of events until `until` non-bookmark events were seen or the stream ended."""
    seen = []
    for event in stream:
        if event["type"] != "BOOKMARK":
            seen.append((event["type"], event["raw_object"]["metadata"]["name"]))
        if len(seen) >= until:
            break
    return seen


def test_a_watch_from_a_listed_resource_version_replays_what_followed(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    rv = v1.list_namespaced_config_map(ns).metadata.resource_version
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    v1.patch_namespaced_config_map("a", ns, {"data": {"k": "v"}})
    v1.delete_namespaced_config_map("a", ns)
    w = watch.Watch()
    events = _events(w.stream(v1.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=5), 3)
    w.stop()
    assert events == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


def test_a_watch_without_resource_version_starts_with_what_exists_then_follows(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "seed"}})
    w = watch.Watch()
    seen = []
    for event in w.stream(v1.list_namespaced_config_map, ns, timeout_seconds=10):
        seen.append((event["type"], event["object"].metadata.name))
        if event["object"].metadata.name == "seed":
            v1.create_namespaced_config_map(ns, {"metadata": {"name": "live"}})
        if len(seen) == 2:
            w.stop()
    assert seen == [("ADDED", "seed"), ("ADDED", "live")]


def test_objects_entering_and_leaving_a_label_selection_arrive_as_added_and_deleted(
        api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    rv = v1.list_namespaced_config_map(ns).metadata.resource_version
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "x", "labels": {"team": "blue"}}})
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "y", "labels": {"team": "red"}}})
    v1.patch_namespaced_config_map("x", ns, {"metadata": {"labels": {"team": "red"}}})
    v1.patch_namespaced_config_map("y", ns, {"metadata": {"labels": {"team": "blue"}}})
    w = watch.Watch()
    events = _events(w.stream(v1.list_namespaced_config_map, ns, resource_version=rv,
                              label_selector="team=blue", timeout_seconds=5), 3)
    w.stop()
    assert events == [("ADDED", "x"), ("DELETED", "x"), ("ADDED", "y")]


def test_a_field_selector_watch_on_node_name_sees_only_that_nodes_pods(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    rv = v1.list_namespaced_pod(ns).metadata.resource_version
    for name, node in (("p1", "nowhere-1"), ("p2", "nowhere-2")):
        v1.create_namespaced_pod(ns, {"metadata": {"name": name}, "spec": {
            "nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}})
    w = watch.Watch()
    events = _events(w.stream(v1.list_namespaced_pod, ns, resource_version=rv,
                              field_selector="spec.nodeName=nowhere-2", timeout_seconds=2), 1)
    w.stop()
    assert events == [("ADDED", "p2")]


def test_bookmarks_carry_the_current_resource_version(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    rv = v1.list_namespaced_config_map(ns).metadata.resource_version
    w = watch.Watch()
    for event in w.stream(v1.list_namespaced_config_map, ns, resource_version=rv, allow_watch_bookmarks=True,
                          timeout_seconds=10):
        if event["type"] == "BOOKMARK":
            w.stop()
            break
    else:
        pytest.fail("no bookmark within the watch")
    assert event["raw_object"]["kind"] == "ConfigMap"
    assert int(event["raw_object"]["metadata"]["resourceVersion"]) >= int(rv)
    assert w.resource_version == event["raw_object"]["metadata"]["resourceVersion"]


def test_a_too_old_resource_version_is_410_gone(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    w = watch.Watch()
    with pytest.raises(client.ApiException) as exc:
        for _ in w.stream(v1.list_namespaced_config_map, "default", resource_version="1", timeout_seconds=5):
            pass
    assert exc.value.status == 410
    assert exc.value.reason.startswith("Expired: too old resource version: 1 (")


def test_the_client_retries_a_410_once_and_then_gives_up(kube_lab: RunningLab, api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    w = watch.Watch()
    with pytest.raises(client.ApiException) as exc:
        next(iter(w.stream(v1.list_namespaced_config_map, ns, resource_version="1")))
    assert exc.value.status == 410

    def watches() -> int:
        return sum(1 for r in kube_lab.lab.recorder.requests
                   if r.path == f"/api/v1/namespaces/{ns}/configmaps" and "watch=true" in r.query)

    deadline = time.monotonic() + 5  # the lab records a request once its handler has returned
    while watches() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watches() == 2


@pytest.mark.parametrize("watching", [False, True])
def test_a_resource_version_from_the_future_is_504_too_large(api: client.ApiClient, watching: bool,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watches, "FRESH_WAIT", 0.2)  # the watch cache waits 3 s for it first
    v1 = client.CoreV1Api(api)
    ahead = str(int(v1.list_namespaced_config_map("default").metadata.resource_version) + 10**6)
    with pytest.raises(client.ApiException) as exc:
        if watching:
            next(iter(watch.Watch().stream(v1.list_namespaced_config_map, "default", resource_version=ahead)))
        else:
            v1.list_namespaced_config_map("default", resource_version=ahead)
    status = json.loads(exc.value.body)
    assert (status["code"], status["reason"]) == (504, "Timeout")
    assert status["message"].startswith(f"Timeout: Too large resource version: {ahead}, current: ")
    assert status["details"]["causes"] == [{"reason": "ResourceVersionTooLarge",
                                            "message": "Too large resource version"}]

