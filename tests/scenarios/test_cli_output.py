"""The command line as a terminal user meets it: 80 columns, plain when piped, --json, help,
--version, a plan before any question, and errors a person can act on."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import subprocess
import sys
import time

import typer
import yaml
from typer.testing import CliRunner

from bot.cli import app
from infra.journal_sqlite import SqliteJournal

ESC = "\x1b["


def run(running_lab, *args: str, config=None):
    config = config or running_lab.workdir / "drewburr.yaml"
    return CliRunner().invoke(app, ["--config", str(config), *args], env={"COLUMNS": "80"})


def assert_fits(output: str, columns: int = 80) -> None:
    too_long = [line for line in output.splitlines() if len(line) > columns]
    assert not too_long, too_long
    assert ESC not in output  # piped: no colour codes


def test_every_view_fits_80_columns_without_colour_when_piped(running_lab):
    assert run(running_lab, "drain", "blade3", "--yes").exit_code == 0
    for args in (["status"], ["plan", "blade2"], ["plan", "blade3", "--for", "down"], ["ops", "list"],
                 ["ops", "show", "1"], ["reboot", "all", "--dry-run"], ["restore", "blade3", "--dry-run"]):
        result = run(running_lab, *args)
        assert result.exit_code == 0, (args, result.output)
        assert_fits(result.output)


def test_a_long_pod_list_wraps_under_its_node(running_lab):
    result = run(running_lab, "plan", "blade3")
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    kube05:"))
    listed = lines[start + 1:start + 4]
    assert all(line.startswith("      ") for line in listed), listed  # continuation lines keep the indent


def test_json_for_status_plan_and_ops(running_lab):
    status = json.loads(run(running_lab, "status", "--json").output)
    assert sorted(status["blades"]) == ["blade1", "blade2", "blade3", "blade4"]
    assert status["maintenance"] == []
    plan = json.loads(run(running_lab, "plan", "blade3", "--json").output)
    assert {m["name"]: m["target"] for m in plan["moves"]} == {"kube03": "blade4", "kube05": "blade2"}
    assert plan["ok"] is True
    assert json.loads(run(running_lab, "ops", "list", "--json").output) == []


def _commands(group, prefix: tuple[str, ...] = ()):
    """Every subcommand, by its path (typer's click-like command objects)."""
    ctx = group.make_context("drewburr", ["--help"], resilient_parsing=True)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*prefix, name), command
        if hasattr(command, "list_commands"):
            yield from _commands(command, (*prefix, name))


def test_help_has_no_bool_metavars_and_every_option_says_what_it_does():
    root = typer.main.get_command(app)
    commands = [((), root), *_commands(root)]
    assert len(commands) > 12  # every verb and the lab's, not a vacuous walk
    for path, command in commands:
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, (path, param.name)
        shown = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}).output
        assert "<bool>" not in shown and "[[" not in shown, (path, shown)
        assert_fits(shown)
    resume = CliRunner().invoke(app, ["ops", "resume", "--help"]).output
    assert "Usage: root ops resume [OPTIONS] [ID]" in resume or "ops resume [OPTIONS] [ID]" in resume


def test_version_and_shell_completion():
    assert CliRunner().invoke(app, ["--version"]).output == "drewburr 0.1.0\n"
    root_help = CliRunner().invoke(app, ["--help"]).output
    assert "--install-completion" in root_help and "--show-completion" in root_help


def test_reboot_all_shows_its_plan_and_is_refused_on_a_lock_before_asking(running_lab):
    ALL = run(running_lab, "reboot", "ALL")
    assert ALL.exit_code == 2 and "did you mean 'all'?" in " ".join(ALL.output.split())
    unasked = run(running_lab, "reboot", "all")  # off a terminal: the plan, then no
    assert unasked.exit_code == 2
    assert "Plan: reboot every blade" in unasked.output and "blade3: kube03 -> blade4" in unasked.output
    assert "pass --yes" in unasked.output
    config = running_lab.workdir / "drewburr.yaml"
    journal = yaml.safe_load(config.read_text())["journal"]["path"]
    asyncio.run(SqliteJournal(journal).create("drain", "blade2", {}, ["plan"], ["blade:blade2"], now=1))
    locked = run(running_lab, "reboot", "all", "--yes")
    assert locked.exit_code == 2 and "blade2 is locked by operation 1 (drain)" in locked.output
    assert "pass --yes" not in locked.output and not re.search(r"\[\d+/\d+\]", locked.output)  # nothing ran


def test_answering_no_prints_the_plan_once(running_lab):
    """At a real terminal (a pty): the plan, the question, `n`, and no second copy of the plan."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "DREWBURR_CONFIG": str(running_lab.workdir / "drewburr.yaml")}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "drain", "blade3"], stdin=slave, stdout=slave,
                            stderr=slave, env=env, close_fds=True)
    os.close(slave)
    output, answered = b"", False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        output += chunk
        if not answered and b"Go ahead?" in output:
            os.write(master, b"n\n")
            answered = True
    os.close(master)
    assert proc.wait(10) == 2
    text = output.decode(errors="replace")
    assert answered, text
    assert text.count("Plan: drain blade3") == 1 and "Not confirmed: nothing changed." in text


def test_a_wrong_token_says_which_system_url_and_what_to_check(running_lab, tmp_path):
    data = yaml.safe_load((running_lab.workdir / "drewburr.yaml").read_text())
    data["proxmox"]["token_secret"] = "wrong"
    config = tmp_path / "wrong.yaml"
    config.write_text(yaml.safe_dump(data))
    result = run(running_lab, "status", config=config)
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert f"PVE at {running_lab.pve_url}:" in message and "(HTTP 401)" in message
    assert "check proxmox.token_id and proxmox.token_secret" in message
    assert "b''" not in message and "{'" not in message  # no Python reprs
