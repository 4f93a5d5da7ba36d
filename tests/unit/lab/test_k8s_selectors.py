"""Label and field selectors match as the API server's do."""

from __future__ import annotations

import pytest

from lab.k8s.errors import BadRequest
from lab.k8s.selectors import (
    fields_match,
    labels_match,
    parse_field_selector,
    parse_label_selector,
    selector_matches,
)

WEB = {"metadata": {"name": "web-1", "namespace": "apps", "labels": {"app": "web", "tier": "front"}},
       "spec": {"nodeName": "kube01"}, "status": {"phase": "Running"}}
DB = {"metadata": {"name": "db-0", "namespace": "data", "labels": {"app": "db"}},
      "spec": {"nodeName": "kube02"}, "status": {"phase": "Pending"}}


def _labels(text: str) -> set[str]:
    reqs = parse_label_selector(text)
    return {o["metadata"]["name"] for o in (WEB, DB) if labels_match(reqs, o)}


@pytest.mark.parametrize(("selector", "names"), [
    ("app=web", {"web-1"}),
    ("app==db", {"db-0"}),
    ("app!=web", {"db-0"}),
    ("app in (web, db)", {"web-1", "db-0"}),
    ("app notin (web)", {"db-0"}),
    ("tier", {"web-1"}),
    ("!tier", {"db-0"}),
    ("app in (web,db),tier=front", {"web-1"}),
    ("", {"web-1", "db-0"}),
    ("tier!=back", {"web-1", "db-0"}),  # a missing key satisfies !=
])
def test_label_selector_operators(selector: str, names: set[str]) -> None:
    assert _labels(selector) == names


def test_a_label_selector_that_does_not_parse_is_a_bad_request() -> None:
    with pytest.raises(BadRequest) as exc:
        parse_label_selector("app=(web")
    assert exc.value.code == 400


@pytest.mark.parametrize(("selector", "names"), [
    ("spec.nodeName=kube01", {"web-1"}),
    ("status.phase!=Running", {"db-0"}),
    ("metadata.namespace==data", {"db-0"}),
    ("metadata.name=web-1,status.phase=Running", {"web-1"}),
    ("spec.nodeName=", set()),
])
def test_pod_field_selectors(selector: str, names: set[str]) -> None:
    reqs = parse_field_selector(selector, "Pod")
    assert {o["metadata"]["name"] for o in (WEB, DB) if fields_match(reqs, o)} == names


def test_an_unsupported_field_is_refused_in_the_servers_words() -> None:
    with pytest.raises(BadRequest) as exc:
        parse_field_selector("spec.nodeName=kube01", "ConfigMap")
    assert exc.value.message == "field label not supported: spec.nodeName"


def test_label_selector_objects_as_in_deployments_and_pdbs() -> None:
    labels = {"app": "web", "tier": "front"}
    assert selector_matches({"matchLabels": {"app": "web"}}, labels)
    assert selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]},
                            labels)
    assert not selector_matches({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, labels)
    assert selector_matches({}, labels)  # an empty selector selects everything
    assert not selector_matches(None, labels)  # a missing one selects nothing
