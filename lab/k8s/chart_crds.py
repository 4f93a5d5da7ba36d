"""The CustomResourceDefinitions that K3s and the addon charts install, with structural schemas.

The schemas keep the fields the lab and the bot use, typed as the upstream CRDs type them
(MetalLB 0.14, cert-manager 1.16, prometheus-operator 0.77, Traefik 2.11, K3s' helm-controller);
what else a kind takes is kept as sent (`x-kubernetes-preserve-unknown-fields`) rather than pruned.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
STR: Obj = {"type": "string"}
BOOL: Obj = {"type": "boolean"}
INT: Obj = {"type": "integer"}
INT_OR_STR: Obj = {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}
LOOSE: Obj = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
STR_MAP: Obj = {"type": "object", "additionalProperties": STR}


def arr(items: Obj) -> Obj:
    return {"type": "array", "items": items}


def obj(required: tuple[str, ...] = (), **props: Obj) -> Obj:
    schema: Obj = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


STRS = arr(STR)
SELECTOR = obj(matchLabels=STR_MAP, matchExpressions=arr(obj(("key", "operator"), key=STR, operator=STR,
                                                               values=STRS)))
CONDITIONS = arr(obj(("status", "type"), type=STR, status=STR, reason=STR, message=STR,
                     lastTransitionTime={"type": "string", "format": "date-time"},
                     observedGeneration=INT))
REF = obj(("name",), name=STR, kind=STR, group=STR)


def definition(group: str, version: str, kind: str, plural: str, namespaced: bool, spec: Obj, *,
               status: Obj | None = None, short: tuple[str, ...] = (), columns: tuple[Obj, ...] = (),
               categories: tuple[str, ...] = (), description: str = "") -> Obj:
    """A CRD manifest as the chart ships it (one served, stored version)."""
    props: Obj = {"apiVersion": STR, "kind": STR, "metadata": {"type": "object"}, "spec": spec}
    if status is not None:
        props["status"] = status
    schema: Obj = {"type": "object", "properties": props}
    if description:
        schema["description"] = description
    names: Obj = {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"}
    if short:
        names["shortNames"] = list(short)
    if categories:
        names["categories"] = list(categories)
    served: Obj = {"name": version, "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
    if status is not None:
        served["subresources"] = {"status": {}}
    if columns:
        served["additionalPrinterColumns"] = list(columns)
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "names": names, "scope": "Namespaced" if namespaced else "Cluster",
                     "versions": [served]}}


def column(name: str, path: str, kind: str = "string", priority: int = 0) -> Obj:
    col: Obj = {"name": name, "type": kind, "jsonPath": path}
    if priority:
        col["priority"] = priority
    return col


_HELM_STRINGS = ("chart", "repo", "version", "targetNamespace", "valuesContent", "helmVersion", "jobImage",
                 "timeout", "repoCA", "chartContent", "failurePolicy")
_LOCAL_REF = obj(name=STR)
_VALUES_SECRETS = arr(obj(name=STR, keys=STRS, ignoreUpdates=BOOL))
_HELM_SPEC = obj(**dict.fromkeys(_HELM_STRINGS, STR),
                 **dict.fromkeys(("bootstrap", "createNamespace", "authPassCredentials",
                                  "insecureSkipTLSVerify", "plainHTTP"), BOOL),
                 **dict.fromkeys(("authSecret", "dockerRegistrySecret", "repoCAConfigMap"), _LOCAL_REF),
                 set={"type": "object", "additionalProperties": INT_OR_STR}, backOffLimit=INT,
                 podSecurityContext=LOOSE, securityContext=LOOSE, valuesSecrets=_VALUES_SECRETS)
K3S = [
    definition("helm.cattle.io", "v1", "HelmChart", "helmcharts", True, _HELM_SPEC,
               status=obj(jobName=STR, conditions=CONDITIONS), columns=(
                   column("Job", ".status.jobName"), column("Chart", ".spec.chart"),
                   column("TargetNamespace", ".spec.targetNamespace"), column("Version", ".spec.version"),
                   column("Repo", ".spec.repo"), column("HelmVersion", ".spec.helmVersion"),
                   column("Bootstrap", ".spec.bootstrap", "boolean"))),
    definition("helm.cattle.io", "v1", "HelmChartConfig", "helmchartconfigs", True,
               obj(valuesContent=STR, failurePolicy=STR, valuesSecrets=_VALUES_SECRETS)),
]

_METALLB = [
    definition("metallb.io", "v1beta1", "IPAddressPool", "ipaddresspools", True, obj(
        ("addresses",), addresses=STRS, autoAssign={"type": "boolean", "default": True},
        avoidBuggyIPs={"type": "boolean", "default": False},
        serviceAllocation=obj(namespaces=STRS, namespaceSelectors=arr(SELECTOR), priority=INT,
                              serviceSelectors=arr(SELECTOR))),
        status=LOOSE, columns=(column("Auto Assign", ".spec.autoAssign", "boolean"),
                               column("Avoid Buggy IPs", ".spec.avoidBuggyIPs", "boolean"),
                               column("Addresses", ".spec.addresses"))),
    definition("metallb.io", "v1beta1", "L2Advertisement", "l2advertisements", True, obj(
        interfaces=STRS, ipAddressPoolSelectors=arr(SELECTOR), ipAddressPools=STRS,
        nodeSelectors=arr(SELECTOR)),
        status=LOOSE, columns=(column("IPAddressPools", ".spec.ipAddressPools"),
                               column("IPAddressPool Selectors", ".spec.ipAddressPoolSelectors"),
                               column("Interfaces", ".spec.interfaces"),
                               column("Node Selectors", ".spec.nodeSelectors", priority=10))),
]

_ISSUER_SPEC = obj(
    acme=obj(("privateKeySecretRef", "server"), server=STR, email=STR, skipTLSVerify=BOOL,
             privateKeySecretRef=obj(("name",), name=STR, key=STR), solvers=arr(LOOSE),
             preferredChain=STR, disableAccountKeyGeneration=BOOL, externalAccountBinding=LOOSE),
    ca=obj(("secretName",), secretName=STR, crlDistributionPoints=STRS, ocspServers=STRS),
    selfSigned=obj(crlDistributionPoints=STRS), vault=LOOSE, venafi=LOOSE)
_ISSUER_STATUS = obj(conditions=CONDITIONS, acme=obj(uri=STR, lastRegisteredEmail=STR,
                                                     lastPrivateKeyHash=STR))
_READY = (column("Ready", '.status.conditions[?(@.type=="Ready")].status'),
          column("Status", '.status.conditions[?(@.type=="Ready")].message', priority=1))
_CERT_MANAGER = [
    definition("cert-manager.io", "v1", "ClusterIssuer", "clusterissuers", False, _ISSUER_SPEC,
               status=_ISSUER_STATUS, columns=_READY, categories=("cert-manager",)),
    definition("cert-manager.io", "v1", "Issuer", "issuers", True, _ISSUER_SPEC,
               status=_ISSUER_STATUS, columns=_READY, categories=("cert-manager",)),
    definition("cert-manager.io", "v1", "Certificate", "certificates", True, obj(
        ("issuerRef", "secretName"), secretName=STR, issuerRef=REF, dnsNames=STRS, commonName=STR,
        ipAddresses=STRS, uris=STRS, emailAddresses=STRS, duration=STR, renewBefore=STR, isCA=BOOL,
        usages=STRS, privateKey=LOOSE, secretTemplate=obj(labels=STR_MAP, annotations=STR_MAP)),
        status=obj(conditions=CONDITIONS, notAfter=STR, notBefore=STR, renewalTime=STR, revision=INT),
        short=("cert", "certs"), categories=("cert-manager",),
        columns=(column("Ready", '.status.conditions[?(@.type=="Ready")].status'),
                 column("Secret", ".spec.secretName"), column("Issuer", ".spec.issuerRef.name", priority=1))),
]

_ENDPOINT = obj(port=STR, targetPort=INT_OR_STR, path=STR, scheme=STR, interval=STR, scrapeTimeout=STR,
                honorLabels=BOOL, params={"type": "object", "additionalProperties": STRS},
                relabelings=arr(LOOSE), metricRelabelings=arr(LOOSE), tlsConfig=LOOSE,
                bearerTokenSecret=LOOSE, basicAuth=LOOSE, authorization=LOOSE)
_RULE = obj(("expr",), alert=STR, record=STR, expr=INT_OR_STR, labels=STR_MAP, annotations=STR_MAP,
            keep_firing_for=STR, **{"for": STR})
_MONITORING = [
    definition("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors", True, obj(
        ("selector",), endpoints=arr(_ENDPOINT), selector=SELECTOR, jobLabel=STR,
        namespaceSelector=obj(any=BOOL, matchNames=STRS), targetLabels=STRS, podTargetLabels=STRS,
        sampleLimit=INT), short=("smon",), categories=("prometheus-operator",)),
    definition("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules", True, obj(
        groups=arr(obj(("name",), name=STR, interval=STR, limit=INT, partial_response_strategy=STR,
                       rules=arr(_RULE)))), short=("promrule",), categories=("prometheus-operator",)),
    definition("monitoring.coreos.com", "v1", "PodMonitor", "podmonitors", True, LOOSE,
               short=("pmon",), categories=("prometheus-operator",)),
    definition("monitoring.coreos.com", "v1", "Prometheus", "prometheuses", True, LOOSE, status=LOOSE,
               short=("prom",), categories=("prometheus-operator",)),
    definition("monitoring.coreos.com", "v1", "Alertmanager", "alertmanagers", True, LOOSE, status=LOOSE,
               short=("am",), categories=("prometheus-operator",)),
]

_SERVICE = obj(("name",), name=STR, namespace=STR,
               kind={"type": "string", "enum": ["Service", "TraefikService"]}, port=INT_OR_STR, scheme=STR,
               weight=INT, passHostHeader=BOOL, serversTransport=STR)
_MIDDLEWARE_REF = obj(("name",), name=STR, namespace=STR)


def _traefik(group: str) -> list[Obj]:
    """Traefik 2.11's kinds; its CRD chart ships them in traefik.io and the older traefik.containo.us."""
    return [
        definition(group, "v1alpha1", "IngressRoute", "ingressroutes", True, obj(
            ("routes",), entryPoints=STRS, tls=obj(secretName=STR, certResolver=STR, domains=arr(LOOSE),
                                                   options=LOOSE, store=LOOSE),
            routes=arr(obj(("kind", "match"), match=STR, kind={"type": "string", "enum": ["Rule"]},
                           priority=INT, services=arr(_SERVICE), middlewares=arr(_MIDDLEWARE_REF))))),
        definition(group, "v1alpha1", "Middleware", "middlewares", True, obj(
            headers=LOOSE, redirectScheme=obj(scheme=STR, port=STR, permanent=BOOL),
            stripPrefix=obj(prefixes=STRS),
            basicAuth=obj(secret=STR, realm=STR, removeHeader=BOOL), ipAllowList=obj(sourceRange=STRS),
            rateLimit=LOOSE, compress=LOOSE, chain=obj(middlewares=arr(_MIDDLEWARE_REF)), forwardAuth=LOOSE,
            addPrefix=obj(prefix=STR), redirectRegex=obj(regex=STR, replacement=STR, permanent=BOOL))),
        definition(group, "v1alpha1", "TLSOption", "tlsoptions", True, LOOSE),
        definition(group, "v1alpha1", "ServersTransport", "serverstransports", True, LOOSE),
    ]


_TRAEFIK = [*_traefik("traefik.io"), *_traefik("traefik.containo.us")]
ALL = [*K3S, *_METALLB, *_CERT_MANAGER, *_MONITORING, *_TRAEFIK]


def chart_crds(chart: str, values: Obj) -> list[Obj]:
    """The CRDs a chart's install brings: its `crds/` directory, or cert-manager's templates when
    `crds.enabled` (or the older `installCRDs`) is set, as that chart requires."""
    if chart == "cert-manager":
        crds = values.get("crds") if isinstance(values.get("crds"), dict) else {}
        return _CERT_MANAGER if crds.get("enabled") is True or values.get("installCRDs") is True else []
    return {"metallb": _METALLB, "kube-prometheus-stack": _MONITORING, "traefik": _TRAEFIK,
            "traefik-crd": _TRAEFIK}.get(chart, [])
