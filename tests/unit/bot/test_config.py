from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config import ConfigError, load_settings

LAB_STYLE = {
    "proxmox": {"url": "https://127.0.0.1:8006", "token_id": "root@pam!drewburr", "token_secret": "abc",
                "ca_file": "/x/pve-ca.pem"},
    "kubernetes": {"kubeconfig": "/x/kubeconfig"},
    "slack": {"mode": "off"},
    "webhooks": {"token": "t"},
    "server": {"host": "127.0.0.1", "port": 8080},
    "journal": {"backend": "sqlite", "path": "journal.sqlite"},
    "permissions": {"read": ["*"], "operate": ["U0123", "@oncall"], "admin": ["U0456"]},
    "remediation": {"mode": "approve", "hold_seconds": 60, "cooldown_seconds": 1800, "paused": False},
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "drewburr.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_files_the_lab_writes_load(tmp_path):
    s = load_settings(write(tmp_path, LAB_STYLE))
    assert s.proxmox.token_secret.get_secret_value() == "abc" and s.proxmox.verify_tls
    assert s.journal.path == tmp_path / "journal.sqlite"  # relative to the file
    assert s.permissions.operate == ["U0123", "@oncall"] and s.prometheus is None
    assert "abc" not in repr(s)


def test_env_overrides_a_key_of_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DREWBURR_PROXMOX__TOKEN_SECRET", "from-env")
    monkeypatch.setenv("DREWBURR_OPERATIONS__MIGRATIONS_PER_NIC", "3")
    s = load_settings(write(tmp_path, LAB_STYLE))
    assert s.proxmox.token_secret.get_secret_value() == "from-env"
    assert s.operations.migrations_per_nic == 3 and s.proxmox.url == "https://127.0.0.1:8006"


def test_the_file_can_come_from_drewburr_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DREWBURR_CONFIG", str(write(tmp_path, LAB_STYLE)))
    assert load_settings().server.port == 8080


@pytest.mark.parametrize(("change", "field"), [
    ({"server": {"port": "high"}}, "server.port"),
    ({"remediation": {"mode": "sometimes"}}, "remediation.mode"),
    ({"proxmox": {**LAB_STYLE["proxmox"], "tokn_secret": "typo"}}, "proxmox.tokn_secret"),
    ({"proxmox": {"url": "https://x", "token_id": "no-realm", "token_secret": "s"}}, "proxmox.token_id"),
    ({"colour": "blue"}, "colour"),
    ({"proxmox": {**LAB_STYLE["proxmox"], "url": "https://"}}, "proxmox.url"),
    ({"proxmox": {**LAB_STYLE["proxmox"], "url": "https://pve1:99999"}}, "proxmox.url"),
    ({"proxmox": {**LAB_STYLE["proxmox"], "url": "pve1:8006"}}, "proxmox.url"),
    ({"prometheus": {"url": "http://:9090"}}, "prometheus.url"),
    ({"journal": {"backend": "etcd"}}, "journal.backend"),
    ({"journal": {"backend": "kubernetes", "namespace": "Drewburr_NS"}}, "journal.namespace"),
    ({"leader": {"enabled": True, "lease_seconds": 10, "renew_seconds": 10}}, "leader"),
    ({"permissions": {"two_person": ["reboot", "nuke"]}}, "permissions.two_person"),
    ({"slack": {"channels": "C0OPS"}}, "slack.channels"),
    ({"remediation": {"blocking_alerts": {"CephDataMigration": True}}}, "remediation.blocking_alerts"),
])
def test_a_bad_file_is_refused_naming_the_field(tmp_path, change, field):
    path = write(tmp_path, {**LAB_STYLE, **change})
    with pytest.raises(ConfigError, match=rf"{path}: {field}:"):
        load_settings(path)


def test_missing_proxmox_section_is_named(tmp_path):
    with pytest.raises(ConfigError, match="proxmox: Field required"):
        load_settings(write(tmp_path, {"server": {"port": 1}}))


def test_unreadable_and_non_yaml_files_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("proxmox: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad)


def test_an_env_section_that_is_not_json_is_refused_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("DREWBURR_PROXMOX", "{not json")
    with pytest.raises(ConfigError, match="DREWBURR_PROXMOX"):
        load_settings(write(tmp_path, LAB_STYLE))


def test_a_bad_env_value_is_refused_naming_the_field(tmp_path, monkeypatch):
    monkeypatch.setenv("DREWBURR_OPERATIONS__MIGRATIONS_PER_NIC", "zero")
    with pytest.raises(ConfigError, match=r"operations\.migrations_per_nic"):
        load_settings(write(tmp_path, LAB_STYLE))


@pytest.mark.parametrize("pattern", ["{name}", "kube", "{vm"])
def test_a_node_pattern_without_vm_is_refused(tmp_path, pattern):
    with pytest.raises(ConfigError, match=r"planner\.node_pattern"):
        load_settings(write(tmp_path, {**LAB_STYLE, "planner": {"node_pattern": pattern}}))


def test_a_bad_env_override_names_the_variable_not_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DREWBURR_PROXMOX__VERIFY_TLS", "maybe")
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, LAB_STYLE))
    assert str(caught.value).startswith("environment DREWBURR_PROXMOX__VERIFY_TLS: proxmox.verify_tls:")
    assert "drewburr.yaml" not in str(caught.value)


def test_two_person_names_the_unknown_verb(tmp_path):
    with pytest.raises(ConfigError, match="unknown verb\\(s\\) nuke; verbs: "):
        load_settings(write(tmp_path, {**LAB_STYLE, "permissions": {"two_person": ["reboot", "nuke"]}}))


@pytest.mark.parametrize(("slack", "missing"), [
    ({"mode": "socket", "bot_token": "xoxb-1"}, "slack.app_token"),
    ({"mode": "socket"}, "slack.bot_token and slack.app_token"),
    ({"mode": "http", "bot_token": "xoxb-1", "app_token": "xapp-1"}, "slack.signing_secret"),
])
def test_missing_slack_credentials_are_named_at_start(tmp_path, slack, missing):
    path = write(tmp_path, {**LAB_STYLE, "slack": slack})
    with pytest.raises(ConfigError, match=rf"{path}: slack: .*mode {slack['mode']} needs {missing}$"):
        load_settings(path)
