"""batch/v1 Jobs and the helm-controller's install Jobs, through the kubernetes client and kubectl."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from tests.conftest import RunningLab
from tests.lab.kube import Kubectl, fresh_namespace, kubeconfig
from tests.lab.pve_client import wait_for
from tests.unit.lab.k8s_world import homelab


def _job(name: str, script: str, **spec: Any) -> dict[str, Any]:
    container = {"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", script]}
    return {"metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container]}}, **spec}}


def _conditions(job: client.V1Job) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in job.status.conditions or []}


def _maybe_job(batch: client.BatchV1Api, name: str, ns: str) -> client.V1Job | None:
    jobs = batch.list_namespaced_job(ns, field_selector=f"metadata.name={name}").items
    return jobs[0] if jobs else None


def _finished(batch: client.BatchV1Api, name: str, ns: str) -> client.V1Job | None:
    job = _maybe_job(batch, name, ns)
    return job if job is not None and {"Complete", "Failed"} & _conditions(job).keys() else None


def _pods(api: client.ApiClient, ns: str, job: str) -> list[client.V1Pod]:
    return client.CoreV1Api(api).list_namespaced_pod(ns, label_selector=f"job-name={job}").items


def test_a_job_runs_its_pods_to_completion(api: client.ApiClient) -> None:
    batch, ns = client.BatchV1Api(api), fresh_namespace(api)
    created = batch.create_namespaced_job(ns, _job("count", "echo one; sleep 2; echo two", completions=2))
    uid = created.metadata.uid
    assert created.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    assert created.spec.backoff_limit == 6 and created.spec.parallelism == 1
    done = wait_for(lambda: _finished(batch, "count", ns), what="job count finished")
    assert _conditions(done)["Complete"] == ("True", "CompletionsReached")
    assert (done.status.succeeded, done.status.failed, done.status.active) == (2, None, 0)
    assert done.status.completion_time >= done.status.start_time
    pods = _pods(api, ns, "count")
    assert [p.status.phase for p in pods] == ["Succeeded", "Succeeded"]
    terminated = pods[0].status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (0, "Completed")
    assert all(p.metadata.owner_references[0].uid == uid for p in pods)
    log = client.CoreV1Api(api).read_namespaced_pod_log(pods[0].metadata.name, ns)
    assert log == "one\ntwo\n"


def test_a_failing_job_stops_at_its_backoff_limit(api: client.ApiClient) -> None:
    batch, ns = client.BatchV1Api(api), fresh_namespace(api)
    batch.create_namespaced_job(ns, _job("broken", "echo trying; exit 3", backoffLimit=1))
    done = wait_for(lambda: _finished(batch, "broken", ns), timeout=20, what="job broken finished")
    assert _conditions(done)["Failed"] == ("True", "BackoffLimitExceeded")
    assert _conditions(done)["FailureTarget"] == ("True", "BackoffLimitExceeded")
    assert "Complete" not in _conditions(done)
    pods = _pods(api, ns, "broken")
    assert len(pods) == 2 and all(p.status.phase == "Failed" for p in pods)
    assert {p.status.container_statuses[0].state.terminated.exit_code for p in pods} == {3}
    events = client.CoreV1Api(api).list_namespaced_event(ns, field_selector="involvedObject.name=broken")
    assert ("Warning", "BackoffLimitExceeded") in {(e.type, e.reason) for e in events.items}


def test_a_job_past_its_deadline_fails_and_its_pods_go(api: client.ApiClient) -> None:
    batch, ns = client.BatchV1Api(api), fresh_namespace(api)
    batch.create_namespaced_job(ns, _job("slow", "sleep 3600", activeDeadlineSeconds=20))
    wait_for(lambda: _pods(api, ns, "slow") and _pods(api, ns, "slow")[0].status.phase == "Running",
             what="the slow pod running")
    done = wait_for(lambda: _finished(batch, "slow", ns), what="job slow finished")
    assert _conditions(done)["Failed"] == ("True", "DeadlineExceeded")
    wait_for(lambda: not _pods(api, ns, "slow"), what="the slow pod deleted")


def test_a_finished_job_with_a_ttl_is_deleted_with_its_pods(api: client.ApiClient) -> None:
    batch, ns = client.BatchV1Api(api), fresh_namespace(api)
    batch.create_namespaced_job(ns, _job("brief", "true", ttlSecondsAfterFinished=120))
    wait_for(lambda: _finished(batch, "brief", ns), what="job brief finished")
    wait_for(lambda: not batch.list_namespaced_job(ns).items, what="job brief deleted")
    wait_for(lambda: not _pods(api, ns, "brief"), what="its pods collected")


def test_a_job_template_must_not_restart_always(api: client.ApiClient) -> None:
    batch, ns = client.BatchV1Api(api), fresh_namespace(api)
    body = _job("always", "true")
    del body["spec"]["template"]["spec"]["restartPolicy"]
    with pytest.raises(client.ApiException) as exc:
        batch.create_namespaced_job(ns, body)
    assert exc.value.status == 422
    assert json.loads(exc.value.body)["message"] == (
        'Job.batch "always" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": '
        'supported values: "OnFailure", "Never"')


def test_kubectl_shows_jobs_and_their_logs(kubectl: Kubectl, api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    kubectl("create", "job", "hello", "-n", ns, "--image=busybox:1.36", "--", "sh", "-c", "echo hello lab")
    wait_for(lambda: _finished(client.BatchV1Api(api), "hello", ns), what="job hello finished")
    assert kubectl("logs", "-n", ns, "job/hello") == "hello lab\n"
    pod_row = kubectl("get", "pods", "-n", ns, "--no-headers").split()
    assert pod_row[1:3] == ["0/1", "Completed"]
    header, row = kubectl("get", "jobs", "-n", ns).splitlines()
    assert header.split()[:3] == ["NAME", "STATUS", "COMPLETIONS"]
    assert row.split()[:3] == ["hello", "Complete", "1/1"]


# the helm-controller's Jobs

HELMCHARTS = HELMCHARTCONFIGS = ("helm.cattle.io", "v1")


def _chart(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart", "metadata": {"name": name}, "spec": spec}


def _chart_conditions(co: client.CustomObjectsApi, ns: str, name: str) -> dict[str, dict[str, str]]:
    chart = co.get_namespaced_custom_object(*HELMCHARTS, ns, "helmcharts", name)
    return {c["type"]: c for c in (chart.get("status") or {}).get("conditions") or []}


def _release_secrets(api: client.ApiClient, ns: str, release: str) -> list[str]:
    secrets = client.CoreV1Api(api).list_namespaced_secret(ns, label_selector=f"owner=helm,name={release}")
    return [s.metadata.name for s in secrets.items]


def test_a_helmchart_for_an_unknown_chart_fails_its_job_with_helms_error(api: client.ApiClient) -> None:
    ns, co, batch = fresh_namespace(api), client.CustomObjectsApi(api), client.BatchV1Api(api)
    co.create_namespaced_custom_object(*HELMCHARTS, ns, "helmcharts",
                                       _chart("nosuch", chart="nosuch", repo="https://charts.jetstack.io",
                                              backOffLimit=3))
    chart = wait_for(lambda: co.get_namespaced_custom_object(*HELMCHARTS, ns, "helmcharts", "nosuch")
                     .get("status"), what="the chart's status")
    assert chart["jobName"] == "helm-install-nosuch"
    job = batch.read_namespaced_job("helm-install-nosuch", ns)
    container = job.spec.template.spec.containers[0]
    assert container.image.startswith("rancher/klipper-helm:") and container.args == ["install"]

    def crashed() -> client.V1Pod | None:
        pods = _pods(api, ns, "helm-install-nosuch")
        return next((p for p in pods if (p.status.container_statuses or [None])[0]
                     and p.status.container_statuses[0].restart_count), None)

    pod = wait_for(crashed, timeout=20, what="the install pod's first failure")
    log = client.CoreV1Api(api).read_namespaced_pod_log(pod.metadata.name, ns, previous=True)
    assert log.splitlines()[-1] == ('Error: INSTALLATION FAILED: chart "nosuch" not found in '
                                    "https://charts.jetstack.io repository")
    job = wait_for(lambda: _finished(batch, "helm-install-nosuch", ns), timeout=20, what="the install failed")
    assert _conditions(job)["Failed"] == ("True", "BackoffLimitExceeded")
    failed = wait_for(lambda: _chart_conditions(co, ns, "nosuch")["Failed"]["status"] == "True"
                      and _chart_conditions(co, ns, "nosuch")["Failed"], what="the chart's Failed condition")
    assert (failed["reason"], failed["message"]) == (
        "Job failed", "Job has reached configured number of retries without succeeding")
    assert _release_secrets(api, ns, "nosuch") == []


def test_an_unreachable_repository_fails_with_helms_words(api: client.ApiClient) -> None:
    ns, co = fresh_namespace(api), client.CustomObjectsApi(api)
    co.create_namespaced_custom_object(*HELMCHARTS, ns, "helmcharts",
                                       _chart("far", chart="app", repo="https://charts.nowhere.example"))

    def failed_log() -> str | None:
        for pod in _pods(api, ns, "helm-install-far"):
            statuses = pod.status.container_statuses or []
            if statuses and statuses[0].restart_count:
                return client.CoreV1Api(api).read_namespaced_pod_log(pod.metadata.name, ns, previous=True)
        return None

    log = wait_for(failed_log, timeout=20, what="the install pod's failure")
    assert log.splitlines()[-1].startswith(
        'Error: INSTALLATION FAILED: looks like "https://charts.nowhere.example" is not a valid chart '
        "repository or cannot be reached")


def test_a_chart_version_the_repository_lacks_fails_with_helms_words(api: client.ApiClient) -> None:
    ns, co = fresh_namespace(api), client.CustomObjectsApi(api)
    co.create_namespaced_custom_object(*HELMCHARTS, ns, "helmcharts", _chart(
        "lb", chart="metallb", version="9.9.9", repo="https://metallb.github.io/metallb", backOffLimit=1))

    def failed_log() -> str | None:
        for pod in _pods(api, ns, "helm-install-lb"):
            statuses = pod.status.container_statuses or []
            if statuses and statuses[0].restart_count:
                return client.CoreV1Api(api).read_namespaced_pod_log(pod.metadata.name, ns, previous=True)
        return None

    log = wait_for(failed_log, timeout=20, what="the install pod's failure")
    assert log.splitlines()[-1] == ('Error: INSTALLATION FAILED: chart "metallb" version "9.9.9" not found '
                                    "in https://metallb.github.io/metallb repository")


def test_a_helmchart_installs_after_its_job_and_uninstalls_through_helm_delete(api: client.ApiClient) -> None:
    ns, co, batch = fresh_namespace(api), client.CustomObjectsApi(api), client.BatchV1Api(api)
    apps = client.AppsV1Api(api)
    co.create_namespaced_custom_object(*HELMCHARTS, ns, "helmcharts",
                                       _chart("podinfo", chart="podinfo", version="6.7.1",
                                              repo="https://stefanprodan.github.io/podinfo"))
    job = wait_for(lambda: _maybe_job(batch, "helm-install-podinfo", ns), what="the install job")
    assert job.status.succeeded is None  # the install takes lab time: nothing is there yet
    assert apps.list_namespaced_deployment(ns).items == []
    done = wait_for(lambda: _finished(batch, "helm-install-podinfo", ns), timeout=20, what="install finished")
    assert _conditions(done)["Complete"] == ("True", "CompletionsReached")
    deploy = wait_for(lambda: apps.list_namespaced_deployment(ns).items, what="the release's Deployment")
    assert deploy[0].metadata.labels["helm.sh/chart"] == "podinfo-6.7.1"
    assert _release_secrets(api, ns, "podinfo") == ["sh.helm.release.v1.podinfo.v1"]
    assert _chart_conditions(co, ns, "podinfo")["Failed"]["status"] == "False"
    pod = _pods(api, ns, "helm-install-podinfo")[0]
    log = client.CoreV1Api(api).read_namespaced_pod_log(pod.metadata.name, ns)
    assert "STATUS: deployed" in log.splitlines()

    co.delete_namespaced_custom_object(*HELMCHARTS, ns, "helmcharts", "podinfo")
    delete = wait_for(lambda: batch.list_namespaced_job(ns, label_selector="helmcharts.helm.cattle.io/chart")
                      .items, what="the delete job")
    assert [j.metadata.name for j in delete] == ["helm-delete-podinfo"]
    wait_for(lambda: not co.list_namespaced_custom_object(*HELMCHARTS, ns, "helmcharts")["items"],
             timeout=20, what="the chart gone")
    assert _release_secrets(api, ns, "podinfo") == []
    assert apps.list_namespaced_deployment(ns).items == []


def test_a_helmchartconfig_merges_over_the_charts_values_and_set_wins_over_both(
        api: client.ApiClient) -> None:
    ns, co, apps = fresh_namespace(api), client.CustomObjectsApi(api), client.AppsV1Api(api)
    co.create_namespaced_custom_object(*HELMCHARTCONFIGS, ns, "helmchartconfigs", {
        "apiVersion": "helm.cattle.io/v1", "kind": "HelmChartConfig", "metadata": {"name": "info"},
        "spec": {"valuesContent": "replicaCount: 3\n"}})
    co.create_namespaced_custom_object(*HELMCHARTS, ns, "helmcharts", _chart(
        "info", chart="podinfo", version="6.7.1", repo="https://stefanprodan.github.io/podinfo",
        valuesContent="replicaCount: 1\nimage:\n  repository: ghcr.io/stefanprodan/podinfo\n  tag: 6.7.1\n"))
    deploy = wait_for(lambda: apps.list_namespaced_deployment(ns).items, timeout=20, what="the release")
    container = deploy[0].spec.template.spec.containers[0]
    assert (deploy[0].spec.replicas, container.image) == (3, "ghcr.io/stefanprodan/podinfo:6.7.1")

    co.patch_namespaced_custom_object(*HELMCHARTS, ns, "helmcharts", "info",
                                      {"spec": {"set": {"replicaCount": 2}}})
    wait_for(lambda: apps.read_namespaced_deployment("info", ns).spec.replicas == 2, timeout=20,
             what="the upgrade with --set replicaCount=2")


@pytest.fixture(scope="module")
def bare_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[client.ApiClient]:
    """A cluster with K3s only: no addon installed, so none of their CRDs exist yet."""
    with RunningLab(tmp_path_factory.mktemp("bare") / "lab", homelab(workloads="none"), time_scale=10) as lab:
        yield config.new_client_from_config(config_file=str(kubeconfig(lab)))


def test_a_chart_install_brings_its_crds_when_its_job_completes(bare_api: client.ApiClient) -> None:
    co, batch = client.CustomObjectsApi(bare_api), client.BatchV1Api(bare_api)
    ext = client.ApiextensionsV1Api(bare_api)

    def crds() -> set[str]:
        return {c.metadata.name for c in ext.list_custom_resource_definition().items}

    assert "ipaddresspools.metallb.io" not in crds()
    co.create_namespaced_custom_object(*HELMCHARTS, "kube-system", "helmcharts", _chart(
        "metallb", chart="metallb", repo="https://metallb.github.io/metallb", version="0.14.8",
        targetNamespace="metallb-system", createNamespace=True))
    job = wait_for(lambda: _maybe_job(batch, "helm-install-metallb", "kube-system"), what="the install job")
    assert "ipaddresspools.metallb.io" not in crds()  # the install takes some lab seconds (1 real s here)
    assert not _finished(batch, "helm-install-metallb", "kube-system")
    wait_for(lambda: _finished(batch, job.metadata.name, "kube-system"), timeout=20, what="the install")
    assert {"ipaddresspools.metallb.io", "l2advertisements.metallb.io"} <= crds()
    pool = {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "pool"},
            "spec": {"addresses": ["192.168.1.240-192.168.1.250"]}}
    assert co.create_namespaced_custom_object("metallb.io", "v1beta1", "metallb-system", "ipaddresspools",
                                              pool)["metadata"]["name"] == "pool"
