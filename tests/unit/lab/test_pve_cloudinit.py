"""The cloud-init pieces the lab takes from PVE: value formats, ssh keys, the password hash and the
generated files (qemu-server's Cloudinit.pm)."""

from __future__ import annotations

import base64
import struct

import pytest

from lab.pve.civalues import hash_password, sha256_crypt, validate_ssh_public_keys
from lab.pve.cloudinit import configdrive2_network, ipconfig, meta_data, nocloud_network, user_data
from lab.pve.domain import PveError
from lab.pve.formats import FormatError, parse_property_string


def _key(kind: bytes = b"ssh-ed25519", size: int = 32) -> str:
    blob = struct.pack(">I", len(kind)) + kind + struct.pack(">I", size) + bytes(size)
    return f"{kind.decode()} {base64.b64encode(blob).decode()} me@host"


def test_sha256_crypt_matches_the_reference_vector() -> None:
    # Ulrich Drepper's SHA-crypt specification, test vector for "$5$saltstring"
    assert sha256_crypt(b"Hello world!", "saltstring") == \
        "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"


def test_a_password_is_hashed_unless_it_is_a_crypt_hash_already() -> None:
    hashed = hash_password("hunter2", "105:0")
    assert hashed.startswith("$5$") and hashed == hash_password("hunter2", "105:0")
    assert hash_password(hashed, "other") == hashed
    assert hash_password("$1$x", "s") != "$1$x"  # not a whole crypt hash: hashed


@pytest.mark.parametrize("line", [_key(), "from=\"10.0.0.0/8\" " + _key(), _key(b"ssh-rsa", 257)])
def test_public_keys_pass(line: str) -> None:
    validate_ssh_public_keys(line.replace(" ", "%20").replace("/", "%2F"))


@pytest.mark.parametrize("line", ["ssh-ed25519", "ssh-ed25519 !!!", _key(size=31), "ssh-rsa " + _key()[12:],
                                  "ecdsa-sha2-nistp256 AAAA"])
def test_lines_that_are_not_public_keys_fail(line: str) -> None:
    with pytest.raises(PveError, match="SSH public key validation error"):
        validate_ssh_public_keys(line)


def test_property_strings_report_every_bad_key_under_its_path() -> None:
    with pytest.raises(FormatError) as exc:
        parse_property_string("pve-qm-ipconfig", "ip=10.0.0.1/33,gw6=fe80::1", "ipconfig0")
    assert exc.value.message == (
        "format error\nipconfig0.ip: invalid format - value does not look like a valid ipv4 network "
        "configuration\n\nipconfig0.ip6: missing property required by 'ipconfig0.gw6'\n")
    for text, message in [("ip=dhcp,ip=dhcp", "duplicate key in comma-separated list property: ip"),
                          ("ip=", "missing key in comma-separated list property")]:
        with pytest.raises(FormatError, match=message):
            parse_property_string("pve-qm-ipconfig", text)


def test_an_unusable_ipconfig_is_ignored_as_qemu_server_ignores_it() -> None:
    assert ipconfig({"ipconfig0": "gw=10.0.0.1,ip=dhcp"}, 0) is None
    assert ipconfig({"ipconfig0": "ip6=auto,gw6=fe80::1"}, 0) is None
    assert ipconfig({"ipconfig0": "ip=10.0.0.5/24"}, 0) == {"ip": "10.0.0.5/24"}
    assert ipconfig({}, 0) is None


CONF = {"name": "db.example.org", "net0": "virtio=BC:24:11:00:00:69,bridge=vmbr0",
        "net1": "e1000=BC:24:11:00:01:69",
        "ipconfig0": "ip=10.0.0.5/16,gw=10.0.0.1,ip6=2001:db8::5/64,gw6=2001:db8::1", "ipconfig1": "ip=dhcp",
        "ciuser": "root", "ciupgrade": "0", "nameserver": "10.0.0.1 10.0.0.2"}


def test_user_data_for_root_without_upgrades() -> None:
    assert user_data(CONF, 105) == ("#cloud-config\nhostname: db\nmanage_etc_hosts: true\n"
                                    "fqdn: db.example.org\nuser: root\ndisable_root: False\n"
                                    "chpasswd:\n  expire: False\n")


def test_network_config_with_two_interfaces_and_ipv6() -> None:
    assert nocloud_network(CONF) == (
        "version: 1\nconfig:\n"
        "    - type: physical\n      name: eth0\n      mac_address: 'bc:24:11:00:00:69'\n      subnets:\n"
        "      - type: static\n        address: '10.0.0.5'\n        netmask: '255.255.0.0'\n"
        "        gateway: '10.0.0.1'\n      - type: static6\n        address: '2001:db8::5/64'\n"
        "        gateway: '2001:db8::1'\n"
        "    - type: physical\n      name: eth1\n      mac_address: 'bc:24:11:00:01:69'\n      subnets:\n"
        "      - type: dhcp4\n"
        "    - type: nameserver\n      address:\n      - '10.0.0.1'\n      - '10.0.0.2'\n"
        "      search:\n      - 'homelab.lan'\n")
    assert configdrive2_network(CONF).startswith(
        "auto lo\niface lo inet loopback\n\n        dns_nameservers 10.0.0.1 10.0.0.2\n"
        "        dns_search homelab.lan\nauto eth0\niface eth0 inet static\n        address 10.0.0.5\n"
        "        netmask 255.255.0.0\n        gateway 10.0.0.1\niface eth0 inet6 static\n")


def test_windows_guests_get_configdrive2_meta_data() -> None:
    meta = meta_data({**CONF, "ostype": "win11"}, 105)
    assert meta.startswith('{\n     "uuid": "') and '"content_path": "/content/0000"' in meta
    assert meta_data(CONF, 105).startswith("instance-id: ")
