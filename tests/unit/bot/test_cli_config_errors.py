"""Bad configuration on the command line: exit 2 naming the field (1: PVE unreachable), no traceback."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app
from bot.cli_ops import build_context
from bot.config import load_settings

from .test_config import LAB_STYLE


def run(tmp_path, data: dict, *args: str, env: dict | None = None):
    path = tmp_path / "drewburr.yaml"
    path.write_text(yaml.safe_dump(data))
    return CliRunner().invoke(app, ["--config", str(path), *args], env=env)


def with_files(tmp_path, **journal) -> dict:
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked before a call")
    proxmox = {**LAB_STYLE["proxmox"], "url": "https://127.0.0.1:1", "ca_file": str(ca)}
    return {**LAB_STYLE, "proxmox": proxmox, "kubernetes": {},
            "journal": {"path": str(journal.get("path", tmp_path / "j.sqlite"))}}


def assert_refused(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, Exception), result.exception  # SystemExit(2) only
    for word in words:
        assert word in result.output


def test_a_missing_ca_file_is_named(tmp_path):
    data = with_files(tmp_path)
    data["proxmox"]["ca_file"] = str(tmp_path / "absent.pem")
    assert_refused(run(tmp_path, data, "status"), "proxmox.ca_file", "absent.pem")


@pytest.mark.parametrize("verb", [["status"], ["drain", "blade3", "--yes"], ["ops", "list"]])
def test_a_corrupt_journal_is_refused_before_anything_runs(tmp_path, verb):
    corrupt = tmp_path / "j.sqlite"
    corrupt.write_text("garbage " * 100)
    assert_refused(run(tmp_path, with_files(tmp_path), *verb), "journal.path", "not a database")


@pytest.mark.parametrize("content", ["just a string\n", "clusters: [unclosed\n", "clusters: 3\n"])
def test_a_kubeconfig_that_is_not_one_is_refused(tmp_path, content):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(content)
    data = {**with_files(tmp_path), "kubernetes": {"kubeconfig": str(kubeconfig)}}
    assert_refused(run(tmp_path, data, "status"), "kubernetes")


def test_a_journal_path_that_is_a_directory_is_refused(tmp_path):
    assert_refused(run(tmp_path, with_files(tmp_path, path=tmp_path), "ops"), "journal.path")


def test_an_env_section_that_is_not_json_is_refused(tmp_path):
    result = run(tmp_path, with_files(tmp_path), "status", env={"DREWBURR_PROXMOX": "{bad"})
    assert_refused(result, "DREWBURR_PROXMOX")


def test_a_bad_node_pattern_is_refused(tmp_path):
    data = {**with_files(tmp_path), "planner": {"node_pattern": "{name}"}}
    assert_refused(run(tmp_path, data, "status"), "planner.node_pattern")


def test_an_unreachable_pve_fails_with_exit_1_and_says_what_to_check(tmp_path):
    result = run(tmp_path, with_files(tmp_path), "status")  # https://127.0.0.1:1: nothing listens
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception), result.exception
    assert "check proxmox.url" in result.output
    (line,) = result.output.splitlines()  # one line: what, where, what to check; no library repr
    assert line.startswith("error: PVE at https://127.0.0.1:1: no answer")
    assert "no answer (Connection refused)" in line and "MaxRetryError" not in line and len(line) < 200


def test_the_operations_and_planner_sections_reach_the_operations(tmp_path):
    operations = {"eviction_retry_seconds": 7, "drain_timeout_seconds": 70, "migrations_per_nic": 3,
                  "migration_timeout_seconds": 90, "poll_seconds": 0.5, "boot_timeout_seconds": 120}
    data = {**with_files(tmp_path), "operations": operations,
            "planner": {"headroom_gib": 4, "node_pattern": "k-{vm}"}}
    path = tmp_path / "drewburr.yaml"
    path.write_text(yaml.safe_dump(data))
    options = build_context(load_settings(path), admin_override=True).options
    assert {k: getattr(options, k) for k in operations} == operations
    assert options.headroom_gib == 4 and options.node_pattern == "k-{vm}" and options.allow_more_maintenance


def test_the_kubernetes_journal_without_a_cluster_is_refused(tmp_path):
    data = {**with_files(tmp_path), "journal": {"backend": "kubernetes"}}
    assert_refused(run(tmp_path, data, "ops", "list"),
                   "journal.backend: kubernetes needs kubernetes.kubeconfig")
