"""`addons install` and `addons status` on the lab; objects read back through the real kubernetes client."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
import yaml
from kubernetes import client, config

from commands import ops
from commands.addons import install, status
from commands.result import DONE, REFUSED
from infra import locks
from infra.addons import manifests
from infra.addons.spec import MetalLB
from infra.errors import Fatal
from infra.gateways.k8s import K8sGateway
from infra.journal import StepRecord
from infra.operations.addons import install_chart

from .opsctx import DEAD_OWNER, lab_context, viewer_kubeconfig

DREWBURR = [sys.executable, "-m", "bot"]
# what `addons install all` applies, as (group, version, namespace, plural, name); "" group = core
APPLIED = [
    ("helm.cattle.io", "v1", "kube-system", "helmcharts", "metallb"),
    ("helm.cattle.io", "v1", "kube-system", "helmcharts", "cert-manager"),
    ("helm.cattle.io", "v1", "kube-system", "helmchartconfigs", "traefik"),
    ("helm.cattle.io", "v1", "kube-system", "helmcharts", "kube-prometheus-stack"),
    ("metallb.io", "v1beta1", "metallb-system", "ipaddresspools", "default-pool"),
    ("metallb.io", "v1beta1", "metallb-system", "l2advertisements", "default-pool"),
    ("cert-manager.io", "v1", None, "clusterissuers", "letsencrypt-staging"),
    ("cert-manager.io", "v1", None, "clusterissuers", "letsencrypt-production"),
    ("monitoring.coreos.com", "v1", "monitoring", "prometheusrules", "drewburr-alerts"),
    ("", "v1", "monitoring", "secrets", "drewburr-webhook"),
    ("batch", "v1", "kube-system", "jobs", "helm-install-metallb"),
    ("batch", "v1", "kube-system", "jobs", "helm-install-kube-prometheus-stack"),
]


def _api(running_lab) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(running_lab.workdir / "kubeconfig"))


def _read(api: client.ApiClient, group: str, version: str, namespace: str | None, plural: str, name: str):
    if group == "":
        return api.sanitize_for_serialization(client.CoreV1Api(api).read_namespaced_secret(name, namespace))
    if group == "batch":
        return api.sanitize_for_serialization(client.BatchV1Api(api).read_namespaced_job(name, namespace))
    custom = client.CustomObjectsApi(api)
    if namespace is None:
        return custom.get_cluster_custom_object(group, version, plural, name)
    return custom.get_namespaced_custom_object(group, version, namespace, plural, name)


def _versions(api: client.ApiClient) -> dict[str, str | None]:
    """Each object's resourceVersion, None for one that does not exist."""
    found: dict[str, str | None] = {}
    for ref in APPLIED:
        try:
            found[f"{ref[3]}/{ref[4]}"] = _read(api, *ref)["metadata"]["resourceVersion"]
        except client.ApiException as exc:
            assert exc.status == 404
            found[f"{ref[3]}/{ref[4]}"] = None
    return found


async def test_install_all_then_again_changes_nothing_and_status_shows_it_ready(running_lab):
    ctx = lab_context(running_lab, addon_timeout_seconds=120)
    result = await install(ctx, "all", yes=True)
    assert result.code == DONE, result.text
    api = _api(running_lab)

    pool = _read(api, "metallb.io", "v1beta1", "metallb-system", "ipaddresspools", "default-pool")
    assert pool["spec"]["addresses"] == ctx.addons.metallb.addresses
    applied = [m["manager"] for m in pool["metadata"]["managedFields"] if m["operation"] == "Apply"]
    assert applied == ["drewburr"]
    for name in ("letsencrypt-staging", "letsencrypt-production"):
        issuer = _read(api, "cert-manager.io", "v1", None, "clusterissuers", name)
        assert issuer["spec"]["acme"]["solvers"] == [{"http01": {"ingress": {"ingressClassName": "traefik"}}}]
        assert {"type": "Ready", "status": "True"}.items() <= issuer["status"]["conditions"][0].items()
    rule = _read(api, "monitoring.coreos.com", "v1", "monitoring", "prometheusrules", "drewburr-alerts")
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert alerts == {"KubeNodeNotReady", "KubeNodeUnreachable", "CephOSDDown", "CephOSDHostDown"}
    secret = _read(api, "", "v1", "monitoring", "secrets", "drewburr-webhook")
    assert base64.b64decode(secret["data"]["token"]).decode() == ctx.webhook_token
    kps = _read(api, "helm.cattle.io", "v1", "kube-system", "helmcharts", "kube-prometheus-stack")
    values = yaml.safe_load(kps["spec"]["valuesContent"])
    hook = values["alertmanager"]["config"]["receivers"][0]["webhook_configs"][0]
    assert hook["url"] == ctx.addons.kube_prometheus_stack.webhook_url
    assert hook["http_config"]["authorization"]["credentials_file"].endswith("/drewburr-webhook/token")
    assert values["alertmanager"]["alertmanagerSpec"]["secrets"] == ["drewburr-webhook"]

    before = _versions(api)
    assert None not in before.values()
    again = await install(ctx, "all", yes=True)
    assert again.code == DONE, again.text
    assert _versions(api) == before
    assert all(s.message.startswith("unchanged") for s in again.operation.steps), again.text

    shown = await status(ctx)
    rows = {r["addon"]: r for r in shown.data}
    assert all(r["ready"] and r["job"] == "Complete" for r in rows.values()), shown.text
    assert rows["metallb"]["version"] == "0.14.8" and rows["kube-prometheus-stack"]["version"] == "65.1.1"
    assert rows["traefik"]["chart"] == "HelmChartConfig"  # K3s bundles it in this homelab


async def test_bad_input_is_refused_before_anything_is_created(running_lab):
    ctx = lab_context(running_lab)
    api = _api(running_lab)
    before = _versions(api)
    assert before["clusterissuers/letsencrypt-staging"] is None  # not in the seed homelab
    unknown = await install(ctx, "metalb", yes=True)
    assert unknown.code == REFUSED and "unknown addon 'metalb'" in unknown.text
    ctx.addons.metallb.version = "9.9.9"
    missing = await install(ctx, "metallb", yes=True)
    assert missing.code == REFUSED
    assert "addons.metallb.version: metallb 9.9.9 does not exist" in missing.text and "0.14.8" in missing.text
    dry = await install(ctx, "metallb", dry_run=True)
    assert dry.code == REFUSED
    assert _versions(api) == before
    refused = [op for op in await ctx.journal.list(10) if op.phase == "Refused"]
    assert len(refused) == 3


def test_cli_refuses_an_unknown_addon_and_a_malformed_range_with_exit_2(running_lab):
    env = {**os.environ, "DREWBURR_CONFIG": str(running_lab.workdir / "drewburr.yaml")}
    unknown = subprocess.run([*DREWBURR, "addons", "install", "nginx", "--yes"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "unknown addon 'nginx'" in unknown.stdout + unknown.stderr
    env["DREWBURR_ADDONS__CERT_MANAGER__VERSION"] = "v9.9.9"
    missing = subprocess.run([*DREWBURR, "addons", "install", "cert-manager", "--yes"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    said = missing.stdout + missing.stderr
    assert "addons.cert_manager.version: cert-manager v9.9.9 does not exist" in said
    env["DREWBURR_ADDONS__METALLB__ADDRESSES"] = '["192.168.1.250-192.168.1.240"]'
    bad = subprocess.run([*DREWBURR, "addons", "install", "metallb", "--yes"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert "environment DREWBURR_ADDONS__METALLB__ADDRESSES: addons.metallb.addresses" in bad.stderr
    assert "lower to a higher address" in bad.stderr


async def test_an_interrupted_install_resumes_and_makes_what_is_missing(running_lab):
    ctx = lab_context(running_lab, addon_timeout_seconds=120)
    done = await install(ctx, "kube-prometheus-stack", yes=True)
    assert done.code == DONE, done.text
    api = _api(running_lab)
    client.CustomObjectsApi(api).delete_namespaced_custom_object(
        "monitoring.coreos.com", "v1", "monitoring", "prometheusrules", "drewburr-alerts")
    op = done.operation  # as if killed while applying its objects, before the rule was made
    await ctx.journal.record_step(op.id, StepRecord(name="kube-prometheus-stack objects", outcome="running",
                                                    attempts=1))
    await ctx.journal.set_phase(op.id, "Running", now=2, owner=DEAD_OWNER)
    await ctx.journal.take_locks(op.id, [locks.CLUSTER])
    resumed = await ops.resume(ctx, op.id, yes=True)
    assert resumed.code == DONE, resumed.text
    rule = _read(api, "monitoring.coreos.com", "v1", "monitoring", "prometheusrules", "drewburr-alerts")
    assert rule["spec"]["groups"]
    assert (await ctx.journal.get(op.id)).step("kube-prometheus-stack objects").message.startswith(
        "applied PrometheusRule/drewburr-alerts")
    assert await ctx.journal.locks() == {}


async def test_a_failing_helm_install_stops_the_step_with_helms_words(running_lab):
    ctx = lab_context(running_lab, addon_timeout_seconds=60)
    repo = ctx.addons.metallb.repo  # the check before the operation is bypassed: helm itself refuses
    addon = manifests.metallb(MetalLB(repo=repo, version="9.9.9"))
    with pytest.raises(Fatal) as failed:
        await install_chart(ctx, addon)
    assert str(failed.value) == ('helm-install-metallb failed: Error: INSTALLATION FAILED: chart "metallb" '
                                 f'version "9.9.9" not found in {repo} repository')


async def test_an_identity_that_may_only_read_is_refused_naming_what_it_lacks(running_lab, tmp_path):
    api = _api(running_lab)
    ctx = lab_context(running_lab)
    before = _versions(api)
    ctx.k8s = K8sGateway(viewer_kubeconfig(running_lab, api, tmp_path))
    result = await install(ctx, "metallb", yes=True)
    assert result.code == REFUSED, result.text
    assert "Kubernetes patch helmcharts.helm.cattle.io" in result.text
    assert "Kubernetes create ipaddresspools.metallb.io" in result.text
    assert "get jobs" not in result.text and "pods/log" not in result.text  # it may read
    assert _versions(api) == before
