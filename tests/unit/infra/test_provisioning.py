"""Provisioning's pure parts: sshkeys as PVE decodes them, where a new VM goes, the checks on a
name and an address, and lock keys."""

from __future__ import annotations

from urllib.parse import unquote, urlencode

import pytest

from infra import locks
from infra.gateways.pve_guests import encode_sshkeys
from infra.journal import Locked
from infra.operations.provision_check import Ask, Refusal, check_name, ipconfig, next_name
from infra.operations.provision_spec import ProvisionOptions
from infra.placement import choose_blade
from infra.topology import GIB

from .homelab import homelab

KEYS = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9+/x= ops@homelab\n"
        "ssh-rsa AAAAB3NzaC1yc2E+AAA/Q== dev:laptop@home")


def test_sshkeys_are_uri_escaped_so_pve_decodes_them_to_the_keys() -> None:
    encoded = encode_sshkeys(KEYS)
    assert not set(" +/=@:\n") & set(encoded)  # spaces as %20, and + / = @ : encoded too
    assert "%20" in encoded and "%2B" in encoded and "%2F" in encoded and "%3D" in encoded
    assert "%40" in encoded and "%3A" in encoded
    form = urlencode({"sshkeys": encoded})  # the form encoding escapes each % once more
    assert unquote(unquote(form.split("=", 1)[1])) == KEYS


def test_an_agent_goes_where_most_memory_is_free() -> None:
    placed = choose_blade(homelab(), 4 * GIB, server=False, headroom_gib=1)
    # blade1 and blade2 hold 4 GiB each, blade3 10, blade4 6: the tie goes to blade2
    assert placed.blade == "blade2" and placed.free["blade3"] == 5 * GIB


def test_a_server_goes_on_a_blade_without_one() -> None:
    assert choose_blade(homelab(), 2 * GIB, server=True, headroom_gib=1).blade == "blade4"
    refused = choose_blade(homelab(), 2 * GIB, server=True, headroom_gib=1, wanted="blade1")
    assert refused.blade is None and "servers go on distinct blades" in refused.reason


def test_blades_in_maintenance_or_too_full_are_not_chosen() -> None:
    snap = homelab()
    snap.blades["blade2"].maintenance = True
    assert choose_blade(snap, 4 * GIB, False, 1).blade == "blade1"
    full = choose_blade(snap, 12 * GIB, False, 1)
    assert full.blade is None and "the most is 11.0 GiB" in full.reason
    assert "offline, unhealthy or in maintenance" in choose_blade(snap, GIB, False, 1, "blade2").reason


@pytest.mark.parametrize(("rule", "blade"), [
    ({"rule": "r", "type": "node-affinity", "nodes": "blade3:2,blade4"}, "blade4"),
    ({"rule": "r", "type": "resource-affinity", "affinity": "negative", "resources": "vm:101,vm:102"},
     "blade4"),
    ({"rule": "r", "type": "resource-affinity", "affinity": "positive", "resources": "vm:103"}, "blade3"),
])
def test_the_ha_rule_the_vm_joins_is_honoured(rule: dict, blade: str) -> None:
    assert choose_blade(homelab(), 2 * GIB, False, 1, rule=rule).blade == blade


@pytest.mark.parametrize("name", ["Kube06", "kube_06", "-kube", "kube-", "k" * 64, ""])
def test_names_must_be_dns_labels(name: str) -> None:
    with pytest.raises(Refusal, match="is not a DNS label"):
        check_name(name)


def test_the_next_name_follows_the_highest_taken() -> None:
    assert next_name("kube{n:02d}", {"kube01", "kube02", "kube05", "ubuntu"}) == "kube06"
    assert next_name("kube{n:02d}", set()) == "kube01"


OPTS = ProvisionOptions(template="t", subnet="192.168.1.0/24", gateway="192.168.1.1")


@pytest.mark.parametrize(("ask", "expected"), [
    (Ask(), "ip=dhcp"), (Ask(dhcp=True), "ip=dhcp"),
    (Ask(ip="192.168.1.126/24"), "ip=192.168.1.126/24,gw=192.168.1.1"),
    (Ask(ip="192.168.1.126/24", gw="192.168.1.254"), "ip=192.168.1.126/24,gw=192.168.1.254"),
])
def test_addresses_resolve_to_ipconfig0(ask: Ask, expected: str) -> None:
    assert ipconfig(ask, OPTS, {}) == expected


@pytest.mark.parametrize(("ask", "reason"), [
    (Ask(ip="10.0.0.5/24"), "outside provision.subnet 192.168.1.0/24"),
    (Ask(ip="192.168.1.121/24"), "is in use (node kube01)"),
    (Ask(ip="192.168.1.126"), "needs its prefix"),
    (Ask(ip="192.168.1.255/24"), "network or broadcast address"),
    (Ask(ip="192.168.1.126/24", gw="10.0.0.1"), "is not another address of 192.168.1.0/24"),
    (Ask(ip="not-an-ip/24"), "--ip must be an IPv4 address"),
    (Ask(ip="192.168.1.126/24", dhcp=True), "exclude each other"),
    (Ask(gw="192.168.1.1"), "--gw goes with --ip"),
])
def test_bad_addresses_are_refused_with_the_reason(ask: Ask, reason: str) -> None:
    with pytest.raises(Refusal, match=reason.replace("(", r"\(").replace(")", r"\)")):
        ipconfig(ask, OPTS, {"192.168.1.121": "node kube01"})


def test_lock_keys_say_what_they_lock() -> None:
    assert [locks.blade("blade3"), locks.vm("kube06"), locks.vmid(106), locks.CLUSTER] == [
        "blade:blade3", "vm:kube06", "vmid:106", "cluster"]
    assert str(Locked("blade:blade2", 1, "drain")).startswith("blade2 is locked by operation 1 (drain)")
    assert str(Locked("vm:kube06", 4, "provision")).startswith("VM kube06 is locked by operation 4")
    assert locks.describe("vmid:106") == "VMID 106" and locks.describe("cluster") == "the cluster"
