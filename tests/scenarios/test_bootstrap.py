"""`bootstrap` on the lab's bare scenario (blades and the template only), then the addons on the new
cluster; checked through the kubernetes client, with the kubeconfig bootstrap fetched."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from commands import ops
from commands.addons import install, status
from commands.bootstrap import bootstrap
from commands.result import DONE, REFUSED
from infra.gateways.k8s import K8sGateway
from infra.journal import StepRecord
from infra.operations.bootstrap import bootstrap_locks
from lab.scenario import load_scenario
from tests.conftest import RunningLab

from .opsctx import DEAD_OWNER, auditor_context, lab_context
from .provisionctx import PROVISION, ZONE, node_ready

BARE = Path(__file__).resolve().parents[2] / "lab" / "scenarios" / "bare.yaml"


@pytest.fixture(scope="module")
def bare_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with RunningLab(tmp_path_factory.mktemp("bare") / "lab", load_scenario(BARE), time_scale=50) as lab:
        yield lab


def _context(lab: RunningLab):  # type: ignore[no-untyped-def]
    ctx = lab_context(lab, addon_timeout_seconds=60)
    assert ctx.provision is not None
    ctx.provision = dataclasses.replace(ctx.provision, **PROVISION)
    return ctx


def _stored(path: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    return stat.S_IMODE(path.stat().st_mode), yaml.safe_load(path.read_text())


def test_the_cli_refuses_more_servers_than_blades_with_exit_2(bare_lab: RunningLab) -> None:
    env = {**os.environ, "DREWBURR_CONFIG": str(bare_lab.workdir / "drewburr.yaml")}
    cli = subprocess.run([sys.executable, "-m", "bot", "bootstrap", "--servers", "5", "--yes"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 2 and "need 5 distinct healthy blades" in cli.stdout + cli.stderr


async def test_more_servers_than_distinct_healthy_blades_is_refused(bare_lab: RunningLab) -> None:
    ctx = _context(bare_lab)
    result = await bootstrap(ctx, 5, 0, yes=True)
    assert result.code == REFUSED
    assert "5 K3s servers need 5 distinct healthy blades" in result.text and "there are 4" in result.text
    plan = await bootstrap(ctx, 3, 1, dry_run=True)
    assert plan.code == DONE
    assert "kube01: K3s server on blade" in plan.text and "--cluster-init" in plan.text
    assert "kube04: K3s agent on the blade with most room, ip=192.168.1.124/24,gw=192.168.1.1" in plan.text
    assert "--tls-san 127.0.0.1" in plan.text
    auditor = await bootstrap(auditor_context(bare_lab), 3, 0, yes=True)  # PVEAuditor: may clone nothing
    assert auditor.code == REFUSED and "missing privileges: PVE VM.Clone on /vms/9000" in auditor.text
    assert [g for g in await ctx.guests.guests() if not g.template] == []  # nothing was created


async def test_bootstrap_makes_an_ha_cluster_and_the_addons_install_on_it(bare_lab: RunningLab) -> None:
    # no Kubernetes access configured, as before any cluster exists: bootstrap reaches the new
    # cluster with the admin kubeconfig it fetches from the first server
    ctx = dataclasses.replace(_context(bare_lab), k8s=None)
    result = await bootstrap(ctx, 3, 1, yes=True)
    assert result.code == DONE, result.text

    opts = ctx.bootstrap
    assert opts is not None
    path = Path(opts.kubeconfig)
    mode, fetched = _stored(path)
    assert mode == 0o600
    assert fetched["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{opts.api_port}"
    core = client.CoreV1Api(config.new_client_from_config(str(path)))  # the fetched kubeconfig works
    nodes = {n.metadata.name: n for n in core.list_node().items}
    assert sorted(nodes) == ["kube01", "kube02", "kube03", "kube04"] and all(map(node_ready, nodes.values()))
    servers = {name: n for name, n in nodes.items()
               if n.metadata.labels.get("node-role.kubernetes.io/control-plane") == "true"}
    assert sorted(servers) == ["kube01", "kube02", "kube03"]
    assert len({n.metadata.labels[ZONE] for n in servers.values()}) == 3  # on distinct blades
    args = {name: json.loads(n.metadata.annotations["k3s.io/node-args"]) for name, n in servers.items()}
    assert "--cluster-init" in args["kube01"] and "--server" not in args["kube01"]
    assert args["kube02"][args["kube02"].index("--server") + 1] == "https://192.168.1.121:6443"
    for words in args.values():
        assert words[words.index("--disable") + 1] == "servicelb,traefik,metrics-server"
        assert "--etcd-expose-metrics" in words and words[words.index("--tls-san") + 1] == "127.0.0.1"

    # as if killed while kube02 was joining: resumed, each step looks again and finds it done
    op = result.operation
    for name in ("kube02/k3s", "kube02/join", "kube02/label", "kube02/ready"):
        await ctx.journal.record_step(op.id, StepRecord(name=name, outcome="running", attempts=1))
    await ctx.journal.set_phase(op.id, "Running", now=2, owner=DEAD_OWNER)
    await ctx.journal.take_locks(op.id, bootstrap_locks(op.target, op.params))
    resumed = await ops.resume(ctx, op.id, yes=True)
    assert resumed.code == DONE, resumed.text
    assert (await ctx.journal.get(op.id)).step("kube02/k3s").message == "Node kube02 already registered"
    assert len(core.list_node().items) == 4

    again = await bootstrap(ctx, 3, 0, yes=True)
    assert again.code == REFUSED and "a K3s cluster exists already" in again.text

    ctx = dataclasses.replace(ctx, k8s=K8sGateway(path))  # kubernetes.kubeconfig: the fetched one
    addons = await install(ctx, "all", yes=True)
    assert addons.code == DONE, addons.text
    rows = {r["addon"]: r for r in (await status(ctx)).data}
    assert all(r["ready"] for r in rows.values()), rows
    assert rows["traefik"]["chart"] == "HelmChart"  # K3s' own Traefik is disabled: the chart installs it
