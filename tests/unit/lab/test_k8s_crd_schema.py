"""Structural schemas: pruning, defaulting and validation of custom objects, and CRD checks."""

from __future__ import annotations

import copy
from typing import Any

from lab.k8s import chart_crds, schema
from lab.k8s.structural import definition_errors

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
    "replicas": {"type": "integer", "default": 1},
    "ports": {"type": "array", "items": {"type": "object", "properties": {
        "port": {"x-kubernetes-int-or-string": True}, "name": {"type": "string", "default": "http"}}}},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}


def test_unknown_fields_are_pruned_except_where_preserved() -> None:
    obj = {"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a", "odd": 1}, "extra": 1, "spec": {
        "bogus": 2, "ports": [{"port": "web", "junk": True}], "labels": {"a": "b"},
        "free": {"any": {"x": 1}}}}
    pruned = schema.prune(SCHEMA, obj)
    assert sorted(pruned) == ["extra", "spec.bogus", "spec.ports[0].junk"]
    assert obj["metadata"] == {"name": "a", "odd": 1}  # metadata is ObjectMeta's business
    assert obj["spec"] == {"ports": [{"port": "web"}], "labels": {"a": "b"}, "free": {"any": {"x": 1}}}


def test_defaults_fill_missing_fields_and_nested_items() -> None:
    obj: dict[str, Any] = {"spec": {"ports": [{"port": 80}]}}
    schema.default(SCHEMA, obj)
    assert obj["spec"] == {"replicas": 1, "ports": [{"port": 80, "name": "http"}]}


def test_validation_speaks_the_validators_words() -> None:
    obj = {"spec": {"replicas": "two", "ports": [{"port": True}], "labels": {"a": 1}}}
    assert schema.validate(SCHEMA, obj) == [
        ("spec.replicas", "FieldValueTypeInvalid",
         'Invalid value: "string": spec.replicas in body must be of type integer: "string"'),
        ("spec.ports[0].port", "FieldValueTypeInvalid",
         'Invalid value: "boolean": spec.ports[0].port in body must be of type integer,string: "boolean"'),
        ("spec.labels.a", "FieldValueTypeInvalid",
         'Invalid value: "integer": spec.labels.a in body must be of type string: "integer"'),
    ]


def test_every_chart_crd_is_a_valid_structural_definition() -> None:
    for crd in chart_crds.ALL:
        assert definition_errors(copy.deepcopy(crd)) == [], crd["metadata"]["name"]


def test_structural_rules_and_names() -> None:
    crd = copy.deepcopy(chart_crds.ALL[0])
    root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    root["properties"]["spec"] = {"type": "object", "properties": {"a": {}, "b": {"type": "array"}}}
    root["additionalProperties"] = {"type": "string"}
    crd["metadata"]["name"] = "charts.helm.cattle.io"
    crd["spec"]["versions"][0]["storage"] = False
    fields = [(f, m) for f, _, m in definition_errors(crd)]
    at = "spec.versions[0].schema.openAPIV3Schema"
    assert fields == [
        ("metadata.name", 'Invalid value: "charts.helm.cattle.io": must be spec.names.plural+"."+spec.group'),
        (f"{at}.additionalProperties", "Forbidden: additionalProperties and properties are mutual exclusive"),
        (f"{at}.additionalProperties", "Forbidden: must not be used at the root"),
        (f"{at}.properties[spec].properties[a].type",
         "Required value: must not be empty for specified object fields"),
        (f"{at}.properties[spec].properties[b].items", "Required value: must be specified"),
        ("spec.versions", "Invalid value: []apiextensions.CustomResourceDefinitionVersion{...}: must have "
                          "exactly one version marked as storage version"),
    ]


def test_items_must_be_one_schema() -> None:
    crd = copy.deepcopy(chart_crds.ALL[0])
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] = {
        "type": "array", "items": [{"type": "string"}]}
    assert [(f, m) for f, _, m in definition_errors(crd)] == [
        ("spec.versions[0].schema.openAPIV3Schema.properties[spec].items",
         "Forbidden: items must be a schema object and not an array")]
