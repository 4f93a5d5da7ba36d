"""proxmoxer, unmodified, reaches the lab over verified TLS."""

from __future__ import annotations

from proxmoxer import ProxmoxAPI

from tests.conftest import RunningLab


def test_version_through_proxmoxer(running_lab: RunningLab) -> None:
    host, port = running_lab.pve_url.removeprefix("https://").split(":")
    api = ProxmoxAPI(host, port=int(port), user="root@pam", token_name="drewburr",
                     token_value=running_lab.server.token_secret, verify_ssl=running_lab.ca_file)
    assert api.version.get()["release"] == "9.1"
