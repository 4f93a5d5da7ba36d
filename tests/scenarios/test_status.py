"""`drewburr status` and `drewburr plan` on the command line, against the lab."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from bot.cli import app


def run(running_lab, *args: str):
    return CliRunner().invoke(app, ["--config", str(running_lab.workdir / "drewburr.yaml"), *args])


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines()]


def test_status_shows_blades_vms_nodes_and_ceph(running_lab):
    result = run(running_lab, "status")
    assert result.exit_code == 0, result.output
    assert "PVE: quorate; Ceph: HEALTH_OK" in result.output
    assert ["blade3", "online", "10.0", "GiB", "/", "16.0", "GiB", "kube03,", "kube05"] in rows(result.output)
    assert "kube05" in result.output.split("NODE", 1)[1]


def test_plan_names_the_moves_and_the_ingress_solo_downtime(running_lab):
    result = run(running_lab, "plan", "blade3")
    assert result.exit_code == 0, result.output
    assert "blade3 -> blade4" in result.output and "ingress-solo" in result.output


def test_plan_for_a_dead_blade_says_which_vms_stay_down(running_lab):
    result = run(running_lab, "plan", "blade3", "--for", "down")
    assert result.exit_code == 0, result.output
    restarted = result.output.split("restart elsewhere by PVE HA", 1)[1].split("Stay on blade3", 1)[0]
    assert "kube03 (103" in restarted and "kube05" not in restarted  # kube05 is not HA: it does not restart
    assert "Stay on blade3: kube05 (105, not HA: down until the blade is back)" in result.output
    assert "kube05 (105) is not HA-managed" in result.output
    assert "Ready to go." not in result.output  # it names downtime: not a plan to wave through
    assert run(running_lab, "plan", "blade3", "--for", "nap").exit_code == 2


def test_a_drain_plan_with_downtime_does_not_say_ready_to_go(running_lab):
    result = run(running_lab, "plan", "blade3")
    assert "[downtime]" in result.output and "Ready to go." not in result.output
    assert "the warnings above mean downtime" in result.output


def test_unknown_blade_exits_2_with_the_valid_blades(running_lab):
    for verb in (["plan", "blade9"], ["drain", "blade9", "--yes"], ["restore", "blade9"]):
        result = run(running_lab, *verb)
        assert result.exit_code == 2, (verb, result.output)
        assert "valid blades: blade1, blade2, blade3, blade4" in result.output


def test_drain_without_yes_off_a_terminal_refuses_with_exit_2(running_lab):
    result = run(running_lab, "drain", "blade3")
    assert result.exit_code == 2 and "--yes" in result.output


def test_a_bad_config_file_exits_2_naming_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("proxmox: {url: ftp://x, token_id: a@b!c, token_secret: s}\n")
    result = CliRunner().invoke(app, ["--config", str(bad), "status"])
    assert result.exit_code == 2 and "proxmox.url" in result.output


def test_drain_and_ops_on_the_command_line(running_lab):
    drained = run(running_lab, "drain", "blade3", "--yes")
    assert drained.exit_code == 0, drained.output
    assert "[6/6] mark: done" in drained.output  # plain progress lines off a terminal
    status = run(running_lab, "status")
    assert "online maint" in status.output
    flat = " ".join(status.output.split())  # the terminal width wraps lines
    assert "In maintenance: blade3 since" in flat and "(operation 1; cordoned kube03, kube05; " \
        "noout set by it); `drewburr restore blade3` ends it" in flat
    assert "K8s node kube03: zone label blade3, VM 103 now on blade4 (moved off its home by operation 1" \
        in flat
    assert "! " not in status.output  # a maintenance's own moves are not alarms
    listed = run(running_lab, "ops")
    assert listed.exit_code == 0
    assert ["1", "drain", "blade3", "Succeeded", "6/6"] in [r[:5] for r in rows(listed.output)]
    shown = run(running_lab, "ops", "show", "1")
    assert ["migrate", "done", "1"] in [r[:3] for r in rows(shown.output)]
    again = run(running_lab, "drain", "blade2", "--yes")
    assert again.exit_code == 2 and "blade3 already in maintenance" in again.output
    restored = run(running_lab, "restore", "blade3", "--yes")
    assert restored.exit_code == 0, restored.output


def test_a_missing_kubeconfig_is_a_config_error(running_lab, tmp_path):
    data = yaml.safe_load((running_lab.workdir / "drewburr.yaml").read_text())
    data["kubernetes"]["kubeconfig"] = str(tmp_path / "absent")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["--config", str(path), "status"])
    assert result.exit_code == 2 and "kubernetes.kubeconfig" in result.output
