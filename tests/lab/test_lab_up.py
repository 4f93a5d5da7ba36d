"""`drewburr lab up` as a user runs it: a foreground process that writes its files and exits cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml
from kubernetes import client, config


def _wait_ready(workdir: Path, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not (workdir / "ready").exists():
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "lab did not become ready"
        time.sleep(0.05)


@contextmanager
def lab_up(workdir: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`drewburr lab up --dir workdir --port-base 0 *args`, ready; SIGTERM and a 10 s wait on the way out."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "lab", "up", "--dir", str(workdir), "--port-base", "0", *args],
        stderr=subprocess.PIPE)
    try:
        _wait_ready(workdir, proc)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_lab_up_writes_client_files_and_stops_on_sigterm(tmp_path: Path) -> None:
    workdir = tmp_path / "lab"
    with lab_up(workdir, "--time-scale", "10") as proc:
        config = yaml.safe_load((workdir / "drewburr.yaml").read_text())
        assert config["proxmox"]["token_id"] == "root@pam!drewburr"
        assert config["proxmox"]["url"].startswith("https://127.0.0.1:")
        assert Path(config["proxmox"]["ca_file"]).read_text().startswith("-----BEGIN CERTIFICATE")
        assert config["journal"] == {"backend": "sqlite", "path": str(workdir / "journal.sqlite")}
        assert set(config) >= {"proxmox", "kubernetes", "slack", "webhooks", "server", "journal",
                               "permissions", "remediation"}
        # --time-scale 10: lab time runs ten times faster than real time
        status_url = json.loads((workdir / "lab.json").read_text())["control_url"] + "/lab/status"
        before = time.monotonic()
        first = requests.get(status_url, timeout=5).json()["now"]
        time.sleep(0.3)
        second = requests.get(status_url, timeout=5).json()["now"]
        assert 10 * 0.3 <= second - first <= 10 * (time.monotonic() - before)
    assert proc.returncode == 0
    assert not (workdir / "ready").exists()


def test_lab_up_refuses_a_bad_scenario_with_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("blades:\n  - name: blade1\n    cores: many\n")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "lab", "up", "--dir", str(tmp_path / "lab"),
         "--scenario", str(bad)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert f"{bad}:3: blades.0.cores" in proc.stderr


def test_lab_up_writes_a_kubeconfig_for_a_named_service_account(tmp_path: Path) -> None:
    workdir = tmp_path / "lab"
    with lab_up(workdir, "--sa-kubeconfig", "drewburr/drewburr") as proc:
        path = workdir / "kubeconfig-drewburr-drewburr"
        assert yaml.safe_load(path.read_text())["contexts"][0]["context"]["namespace"] == "drewburr"
        api = config.new_client_from_config(config_file=str(path))
        whoami = client.AuthenticationV1Api(api).create_self_subject_review({})
        assert whoami.status.user_info.username == "system:serviceaccount:drewburr:drewburr"
        with pytest.raises(client.ApiException) as denied:  # no Role is bound to it yet
            client.CoreV1Api(api).list_node()
        assert denied.value.status == 403
    assert proc.returncode == 0


def test_lab_up_refuses_a_malformed_service_account(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bot", "lab", "up", "--dir", str(tmp_path / "lab"),
                           "--sa-kubeconfig", "drewburr"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "'drewburr' is not NAMESPACE/NAME" in proc.stderr
