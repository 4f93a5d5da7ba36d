"""The Go types the lab decodes bodies with are those of the Kubernetes 1.31 schemas."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest

from lab.k8s import gotypes

SCHEMAS = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / "v1.31.0-local"


def test_the_shipped_types_are_built_from_the_1_31_schemas() -> None:
    assert json.loads(gotypes.DATA.read_text()) == gotypes.build(SCHEMAS / "_definitions.json")


@pytest.mark.parametrize(("kind", "obj", "message"), [
    ("Node", {"spec": {"taints": [{"key": 1, "effect": "NoSchedule"}]}},
     "json: cannot unmarshal number into Go struct field Taint.spec.taints.key of type string"),
    ("Pod", {"spec": {"terminationGracePeriodSeconds": 1.5}},
     "json: cannot unmarshal number 1.5 into Go struct field PodSpec.spec.terminationGracePeriodSeconds "
     "of type int64"),
    ("Secret", {"data": {"a": True}},
     "json: cannot unmarshal bool into Go struct field Secret.data of type []uint8"),
    ("HelmChart", {"metadata": {"labels": ["x"]}},
     "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type "
     "map[string]string"),
])
def test_a_field_of_the_wrong_json_type_is_named_as_the_go_decoder_names_it(  # type: ignore[no-untyped-def]
        kind, obj, message) -> None:
    with pytest.raises(gotypes.DecodeError) as caught:
        gotypes.check(kind, obj)
    assert str(caught.value) == message


def test_nulls_and_unknown_fields_decode() -> None:
    gotypes.check("Pod", {"spec": {"containers": None, "madeUp": {"x": 1}}, "status": None})
