"""The helm-controller's Job for a HelmChart, and the chart status it reports (K3s' wording)."""

from __future__ import annotations

from typing import Any

from lab.k8s.controllers.base import Obj, owner_ref, set_condition, spec_of, timestamp

COMPONENT = "helm-controller"
FINALIZER = "wrangler.cattle.io/on-helm-chart-remove"
MANAGED_BY = "helmcharts.cattle.io/managed-by"
CHART_LABEL = "helmcharts.helm.cattle.io/chart"
HASH = "helmcharts.helm.cattle.io/configHash"
JOB_IMAGE = "rancher/klipper-helm:v0.9.3-build20241008"
DEFAULT_BACKOFF_LIMIT = 1000
RETRIES_EXHAUSTED = "Job has reached configured number of retries without succeeding"


def helm_job(chart: Obj, action: str, digest: str, revision: int) -> Obj:
    """`helm-install-NAME` (or `helm-delete-NAME`) as the helm-controller builds it."""
    meta, spec = chart["metadata"], spec_of(chart)
    name, namespace = meta["name"], meta["namespace"]
    target = spec.get("targetNamespace") or namespace
    chart_ref = f"{name}/{spec.get('chart', '')}" if spec.get("repo") else str(spec.get("chart", ""))
    env = {"NAME": name, "VERSION": spec.get("version") or "", "REPO": spec.get("repo") or "",
           "HELM_DRIVER": "secret", "CHART_NAMESPACE": namespace, "CHART": chart_ref,
           "HELM_VERSION": spec.get("helmVersion") or "", "TARGET_NAMESPACE": target,
           "AUTH_PASS_CREDENTIALS": "false", "INSECURE_SKIP_TLS_VERIFY": "false", "PLAIN_HTTP": "false",
           "EXPECTED_RELEASE_REVISION": str(revision), "CONFIG_HASH": digest[:63]}
    args = ["delete"] if action == "delete" else _install_args(spec)
    container: dict[str, Any] = {
        "name": "helm", "image": spec.get("jobImage") or JOB_IMAGE, "imagePullPolicy": "IfNotPresent",
        "args": args, "env": [{"name": k, "value": v} for k, v in env.items()],
    }
    backoff = spec.get("backOffLimit")
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": f"helm-{action}-{name}", "namespace": namespace,
                     "labels": {CHART_LABEL: name}, "ownerReferences": [owner_ref(chart)]},
        "spec": {
            "backoffLimit": backoff if isinstance(backoff, int) else DEFAULT_BACKOFF_LIMIT,
            "template": {
                "metadata": {"labels": {CHART_LABEL: name}, "annotations": {HASH: digest}},
                "spec": {"restartPolicy": "OnFailure", "serviceAccountName": f"helm-{name}",
                         "nodeSelector": {"kubernetes.io/os": "linux"}, "containers": [container]},
            },
        },
    }


def _install_args(spec: Obj) -> list[str]:
    args = ["install"]
    if spec.get("targetNamespace"):
        args += ["--namespace", str(spec["targetNamespace"])]
    if spec.get("createNamespace"):
        args.append("--create-namespace")
    if spec.get("version"):
        args += ["--version", str(spec["version"])]
    for key, value in sorted((spec.get("set") or {}).items()):
        typed = isinstance(value, int) or str(value).lower() in ("true", "false", "null")
        args += ["--set" if typed else "--set-string", f"{key}={value}"]
    return args


def completed(now: float) -> Obj:
    """The status of a Job that ran to completion before the lab started."""
    stamp = timestamp(now)
    return {"startTime": stamp, "completionTime": stamp, "succeeded": 1, "active": 0, "ready": 0,
            "terminating": 0, "uncountedTerminatedPods": {},
            "conditions": [{"type": kind, "status": "True", "reason": "CompletionsReached",
                            "message": "Reached expected number of succeeded pods",
                            "lastProbeTime": stamp, "lastTransitionTime": stamp}
                           for kind in ("SuccessCriteriaMet", "Complete")]}


def claim(chart: Obj) -> None:
    """The controller takes the chart: its managed-by annotation and its removal finalizer."""
    meta = chart["metadata"]
    meta.setdefault("annotations", {})[MANAGED_BY] = COMPONENT
    meta["finalizers"] = [*(meta.get("finalizers") or []), FINALIZER]


def status(chart: Obj, job: Obj, failed: bool, now: float) -> None:
    """JobCreated names the Job; Failed once the Job has used up its retries."""
    conditions = chart.setdefault("status", {}).setdefault("conditions", [])
    chart["status"]["jobName"] = job["metadata"]["name"]
    set_condition(conditions, "JobCreated", "True", now, "Job created",
                  f"Applying HelmChart using Job {job['metadata']['namespace']}/{job['metadata']['name']}")
    if failed:
        set_condition(conditions, "Failed", "True", now, "Job failed", RETRIES_EXHAUSTED)
    else:
        set_condition(conditions, "Failed", "False", now)


def refused(chart: Obj, now: float, message: str) -> None:
    """No Job could be made for the chart."""
    conditions = chart.setdefault("status", {}).setdefault("conditions", [])
    set_condition(conditions, "JobCreated", "False", now)
    set_condition(conditions, "Failed", "True", now, "Job create failed",
                  f"Failed to generate Job: {message}")
