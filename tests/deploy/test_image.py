"""The image without a container engine: the Dockerfile's build stage run on this machine
(tests/deploy/dockerfile.py), then what the final stage copies from it checked and started.

So a dependency missing from the lock, a stale hash, a folder the Dockerfile forgets to copy or a
broken HEALTHCHECK fails here as it would fail `docker build` or the container."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.deploy.dockerfile import ROOT, BuildStage, copied_from_build, healthcheck_command
from tests.lab.pve_client import wait_for
from tests.tools import free_port

# the lab's and the tests' packages, and the installers the final stage drops (cryptography is in: the
# lab's TLS needs it, and so does asyncssh, a runtime dependency)
LEFT_OUT = ("kubernetes_validate", "pytest", "pip", "setuptools")


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in requirements}


def lock_names(lock: str) -> set[str]:
    return {m[1].lower() for m in re.finditer(r"(?m)^([A-Za-z0-9_.\-]+)==", (ROOT / lock).read_text())}


def pinned_for(lock: str) -> dict[str, set[str]]:
    """Each pinned package and what needs it (pip-compile's `# via` lines)."""
    needs: dict[str, set[str]] = {}
    for block in re.split(r"(?m)^(?=[A-Za-z0-9])", (ROOT / lock).read_text()):
        if match := re.match(r"([A-Za-z0-9_.\-]+)==", block):
            tail = [line.strip("# ") for line in block.split("# via", 1)[-1].splitlines()]
            needs[match[1].lower()] = {line.split()[0].lower() for line in tail if line}
    return needs


def test_the_locks_pin_every_dependency_with_hashes_and_no_lab_one():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pinned = lock_names("requirements.lock")
    missing = names(pyproject["project"]["dependencies"]) - pinned
    assert not missing, f"not in requirements.lock (run make lock): {sorted(missing)}"
    needs = pinned_for("requirements.lock")
    for package in names(pyproject["project"]["optional-dependencies"]["lab"]) & pinned:
        assert needs[package] - {"drewburr"}, f"{package} is in the image only for the lab"
    assert "kubernetes-validate" not in pinned
    build = names(pyproject["build-system"]["requires"])
    assert build <= lock_names("requirements-build.lock"), "run make lock"
    for lock in ("requirements.lock", "requirements-build.lock"):
        assert "--hash=sha256:" in (ROOT / lock).read_text(), lock


@pytest.mark.image
def test_the_build_stage_makes_a_venv_that_serves_and_leaves_the_lab_out(tmp_path: Path):
    stage = BuildStage(tmp_path / "image")
    stage.run()
    (copied,) = copied_from_build()
    venv = stage.path(copied)
    drewburr, python = str(venv / "bin" / "drewburr"), str(venv / "bin" / "python")

    serve = subprocess.run([drewburr, "serve", "--help"], capture_output=True, text=True, timeout=120)
    assert serve.returncode == 0, serve.stderr
    assert "Usage: drewburr serve" in serve.stdout
    probe = f"import importlib.util as u; print([m for m in {LEFT_OUT!r} if u.find_spec(m)])"
    check = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
    assert check.stdout.strip() == "[]", check.stdout + check.stderr
    lab = subprocess.run([drewburr, "lab", "up", "--dir", str(tmp_path / "lab")], capture_output=True,
                         text=True, timeout=120)
    assert lab.returncode == 2 and "drewburr[lab]" in lab.stderr, lab.stderr
    assert not (tmp_path / "lab").exists()
    healthcheck_passes_while_serve_runs(venv, tmp_path)


def healthcheck(venv: Path, port: int) -> int:
    """The final stage's HEALTHCHECK command (its `python` is the venv's, first on the image's PATH)."""
    command = healthcheck_command()
    assert command[0] == "python"
    env = {"PATH": str(venv / "bin"), "DREWBURR_SERVER__PORT": str(port)}
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
