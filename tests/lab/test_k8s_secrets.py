"""Secrets, ConfigMaps and Leases as the API server keeps them, through the kubernetes client."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from kubernetes import client

from tests.lab.kube import fresh_namespace


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _refused(call: Any, *args: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(client.ApiException) as exc:
        call(*args)
    return exc.value.status, json.loads(exc.value.body)


def test_string_data_is_merged_into_data_and_dropped(api: client.ApiClient) -> None:
    v1, ns = client.CoreV1Api(api), fresh_namespace(api)
    body = {"metadata": {"name": "creds"}, "data": {"user": _b64("old"), "host": _b64("db")},
            "stringData": {"user": "admin", "password": "s3cret"}}
    created = v1.create_namespaced_secret(ns, body)
    assert created.string_data is None and created.type == "Opaque"
    assert created.data == {"user": _b64("admin"), "host": _b64("db"), "password": _b64("s3cret")}
    patched = v1.patch_namespaced_secret("creds", ns, {"stringData": {"host": "db2"}})
    assert patched.data["host"] == _b64("db2") and patched.string_data is None


def test_data_must_be_base64_as_the_decoder_says(api: client.ApiClient) -> None:
    v1, ns = client.CoreV1Api(api), fresh_namespace(api)
    code, status = _refused(v1.create_namespaced_secret, ns,
                            {"metadata": {"name": "bad"}, "data": {"k": "not base64!"}})
    assert (code, status["reason"]) == (400, "BadRequest")
    assert status["message"] == ('Secret in version "v1" cannot be handled as a Secret: illegal base64 data '
                                 "at input byte 3")


def test_keys_must_be_valid_config_keys(api: client.ApiClient) -> None:
    v1, ns = client.CoreV1Api(api), fresh_namespace(api)
    code, status = _refused(v1.create_namespaced_config_map, ns,
                            {"metadata": {"name": "keys"}, "data": {"no spaces": "x"}})
    assert (code, status["reason"]) == (422, "Invalid")
    assert status["message"].startswith('ConfigMap "keys" is invalid: data[no spaces]: Invalid value: '
                                        '"no spaces": a valid config key must consist of alphanumeric')


@pytest.mark.parametrize("kind", ["Secret", "ConfigMap"])
def test_an_immutable_object_keeps_its_data(api: client.ApiClient, kind: str) -> None:
    v1, ns = client.CoreV1Api(api), fresh_namespace(api)
    create, patch = ((v1.create_namespaced_secret, v1.patch_namespaced_secret) if kind == "Secret"
                     else (v1.create_namespaced_config_map, v1.patch_namespaced_config_map))
    value = _b64("1") if kind == "Secret" else "1"
    create(ns, {"metadata": {"name": "frozen"}, "data": {"k": value}, "immutable": True})
    code, status = _refused(patch, "frozen", ns, {"data": {"k": _b64("2") if kind == "Secret" else "2"}})
    assert (code, status["reason"]) == (422, "Invalid")
    assert status["message"] == f'{kind} "frozen" is invalid: data: Forbidden: field is immutable when ' \
                                "`immutable` is set"
    code, status = _refused(patch, "frozen", ns, {"immutable": False})
    assert status["details"]["causes"][0]["field"] == "immutable"
    labelled = patch("frozen", ns, {"metadata": {"labels": {"still": "editable"}}})
    assert labelled.metadata.labels == {"still": "editable"}


def test_typed_secrets_need_their_keys(api: client.ApiClient) -> None:
    v1, ns = client.CoreV1Api(api), fresh_namespace(api)
    cases = [
        ("kubernetes.io/tls", {"tls.crt": _b64("cert")}, None,
         'Secret "s" is invalid: data[tls.key]: Required value'),
        ("kubernetes.io/dockerconfigjson", {}, None,
         'Secret "s" is invalid: data[.dockerconfigjson]: Required value'),
        ("kubernetes.io/service-account-token", {}, None,
         'Secret "s" is invalid: metadata.annotations[kubernetes.io/service-account.name]: Required value'),
    ]
    for kind, data, notes, message in cases:
        body = {"metadata": {"name": "s", "annotations": notes}, "type": kind, "data": data}
        code, status = _refused(v1.create_namespaced_secret, ns, body)
        assert (code, status["message"]) == (422, message)
    tls = v1.create_namespaced_secret(ns, {"metadata": {"name": "tls"}, "type": "kubernetes.io/tls",
                                           "data": {"tls.crt": _b64("c"), "tls.key": _b64("k")}})
    assert tls.type == "kubernetes.io/tls"
    code, status = _refused(v1.patch_namespaced_secret, "tls", ns, {"type": "Opaque"})
    assert status["message"] == 'Secret "tls" is invalid: type: Invalid value: "Opaque": field is immutable'


def test_put_of_a_missing_lease_creates_it(api: client.ApiClient) -> None:
    coordination, ns = client.CoordinationV1Api(api), fresh_namespace(api)
    body = {"metadata": {"name": "leader"},
            "spec": {"holderIdentity": "bot-1", "leaseDurationSeconds": 15,
                     "renewTime": "2026-01-01T00:00:00.123456Z"}}
    created = coordination.replace_namespaced_lease("leader", ns, body)
    assert created.spec.holder_identity == "bot-1" and created.metadata.uid
    assert coordination.read_namespaced_lease("leader", ns).spec.lease_duration_seconds == 15
    with pytest.raises(client.ApiException) as exc:  # a ConfigMap is not created by PUT
        client.CoreV1Api(api).replace_namespaced_config_map("nope", ns, {"metadata": {"name": "nope"}})
    assert exc.value.status == 404


def test_a_lease_time_must_be_micro_time(api: client.ApiClient) -> None:
    coordination, ns = client.CoordinationV1Api(api), fresh_namespace(api)
    # the client sends a time it parsed back in isoformat: with no fraction there is none (refused too)
    body = {"metadata": {"name": "late"}, "spec": {"renewTime": "2026-01-01T00:00:00Z"}}
    code, status = _refused(coordination.create_namespaced_lease, ns, body)
    assert (code, status["reason"]) == (400, "BadRequest")
    assert status["message"] == ('Lease in version "v1" cannot be handled as a Lease: parsing time '
                                 '"2026-01-01T00:00:00+00:00" as "2006-01-02T15:04:05.000000Z07:00": '
                                 'cannot parse "+00:00" as ".000000"')
