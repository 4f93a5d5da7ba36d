"""The lab folder as a newcomer uses it: one running lab per folder, a fresh journal per lab,
absolute paths in drewburr.yaml, its ports said, and `drewburr lab` (or `make lab`) that prints
where the lab is and ends cleanly when its input does."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app
from infra.journal import Maintenance
from infra.journal_sqlite import SqliteJournal
from lab.background import BackgroundLab
from lab.scenario import load_scenario

DREWBURR = [sys.executable, "-m", "bot"]
REPO = Path(__file__).resolve().parents[2]


def test_a_second_lab_in_a_running_labs_folder_is_refused_naming_it(running_lab):
    before = (running_lab.workdir / "lab.json").read_text()
    info = json.loads(before)
    second = subprocess.run([*DREWBURR, "lab", "up", "--dir", str(running_lab.workdir), "--port-base", "0"],
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 2, second.stdout + second.stderr
    assert (f"belongs to a lab that is running (pid {info['pid']}, PVE port {info['pve_port']}, "
            f"Kubernetes port {info['k8s_port']})") in second.stderr
    assert (running_lab.workdir / "lab.json").read_text() == before  # nothing of the first overwritten
    assert (running_lab.workdir / "ready").exists()
    status = CliRunner().invoke(app, ["lab", "status", "--dir", str(running_lab.workdir)])
    assert status.exit_code == 0, status.output


def test_a_new_lab_in_the_same_folder_starts_a_fresh_journal(tmp_path):
    workdir = tmp_path / "lab"
    with BackgroundLab(workdir, load_scenario(None), time_scale=50):
        journal = SqliteJournal(workdir / "journal.sqlite")
        asyncio.run(journal.put_maintenance(Maintenance(blade="blade3", op_id=1, since=0, noout_set=True)))
    with BackgroundLab(workdir, load_scenario(None), time_scale=50) as again:
        status = CliRunner().invoke(app, ["--config", str(workdir / "drewburr.yaml"), "status"])
        assert status.exit_code == 0, status.output
        assert "In maintenance" not in status.output and "maint" not in status.output
        assert (workdir / "journal.sqlite.previous").exists()  # the last lab's, kept beside
        assert "fresh journal" in again.server.describe()


def test_drewburr_yaml_names_absolute_paths_for_a_relative_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with BackgroundLab(Path(".lab"), load_scenario(None), time_scale=50):
        config = yaml.safe_load((tmp_path / ".lab" / "drewburr.yaml").read_text())
        files = (config["proxmox"]["ca_file"], config["kubernetes"]["kubeconfig"], config["journal"]["path"])
        for path in files:
            assert Path(path).is_absolute() and Path(path).parent == tmp_path / ".lab"
        monkeypatch.chdir("/")  # from another folder, the config still works
        status = CliRunner().invoke(app, ["--config", str(tmp_path / ".lab" / "drewburr.yaml"), "status"])
        assert status.exit_code == 0, status.output


def test_lab_up_prints_the_ports_it_chose(tmp_path):
    workdir = tmp_path / "lab"
    proc = subprocess.Popen([*DREWBURR, "lab", "up", "--dir", str(workdir), "--port-base", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        poller = select.poll()  # not select(): a long test run's descriptors pass 1024
        poller.register(proc.stdout, select.POLLIN)
        assert poller.poll(30_000), "lab up said nothing in 30 s"
        first = proc.stdout.readline()
        info = json.loads((workdir / "lab.json").read_text())
        assert f"PVE https://127.0.0.1:{info['pve_port']}" in first
        assert f"Kubernetes https://127.0.0.1:{info['k8s_port']}" in first
        assert info["control_url"] in first
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def test_drewburr_lab_without_a_terminal_says_where_it_is_and_ends_at_eof(tmp_path):
    workdir = tmp_path / "lab"
    done = subprocess.run([*DREWBURR, "lab", "--dir", str(workdir), "--port-base", "0"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"The lab is up in {workdir}: PVE https://127.0.0.1:" in done.stdout
    assert f"DREWBURR_CONFIG={workdir / 'drewburr.yaml'}" in done.stdout
    assert "Traceback" not in done.stderr and not (workdir / "ready").exists()


@pytest.mark.slow
def test_make_lab_passes_args_runs_piped_verbs_and_ends_at_eof(tmp_path):
    """`make lab` as in the README, with ARGS; STAMP= skips the install the venv already has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    done = subprocess.run(["make", "-s", "lab", "STAMP=", f"LAB_DIR={tmp_path / 'lab'}",
                           "ARGS=--port-base 0 --time-scale 10"], cwd=REPO, input="status\n",
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"The lab is up in {tmp_path / 'lab'}" in done.stdout
    assert "drewburr> status" in done.stdout and "PVE: quorate" in done.stdout
    assert json.loads((tmp_path / "lab" / "lab.json").read_text())["time_scale"] == 10
