"""cert-manager's controllers: ClusterIssuers get Ready, Certificates get a `kubernetes.io/tls` Secret.

They act only while cert-manager's controller Deployment has a ready replica. An ACME issuer
registers its account (some lab seconds; the account key goes to its privateKeySecretRef in
cert-manager's namespace) and is Ready with reason ACMEAccountRegistered; a selfSigned one is
Ready at once; a CA one when its key pair Secret exists. A Certificate whose issuer is Ready
is issued after the issuer's time (an ACME HTTP-01 order takes tens of seconds): its Secret
carries cert-manager's annotations and the Certificate reads Ready "Certificate is up to date
and has not expired". Until then, or with an issuer that does not exist, it is not Ready, with
cert-manager's reason and message.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

from lab.k8s.controllers.base import (
    DEPLOYMENT,
    SECRET,
    Obj,
    condition,
    deleting,
    earliest,
    set_condition,
    spec_of,
    timestamp,
    update_if_changed,
)
from lab.k8s.crds import known

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

CLUSTERISSUER, CERTIFICATE = known("ClusterIssuer"), known("Certificate")
NAMESPACE = "cert-manager"  # --cluster-resource-namespace: where ClusterIssuers keep their Secrets
REGISTER = 5.0  # lab seconds to register an ACME account
ISSUE = {"acme": 30.0, "selfSigned": 1.0, "ca": 1.0}  # lab seconds from request to signed certificate
VALIDITY, RENEW_BEFORE = 90 * 86400.0, 30 * 86400.0  # Let's Encrypt's 90 days, renewed 30 days before
REGISTERED = "The ACME account was registered with the ACME server"
UP_TO_DATE = "Certificate is up to date and has not expired"
MISSING = "Issuing certificate as Secret does not exist"


def _kind(issuer: Obj) -> str | None:
    spec = spec_of(issuer)
    return next((k for k in ("acme", "selfSigned", "ca") if k in spec), None)


def _ready(obj: Obj) -> bool:
    return (condition(obj, "Ready") or {}).get("status") == "True"


def _pem(label: str, seed: str) -> str:
    body = base64.b64encode(hashlib.sha512(seed.encode()).digest() * 4).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])


class CertManager:
    watches = frozenset({"ClusterIssuer", "Certificate", "Deployment", "Secret"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster
        self.since: dict[str, float] = {}  # object uid -> when cert-manager started on it

    def _running(self) -> bool:
        return any((d.get("status") or {}).get("readyReplicas") for d in self.cluster.store.list(DEPLOYMENT)
                   if d["metadata"]["name"] == "cert-manager")

    def _started(self, obj: Obj, now: float, delay: float) -> float:
        """When the work on `obj`, begun the first time cert-manager saw it, is done."""
        return self.since.setdefault(obj["metadata"]["uid"], now) + delay

    def run(self, now: float) -> float | None:
        if not self._running():
            return None
        wake = None
        for issuer in self.cluster.store.list(CLUSTERISSUER):
            if not deleting(issuer):
                wake = earliest(wake, self._issuer(issuer, now))
        for cert in self.cluster.store.list(CERTIFICATE):
            if not deleting(cert):
                wake = earliest(wake, self._certificate(cert, now))
        return wake

    def _issuer(self, issuer: Obj, now: float) -> float | None:
        store, kind = self.cluster.store, _kind(issuer)
        if kind == "acme":
            done = self._started(issuer, now, REGISTER)
            if now < done:
                return done
            acme = spec_of(issuer)["acme"] or {}
            key = str((acme.get("privateKeySecretRef") or {}).get("name") or "")
            if key and store.find(SECRET, NAMESPACE, key) is None:
                store.create(SECRET, {"metadata": {"name": key, "namespace": NAMESPACE},
                                      "data": {"tls.key": base64.b64encode(_pem("PRIVATE KEY", key).encode())
                                               .decode()}})
            account = int(hashlib.sha256(issuer["metadata"]["uid"].encode()).hexdigest()[:9], 16)
            status = {"uri": f"{str(acme.get('server', '')).rsplit('/', 1)[0]}/acme/acct/{account}",
                      "lastRegisteredEmail": acme.get("email", "")}
            verdict = ("True", "ACMEAccountRegistered", REGISTERED, status)
        elif kind == "selfSigned":
            verdict = ("True", "IsReady", "", None)
        elif kind == "ca":
            name = str((spec_of(issuer)["ca"] or {}).get("secretName") or "")
            found = store.find(SECRET, NAMESPACE, name) is not None
            missing = f'Error getting keypair for CA issuer: secret "{name}" not found'
            verdict = (("True", "KeyPairVerified", "Signing CA verified", None) if found else
                       ("False", "ErrGetKeyPair", missing, None))
        else:
            verdict = ("False", "ErrInitIssuer", "Error initializing issuer: no issuer specified for Issuer "
                       f'"/{issuer["metadata"]["name"]}"', None)
        update_if_changed(store, CLUSTERISSUER, issuer, lambda o: _issuer_status(o, now, *verdict))
        return None

    def _certificate(self, cert: Obj, now: float) -> float | None:
        store, spec, meta = self.cluster.store, spec_of(cert), cert["metadata"]
        ref = spec.get("issuerRef") or {}
        issuer = (store.find(CLUSTERISSUER, "", str(ref.get("name") or ""))
                  if ref.get("kind") == "ClusterIssuer" else None)
        secret_name = str(spec.get("secretName") or "")
        secret = store.find(SECRET, meta["namespace"], secret_name)
        if secret is not None and _ready(cert):
            return None
        if issuer is None or not _ready(issuer):
            update_if_changed(store, CERTIFICATE, cert, lambda o: _pending(o, now))
            return None
        done = self._started(cert, now, ISSUE.get(_kind(issuer) or "", 1.0))
        if now < done:
            update_if_changed(store, CERTIFICATE, cert, lambda o: _pending(o, now))
            return done
        self._issue(cert, issuer, secret, now)
        return None

    def _issue(self, cert: Obj, issuer: Obj, secret: Obj | None, now: float) -> None:
        store, spec, meta = self.cluster.store, spec_of(cert), cert["metadata"]
        names = [str(n) for n in spec.get("dnsNames") or []]
        common = str(spec.get("commonName") or (names[0] if names else ""))
        annotations = {"cert-manager.io/certificate-name": meta["name"],
                       "cert-manager.io/issuer-name": issuer["metadata"]["name"],
                       "cert-manager.io/issuer-kind": "ClusterIssuer",
                       "cert-manager.io/issuer-group": "cert-manager.io",
                       "cert-manager.io/common-name": common, "cert-manager.io/alt-names": ",".join(names)}
        seed = f"{meta['uid']}:{now}"
        data = {"tls.crt": _pem("CERTIFICATE", seed), "tls.key": _pem("RSA PRIVATE KEY", seed + "key")}
        labels = {"controller.cert-manager.io/fao": "true"}
        body = {"metadata": {"name": spec["secretName"], "namespace": meta["namespace"],
                             "annotations": annotations, "labels": labels},
                "type": "kubernetes.io/tls",
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}
        if secret is None:
            store.create(SECRET, body)
        else:
            update_if_changed(store, SECRET, secret, lambda o: o.update(data=body["data"]))
        update_if_changed(store, CERTIFICATE, cert, lambda o: _issued(o, now))


def _issuer_status(issuer: Obj, now: float, status: str, reason: str, message: str, acme: Obj | None) -> None:
    state = issuer.setdefault("status", {})
    conditions = state.setdefault("conditions", [])
    set_condition(conditions, "Ready", status, now, reason, message)
    next(c for c in conditions if c["type"] == "Ready")["observedGeneration"] = issuer["metadata"].get(
        "generation", 1)
    if acme:
        state["acme"] = acme


def _pending(cert: Obj, now: float) -> None:
    conditions = cert.setdefault("status", {}).setdefault("conditions", [])
    set_condition(conditions, "Ready", "False", now, "DoesNotExist", MISSING)
    set_condition(conditions, "Issuing", "True", now, "DoesNotExist", MISSING)


def _issued(cert: Obj, now: float) -> None:
    status = cert.setdefault("status", {})
    conditions = status.setdefault("conditions", [])
    set_condition(conditions, "Ready", "True", now, "Ready", UP_TO_DATE)
    status["conditions"] = [c for c in conditions if c["type"] != "Issuing"]
    status.update(notBefore=timestamp(now), notAfter=timestamp(now + VALIDITY),
                  renewalTime=timestamp(now + VALIDITY - RENEW_BEFORE),
                  revision=status.get("revision", 0) + 1)
