"""The image without a container engine: what the Dockerfile's build stage does, in a fresh virtualenv.

The build stage installs requirements.lock with `--require-hashes`, then the project with `--no-deps`
from the files it COPYs; here the same, so a dependency missing from the lock, a stale hash or a
folder the Dockerfile forgets to copy fails this test as it would fail `docker build`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.lab.pve_client import wait_for
from tests.tools import free_port

ROOT = Path(__file__).resolve().parents[2]
LEFT_OUT = ("cryptography", "kubernetes_validate", "pytest")  # the lab's and the tests' packages


def build_stage_copies() -> list[str]:
    """The sources of the build stage's COPY lines (the first FROM up to the second)."""
    stages = re.split(r"(?m)^FROM ", (ROOT / "Dockerfile").read_text())
    sources: list[str] = []
    for line in stages[1].splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            sources += line.split()[1:-1]
    return sources


def lock_names() -> set[str]:
    text = (ROOT / "requirements.lock").read_text()
    return {m[1].lower() for m in re.finditer(r"(?m)^([A-Za-z0-9_.\-]+)==", text)}


def test_the_lock_pins_every_runtime_dependency_and_no_lab_one():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    pinned = lock_names()
    assert names <= pinned, f"not in requirements.lock (run make lock): {sorted(names - pinned)}"
    lab_only = {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower()
                for d in project["optional-dependencies"]["lab"]}
    assert not lab_only & pinned, f"lab-only packages in the image's lock: {lab_only & pinned}"
    assert "--hash=sha256:" in (ROOT / "requirements.lock").read_text()


@pytest.mark.image
def test_the_locked_install_runs_serve_and_leaves_the_lab_out(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    for name in build_stage_copies():
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, src / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-cache-dir"]
    lock = str(src / "requirements.lock")
    locked = subprocess.run([*pip, "--require-hashes", "--only-binary=:all:", "-r", lock],
                            capture_output=True, text=True, timeout=900)
    assert locked.returncode == 0, locked.stderr[-3000:]
    own = subprocess.run([*pip, "--no-deps", str(src)], capture_output=True, text=True, timeout=300)
    assert own.returncode == 0, own.stderr[-3000:]

    drewburr = str(venv / "bin" / "drewburr")
    serve = subprocess.run([drewburr, "serve", "--help"], capture_output=True, text=True, timeout=120)
    assert serve.returncode == 0, serve.stderr
    assert "Usage: drewburr serve" in serve.stdout
    probe = f"import importlib.util as u; print([m for m in {LEFT_OUT!r} if u.find_spec(m)])"
    check = subprocess.run([str(venv / "bin" / "python"), "-c", probe], capture_output=True, text=True,
                           timeout=60)
    assert check.stdout.strip() == "[]", check.stdout + check.stderr
    lab = subprocess.run([drewburr, "lab", "up", "--dir", str(tmp_path / "lab")], capture_output=True,
                         text=True, timeout=120)
    assert lab.returncode == 2 and "drewburr[lab]" in lab.stderr, lab.stderr
    assert not (tmp_path / "lab").exists()
    healthcheck_passes_while_serve_runs(venv, tmp_path)


def healthcheck(venv: Path, port: int) -> int:
    """The Dockerfile's HEALTHCHECK command (its python is the venv's), against `port`."""
    match = re.search(r"(?ms)^HEALTHCHECK .*?CMD (\[.*?\])$", (ROOT / "Dockerfile").read_text())
    assert match, "no HEALTHCHECK ... CMD [...] in the Dockerfile"
    command = json.loads(match[1])
    assert command[0] == "python"
    env = {**os.environ, "DREWBURR_SERVER__PORT": str(port)}
    return subprocess.run([str(venv / "bin" / "python"), *command[1:]], env=env, capture_output=True,
                          timeout=30).returncode


def healthcheck_passes_while_serve_runs(venv: Path, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "drewburr.yaml"
    config.write_text(yaml.safe_dump({
        "proxmox": {"url": f"https://127.0.0.1:{free_port()}", "token_id": "drewburr@pve!bot",
                    "token_secret": "x"},
        "slack": {"mode": "off"}, "server": {"host": "127.0.0.1", "port": port},
        "journal": {"path": str(tmp_path / "journal.sqlite")}}))
    serve = subprocess.Popen([str(venv / "bin" / "drewburr"), "--config", str(config), "serve"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: serve.poll() is not None or healthcheck(venv, port) == 0, timeout=60,
                        what="the HEALTHCHECK to pass")
        assert serve.poll() is None, "serve stopped"
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert healthcheck(venv, port) != 0  # and it fails once nothing answers
