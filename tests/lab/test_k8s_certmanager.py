"""cert-manager's ClusterIssuer and Certificate through the kubernetes client."""

from __future__ import annotations

import base64
from typing import Any

from kubernetes import client

from tests.lab.kube import fresh_namespace
from tests.lab.pve_client import wait_for

GROUP = ("cert-manager.io", "v1")


def _ready(obj: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), None)


def _certificate(name: str, issuer: str) -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name},
            "spec": {"secretName": f"{name}-tls", "dnsNames": [f"{name}.homelab.example"],
                     "issuerRef": {"name": issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"}}}


def test_the_acme_cluster_issuer_is_ready_once_registered(api: client.ApiClient) -> None:
    co = client.CustomObjectsApi(api)
    issuer = wait_for(lambda: (_ready(co.get_cluster_custom_object(*GROUP, "clusterissuers", "letsencrypt"))
                               or {}).get("status") == "True"
                      and co.get_cluster_custom_object(*GROUP, "clusterissuers", "letsencrypt"),
                      what="letsencrypt Ready")
    ready = _ready(issuer)
    assert ready is not None
    assert (ready["reason"], ready["message"]) == ("ACMEAccountRegistered",
                                                   "The ACME account was registered with the ACME server")
    assert issuer["status"]["acme"]["uri"].startswith("https://acme-v02.api.letsencrypt.org/acme/acct/")
    key = client.CoreV1Api(api).read_namespaced_secret("letsencrypt-account", "cert-manager")
    assert "tls.key" in key.data


def test_a_certificate_issues_a_tls_secret(api: client.ApiClient) -> None:
    co, v1, ns = client.CustomObjectsApi(api), client.CoreV1Api(api), fresh_namespace(api)
    co.create_namespaced_custom_object(*GROUP, ns, "certificates", _certificate("web", "letsencrypt"))
    pending = wait_for(lambda: _ready(co.get_namespaced_custom_object(*GROUP, ns, "certificates", "web")),
                       what="the certificate's first status")
    assert (pending["status"], pending["reason"]) == ("False", "DoesNotExist")
    cert = wait_for(lambda: (_ready(c := co.get_namespaced_custom_object(*GROUP, ns, "certificates", "web"))
                             or {}).get("status") == "True" and c, timeout=20, what="the certificate Ready")
    assert _ready(cert)["message"] == "Certificate is up to date and has not expired"  # type: ignore[index]
    assert cert["status"]["notAfter"] > cert["status"]["notBefore"]
    secret = v1.read_namespaced_secret("web-tls", ns)
    assert secret.type == "kubernetes.io/tls"
    assert base64.b64decode(secret.data["tls.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")
    assert secret.metadata.annotations["cert-manager.io/alt-names"] == "web.homelab.example"


def test_a_certificate_for_a_missing_issuer_stays_not_ready(api: client.ApiClient) -> None:
    co, v1, ns = client.CustomObjectsApi(api), client.CoreV1Api(api), fresh_namespace(api)
    co.create_namespaced_custom_object(*GROUP, ns, "certificates", _certificate("orphan", "nobody"))
    co.create_namespaced_custom_object(*GROUP, ns, "certificates", _certificate("control", "letsencrypt"))
    wait_for(lambda: (_ready(co.get_namespaced_custom_object(*GROUP, ns, "certificates", "control"))
                      or {}).get("status") == "True", timeout=20, what="the control certificate issued")
    ready = _ready(co.get_namespaced_custom_object(*GROUP, ns, "certificates", "orphan"))
    assert ready is not None
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False", "DoesNotExist", "Issuing certificate as Secret does not exist")
    tls = [s.metadata.name for s in v1.list_namespaced_secret(ns).items if s.type == "kubernetes.io/tls"]
    assert tls == ["control-tls"]
