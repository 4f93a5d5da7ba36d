"""What each operation must be allowed to do, as the PVE API schema's permission checks say."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from infra.preflight import pve_needs

SCHEMA = Path(__file__).resolve().parents[3] / "lab" / "pve" / "apidata-pve9.json.gz"


def _check(path: str, method: str) -> list:
    def find(nodes: list) -> dict | None:
        for node in nodes:
            if node.get("path") == path:
                return node
            if (found := find(node.get("children") or [])) is not None:
                return found
        return None

    node = find(json.loads(gzip.decompress(SCHEMA.read_bytes())))
    assert node is not None, path
    return node["info"][method]["permissions"]["check"]


def test_a_drain_needs_what_pve_checks_for_noout_and_each_migration():
    assert pve_needs("drain", ["blade3"], [105, 103, 103]) == [
        ("/", "Sys.Audit"), ("/vms", "VM.Audit"), ("/", "Sys.Modify"), ("/vms/103", "VM.Audit"),
        ("/vms/103", "VM.Migrate"), ("/vms/105", "VM.Audit"), ("/vms/105", "VM.Migrate")]
    assert _check("/nodes/{node}/qemu/{vmid}/status/current", "GET") == ["perm", "/vms/{vmid}", ["VM.Audit"]]
    assert _check("/cluster/ceph/flags/{flag}", "PUT") == ["perm", "/", ["Sys.Modify"]]
    assert _check("/nodes/{node}/qemu/{vmid}/migrate", "POST") == ["perm", "/vms/{vmid}", ["VM.Migrate"]]


def test_a_reboot_also_needs_each_blades_power():
    needs = pve_needs("reboot-all", ["blade1", "blade2"], [])
    assert ("/nodes/blade1", "Sys.PowerMgmt") in needs and ("/nodes/blade2", "Sys.PowerMgmt") in needs
    assert _check("/nodes/{node}/status", "POST") == ["perm", "/nodes/{node}", ["Sys.PowerMgmt"]]


def test_a_token_that_cannot_see_vms_is_refused_even_when_the_blade_looks_empty():
    # /cluster/resources hides unaudited VMs: an empty-looking blade is no proof it is empty
    assert ("/vms", "VM.Audit") in pve_needs("reboot", ["blade3"], [])
    assert ("/", "Sys.Audit") in pve_needs("drain", ["blade3"], [])

