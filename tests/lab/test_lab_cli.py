"""`drewburr lab fault` and `drewburr lab status` as a user runs them against `drewburr lab up`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException
from typer.testing import CliRunner

from lab.cli import app
from tests.lab.pve_client import vm_resource, wait_for
from tests.lab.test_lab_up import _wait_ready


def _drewburr(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}  # rich wraps table cells at 80 columns without a terminal
    return subprocess.run([sys.executable, "-m", "bot", "lab", *args], capture_output=True, text=True,
                          timeout=60, env=env)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    workdir = tmp_path_factory.mktemp("cli") / "lab"
    proc = subprocess.Popen([sys.executable, "-m", "bot", "lab", "up", "--dir", str(workdir),
                             "--port-base", "0", "--time-scale", "50"], stderr=subprocess.PIPE)
    try:
        _wait_ready(workdir, proc)
        yield workdir
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_fault_then_status_shows_the_down_osd(workdir: Path) -> None:
    done = _drewburr("fault", "--dir", str(workdir), "osd-down", "blade2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "osd.1 stopped"
    status = _drewburr("status", "--dir", str(workdir))
    assert status.returncode == 0, status.stderr
    for text in ("blade2", "osd.1 down/in", "kube05", "HEALTH_WARN", "OSD_DOWN", "1 osds down"):
        assert text in status.stdout
    assert _drewburr("fault", "--dir", str(workdir), "osd-up", "osd.1").returncode == 0


def test_an_unknown_fault_exits_2_listing_the_faults(workdir: Path) -> None:
    done = _drewburr("fault", "--dir", str(workdir), "unplug", "blade2")
    assert done.returncode == 2
    assert "unknown fault 'unplug'; faults: power-off, power-on, osd-down, osd-up" in done.stderr


def test_an_unknown_blade_exits_2_listing_the_blades(workdir: Path) -> None:
    done = _drewburr("fault", "--dir", str(workdir), "power-off", "blade7")
    assert done.returncode == 2
    assert "unknown blade 'blade7'; blades: blade1, blade2, blade3, blade4" in done.stderr


def test_power_off_and_on_through_the_cli_as_proxmoxer_sees_it(workdir: Path) -> None:
    config = yaml.safe_load((workdir / "drewburr.yaml").read_text())["proxmox"]
    host, port = config["url"].removeprefix("https://").split(":")
    api = ProxmoxAPI(host, port=int(port), user="root@pam", token_name="drewburr",
                     token_value=config["token_secret"], verify_ssl=config["ca_file"])
    assert _drewburr("fault", "--dir", str(workdir), "power-off", "blade4").returncode == 0
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade4").status.get()
    assert exc.value.status_code == 595
    assert vm_resource(api, 104)["status"] == "stopped"
    done = _drewburr("fault", "--dir", str(workdir), "power-on", "blade4")
    assert (done.returncode, done.stdout.strip()) == (0, "blade4 powered on (online after the boot time)")
    wait_for(lambda: next(n for n in api.nodes.get() if n["node"] == "blade4")["status"] == "online",
             10, "blade4 booted")
    assert api.nodes("blade4").status.get()["uptime"] < 60


def test_without_a_running_lab_the_cli_says_so(tmp_path: Path) -> None:
    done = _drewburr("status", "--dir", str(tmp_path))
    assert done.returncode == 2
    assert f"no lab in {tmp_path}" in done.stderr
    (tmp_path / "lab.json").write_text('{"control_url": "http://127.0.0.1:9"}')
    done = _drewburr("fault", "--dir", str(tmp_path), "lose-quorum")
    assert done.returncode == 1
    assert "is not running" in done.stderr


@pytest.mark.parametrize("args", [("--time-scale", "nan"), ("--time-scale", "inf"), ("--time-scale", "0"),
                                  ("--port-base", "70000")])
def test_lab_up_refuses_bad_flags_with_exit_2(tmp_path: Path, args: tuple[str, str]) -> None:
    done = CliRunner().invoke(app, ["up", "--dir", str(tmp_path / "lab"), *args])
    assert done.exit_code == 2
    assert "Invalid value for" in done.output


def test_lab_up_refuses_a_dir_it_cannot_create(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    done = CliRunner().invoke(app, ["up", "--dir", str(tmp_path / "file" / "lab"), "--port-base", "0"])
    assert done.exit_code == 2
    assert f"error: cannot use {tmp_path / 'file' / 'lab'} for the lab's files" in done.output
