"""The Job controller (batch/v1) and the TTL-after-finished controller.

A Job keeps `parallelism` pods running until `completions` of them succeed. A failed pod
counts towards `backoffLimit` (a restarted container too, for restartPolicy OnFailure);
replacements wait out a back-off of 10 s doubling to 6 min. Past the limit, or past
`activeDeadlineSeconds`, the Job fails: its active pods are deleted and it gets the
FailureTarget then Failed conditions with the real reasons, as the 1.31 controller sets them.
A finished Job with `ttlSecondsAfterFinished` is deleted that long after; its pods go with it
(the garbage collector).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.k8s.controllers.base import (
    JOB,
    POD,
    Obj,
    condition,
    condition_true,
    deleting,
    earliest,
    owned_by,
    parse_time,
    pod_active,
    pod_ready,
    pod_restarts,
    set_condition,
    spec_of,
    timestamp,
    update_if_changed,
)
from lab.k8s.controllers.pods import generated_name, pod_from_template, remove_pod

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

BACKOFF, MAX_BACKOFF = 10.0, 360.0  # DefaultJobPodFailureBackOff, MaxJobPodFailureBackOff
COMPONENT = "job-controller"
COMPLETED = "Reached expected number of succeeded pods"
FAILURES = {
    "BackoffLimitExceeded": "Job has reached the specified backoff limit",
    "DeadlineExceeded": "Job was active longer than specified deadline",
}


def finished(job: Obj) -> str | None:
    """"Complete" or "Failed" once the Job has that condition."""
    return next((kind for kind in ("Complete", "Failed") if condition_true(job, kind)), None)


class JobController:
    watches = frozenset({"Job", "Pod"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster

    def run(self, now: float) -> float | None:
        store, wake = self.cluster.store, None
        pods: dict[str, list[Obj]] = {}
        for pod in store.list(POD):
            for ref in pod["metadata"].get("ownerReferences") or []:
                if ref.get("controller") and ref.get("kind") == "Job":
                    pods.setdefault(ref.get("uid", ""), []).append(pod)
        for job in store.list(JOB):
            if deleting(job):
                continue
            mine = [p for p in pods.get(job["metadata"]["uid"], []) if owned_by(p, job)]
            if finished(job):
                wake = earliest(wake, self._expire(job, now))
            else:
                wake = earliest(wake, self._sync(job, mine, now))
        return wake

    def _sync(self, job: Obj, pods: list[Obj], now: float) -> float | None:
        spec, store = spec_of(job), self.cluster.store
        started = parse_time(job.get("status", {}).get("startTime")) or now
        active = [p for p in pods if pod_active(p)]
        succeeded = sum(1 for p in pods if p["status"].get("phase") == "Succeeded")
        failed_pods = [p for p in pods if p["status"].get("phase") == "Failed"]
        failed = len(failed_pods)
        if spec.get("template", {}).get("spec", {}).get("restartPolicy") == "OnFailure":
            failed += sum(pod_restarts(p) for p in active)
        completions = spec.get("completions")
        deadline = spec.get("activeDeadlineSeconds")
        failure = None
        if failed > int(spec.get("backoffLimit", 6)):
            failure = "BackoffLimitExceeded"
        elif deadline is not None and now >= started + int(deadline):
            failure = "DeadlineExceeded"
        done = succeeded >= completions if completions is not None else succeeded > 0 and not active
        due: float | None = None
        if failure:
            for pod in active:
                remove_pod(self.cluster, job, pod, 0)
            active = []
        elif not done and not spec.get("suspend"):
            wanted = int(spec.get("parallelism", 1))
            if completions is not None:
                wanted = min(wanted, int(completions) - succeeded)
            retry_at = self._retry_at(failed_pods, failed)
            if len(active) < wanted and retry_at > now:
                due = retry_at
            for _ in range(max(0, wanted - len(active)) if retry_at <= now else 0):
                name = generated_name(self.cluster, job["metadata"]["name"])
                active.append(pod_from_template(self.cluster, job, name))
            if deadline is not None:
                due = earliest(due, started + int(deadline))
        ready = sum(1 for p in active if pod_ready(p))
        update_if_changed(store, JOB, job, lambda o: _status(o, now, started, len(active), succeeded,
                                                              failed, ready, failure, done))
        if failure or done:
            self._record_end(job, failure, now)
        return due

    def _retry_at(self, failed_pods: list[Obj], failed: int) -> float:
        """The pod failure back-off: 10 s after the last failure, doubling with each one."""
        if not failed:
            return float("-inf")
        ends = [parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt")) or 0.0
                for p in failed_pods for cs in p["status"].get("containerStatuses") or []]
        return max(ends, default=0.0) + min(BACKOFF * 2 ** (failed - 1), MAX_BACKOFF)

    def _record_end(self, job: Obj, failure: str | None, now: float) -> None:
        if failure:
            self.cluster.recorder.record(job, "Warning", failure, FAILURES[failure], COMPONENT, now)
        else:
            self.cluster.recorder.record(job, "Normal", "Completed", "Job completed", COMPONENT, now)

    def _expire(self, job: Obj, now: float) -> float | None:
        """The TTL-after-finished controller: a finished Job goes `ttlSecondsAfterFinished` later."""
        ttl = spec_of(job).get("ttlSecondsAfterFinished")
        ended = parse_time(job.get("status", {}).get("completionTime")) or parse_time(
            (condition(job, finished(job) or "") or {}).get("lastTransitionTime"))
        if ttl is None or ended is None:
            return None
        if now < ended + int(ttl):
            return ended + int(ttl)
        self.cluster.delete(JOB, job)
        return None


def _status(job: Obj, now: float, started: float, active: int, succeeded: int, failed: int, ready: int,
            failure: str | None, done: bool) -> None:
    status = job.setdefault("status", {})
    status["startTime"] = status.get("startTime") or timestamp(started)
    status["active"], status["ready"], status["terminating"] = active, ready, 0
    for key, value in (("succeeded", succeeded), ("failed", failed)):
        if value:
            status[key] = value
    status["uncountedTerminatedPods"] = {}
    conditions = status.setdefault("conditions", [])
    if failure:
        ends = (("FailureTarget", "Failed"), failure, FAILURES[failure])
    elif done:
        ends = (("SuccessCriteriaMet", "Complete"), "CompletionsReached", COMPLETED)
        status["completionTime"] = timestamp(now)
    else:
        ends = ((), "", "")
    for kind in ends[0]:
        set_condition(conditions, kind, "True", now, ends[1], ends[2])
        next(c for c in conditions if c["type"] == kind)["lastProbeTime"] = timestamp(now)
    if not conditions:
        del status["conditions"]
