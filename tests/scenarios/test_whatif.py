"""`drewburr whatif BLADE` on the lab: what a blade's loss means, predicted without a change, then
checked against what the lab's PVE HA really does when the blade is powered off."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from commands import dispatch
from commands.grammar import VERBS, parse
from lab.scenario import load_scenario
from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for
from tests.scenarios.opsctx import fault, lab_context, pve_client
from tests.scenarios.test_slack import READER, Workspace, _all_text
from tests.scenarios.test_slack import serving as slack_serving

CHANGES = ("POST", "PUT", "DELETE", "PATCH")


def run(lab: RunningLab, *args: str):
    return CliRunner().invoke(app, ["--config", str(lab.workdir / "drewburr.yaml"), *args])


def whatif(lab: RunningLab, text: str) -> str:
    """The plain text Slack and the console show (the CLI's is the same, wrapped to the terminal)."""
    result = asyncio.run(dispatch.read(lab_context(lab), parse(text)))
    assert result.code == 0, result.text
    return result.text


def changes(lab: RunningLab) -> int:
    return lab.call(lambda: sum(1 for r in lab.lab.recorder.requests
                                if r.method in CHANGES and r.api in ("pve", "k8s")))


def test_whatif_blade3_predicts_where_pve_ha_restarts_kube03_and_that_is_where_it_goes(fast_lab):
    before = changes(fast_lab)
    out = whatif(fast_lab, "whatif blade3")
    assert "kube03 (103) on blade1 (most free memory)" in out
    assert "kube05 (105): not HA-managed, down until blade3 is back" in out
    solo = out.split("default/Deployment/ingress-solo", 1)[1].splitlines()
    assert solo[0].startswith(" (ingress-solo-") and solo[0].endswith("NONE elsewhere: down)")
    assert "without drewburr: never: pinned to its node (nodeSelector)" in solo[1]
    assert "PVE (corosync): 3 of 4 stay, 3 needed: kept" in out
    assert "Ceph monitors: 2 of 3 stay, 2 needed: kept" in out
    assert ("etcd (K3s servers): 2 of 3 stay, 2 needed: kept (kube03 back when PVE HA restarts it on blade1)"
            in out)
    assert "Ceph: can re-replicate blade3's data: the remaining OSDs reach 24% (now 18%" in out
    assert changes(fast_lab) == before  # an analysis: nothing was asked to change

    fault(fast_lab, "power-off", "blade3")
    pve = pve_client(fast_lab)

    def kube03() -> str | None:
        (vm,) = [r for r in pve.cluster.resources.get(type="vm") if r["vmid"] == 103]
        return vm["node"] if vm["status"] == "running" and vm["node"] != "blade3" else None

    assert wait_for(kube03, timeout=30, what="PVE HA restarting kube03") == "blade1"


def test_whatif_follows_a_pve_ha_rule_and_so_does_pve(fast_lab):
    pve = pve_client(fast_lab)
    # kube03 prefers blade3, then blade4 (with failback, PVE would move it at once to a higher one)
    pve.cluster.ha.rules.post(rule="kube03-home", type="node-affinity", resources="vm:103",
                              nodes="blade3:2,blade4:1")
    out = whatif(fast_lab, "whatif blade3")
    assert "kube03 (103) on blade4 (preferred by its HA rule, most free memory)" in out
    fault(fast_lab, "power-off", "blade3")

    def kube03() -> str | None:
        (vm,) = [r for r in pve.cluster.resources.get(type="vm") if r["vmid"] == 103]
        return vm["node"] if vm["status"] == "running" and vm["node"] != "blade3" else None

    assert wait_for(kube03, timeout=30, what="PVE HA restarting kube03") == "blade4"


async def test_whatif_is_one_verb_of_the_grammar_for_slack_and_the_console_with_read_permission(
        running_lab):
    assert VERBS["whatif"].permission == "read"
    ctx = lab_context(running_lab)
    result = await dispatch.read(ctx, parse("whatif blade2"))
    assert result.code == 0 and "What if blade2 dies now" in result.text
    assert "kube02 (102) on blade1" in result.text
    refused = await dispatch.read(ctx, parse("whatif blade9"))
    assert refused.code == 2 and "valid blades: blade1, blade2, blade3, blade4" in refused.text


def test_whatif_json_and_unknown_blade_on_the_command_line(running_lab):
    result = run(running_lab, "whatif", "blade3", "--json")
    assert result.exit_code == 0, result.output
    assert '"blade": "blade3"' in result.output and '"stays_down"' in result.output
    bad = run(running_lab, "whatif", "blade9")
    assert bad.exit_code == 2 and "valid blades" in bad.output


def test_a_full_ceph_is_named_by_whatif_and_by_the_drain_and_reboot_plans(tmp_path: Path):
    scenario = load_scenario(None).model_copy(update={"ceph_used_share": 0.7})
    with RunningLab(tmp_path / "lab", scenario, time_scale=50) as lab:
        out = whatif(lab, "whatif blade3")
        assert "re-replicating blade3's data fills the remaining OSDs to 93% (now 70%), past nearfull 85%" \
            in out
        for kind in ("drain", "reboot"):
            plan = whatif(lab, f"plan blade3 --for {kind}")
            assert "[ceph-capacity] blade3 if its OSD is marked out" in plan and "past nearfull 85%" in plan


@pytest.fixture
def slack(running_lab: RunningLab, tmp_path: Path) -> Iterator[Workspace]:
    with slack_serving(running_lab, tmp_path, "socket") as workspace:
        yield workspace


def test_a_reader_asks_whatif_in_slack_and_the_analysis_is_posted(slack: Workspace) -> None:
    slack.type(READER, "whatif blade3")
    posted = wait_for(lambda: slack.message("What if blade3 dies now"), timeout=30, what="the analysis")
    assert "kube03 (103) on blade1" in _all_text(posted) and "`whatif blade3`" in _all_text(posted)
