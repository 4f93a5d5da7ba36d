"""The cloud-init files qemu-server generates from a guest's config (PVE/QemuServer/Cloudinit.pm):
user-data, network-config (nocloud v1, or configdrive2's ENI text) and meta-data, as
`GET .../cloudinit/dump` shows them and the guest reads them at boot.

`conf` is the guest's config as PVE writes it (`name`, `net0`, `ipconfig0`, `ci*`, ...).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any
from urllib.parse import unquote

from lab.pve.civalues import MASK
from lab.pve.formats import FormatError, parse_property_string

# The blades' /etc/resolv.conf: what a guest gets when its config sets neither value
HOST_SEARCH = "homelab.lan"
HOST_NAMESERVERS = ("10.0.0.1",)
# Options `GET .../cloudinit` lists (qemu-server's $cloudinitoptions), and those whose change on a
# running guest is recorded as not yet in its cloud-init drive (cloudinit_pending_properties)
OPTIONS = ("cicustom", "cipassword", "citype", "ciuser", "ciupgrade", "nameserver", "searchdomain",
           "sshkeys")
_NETS = re.compile(r"net(\d+)")
_MAC = re.compile(r"(?i)([0-9a-f]{2}:){5}[0-9a-f]{2}")
_RECORDED = re.compile(r"(net|ipconfig)\d+")


def recorded(key: str) -> bool:
    """Whether a change of `key` makes the guest's cloud-init drive out of date."""
    return key in OPTIONS or key == "name" or bool(_RECORDED.fullmatch(key))


def is_windows(ostype: object) -> bool:
    """qemu-server's windows_version, as a yes or no."""
    text = str(ostype or "")
    return text in ("wxp", "w2k", "w2k3", "w2k8", "wvista") or bool(re.fullmatch(r"win\d+", text))


def cloudinit_format(conf: dict[str, Any]) -> str:
    """`citype`, else configdrive2 for Windows guests (cloudbase-init) and nocloud for others."""
    if conf.get("citype"):
        return str(conf["citype"])
    return "configdrive2" if is_windows(conf.get("ostype")) else "nocloud"


def hostname_fqdn(conf: dict[str, Any], vmid: int) -> tuple[str, str]:
    hostname = str(conf.get("name") or f"VM{vmid}")
    if "." in hostname:
        return hostname.split(".")[0], hostname
    search = conf.get("searchdomain")
    return hostname, f"{hostname}.{search}" if search else hostname


def _dns(conf: dict[str, Any]) -> tuple[list[str], list[str]]:
    search = str(conf.get("searchdomain") or HOST_SEARCH).split()
    servers = conf.get("nameserver")
    return search, list(HOST_NAMESERVERS) if servers is None else str(servers).split()


def user_data(conf: dict[str, Any], vmid: int, mask_password: bool = False) -> str:
    hostname, fqdn = hostname_fqdn(conf, vmid)
    lines = ["#cloud-config", f"hostname: {hostname}", "manage_etc_hosts: true", f"fqdn: {fqdn}"]
    user = conf.get("ciuser")
    if user is not None:
        lines.append(f"user: {user}")
        if user == "root":
            lines.append("disable_root: False")
    if conf.get("cipassword") is not None:
        lines.append(f"password: {MASK if mask_password else conf['cipassword']}")
    if conf.get("sshkeys") is not None:
        lines.append("ssh_authorized_keys:")
        lines += [f"  - {k}" for k in unquote(str(conf["sshkeys"])).split("\n") if k.strip()]
    lines += ["chpasswd:", "  expire: False"]
    if user != "root":
        lines += ["users:", "  - default"]
    if str(conf.get("ciupgrade", "1")) not in ("0", "false", "off", "no"):
        lines.append("package_upgrade: true")
    return "\n".join(lines) + "\n"


def ipconfig(conf: dict[str, Any], index: int) -> dict[str, str] | None:
    """qemu-server's parse_ipconfig: None when unset or unusable (a guest then falls back to DHCP)."""
    text = conf.get(f"ipconfig{index}")
    if not text:
        return None
    try:
        parsed = parse_property_string("pve-qm-ipconfig", str(text))
    except FormatError:
        return None
    if ("gw" in parsed and parsed.get("ip") == "dhcp") or \
            ("gw6" in parsed and parsed.get("ip6") in ("auto", "dhcp")):
        return None  # a gateway with DHCP or SLAAC: qemu-server warns and ignores the interface
    return parsed or {"ip": "dhcp", "ip6": "dhcp"}


def _interfaces(conf: dict[str, Any]) -> list[tuple[int, str, dict[str, str]]]:
    """(index, MAC, ipconfig) of each netN that has an ipconfigN, in PVE's (string) order."""
    out = []
    for key in sorted(k for k in conf if _NETS.fullmatch(k)):
        index = int(key[3:])
        parsed = ipconfig(conf, index)
        if parsed is None:
            continue
        # `virtio=MAC` is an alias of `macaddr`
        mac = next((v for v in re.split(r"[,=]", str(conf[key])) if _MAC.fullmatch(v)), "")
        out.append((index, mac, parsed))
    return out


def _netmask(cidr: str) -> tuple[str, str]:
    iface = ipaddress.IPv4Interface(cidr)
    return str(iface.ip), str(iface.netmask)


def nocloud_network(conf: dict[str, Any]) -> str:
    """network-config, version 1, as qemu-server writes it for the nocloud format."""
    out = ["version: 1", "config:"]
    i = "    "
    for index, mac, net in _interfaces(conf):
        out += [f"{i}- type: physical", f"{i}  name: eth{index}", f"{i}  mac_address: '{mac.lower()}'",
                f"{i}  subnets:"]
        j = i + "  "
        ip, ip6 = net.get("ip"), net.get("ip6")
        if ip == "dhcp":
            out.append(f"{j}- type: dhcp4")
        elif ip is not None and ip != "manual":
            addr, mask = _netmask(ip)
            out += [f"{j}- type: static", f"{j}  address: '{addr}'", f"{j}  netmask: '{mask}'"]
            if "gw" in net:
                out.append(f"{j}  gateway: '{net['gw']}'")
        if ip6 == "dhcp":
            out.append(f"{j}- type: dhcp6")
        elif ip6 == "auto":
            out.append(f"{j}- type: ipv6_slaac")
        elif ip6 is not None and ip6 != "manual":
            out += [f"{j}- type: static6", f"{j}  address: '{ip6}'"]
            if "gw6" in net:
                out.append(f"{j}  gateway: '{net['gw6']}'")
    search, servers = _dns(conf)
    out.append(f"{i}- type: nameserver")  # always: PVE tests the lists themselves, never empty refs
    if servers:
        out += [f"{i}  address:", *(f"{i}  - '{s}'" for s in servers)]
    if search:
        out += [f"{i}  search:", *(f"{i}  - '{s}'" for s in search)]
    return "\n".join(out) + "\n"


def configdrive2_network(conf: dict[str, Any]) -> str:
    """The ENI text configdrive2 carries (also what `dump` shows for opennebula)."""
    out = ["auto lo", "iface lo inet loopback", ""]
    search, servers = _dns(conf)
    if servers:
        out.append(f"        dns_nameservers {' '.join(servers)}")
    if search:
        out.append(f"        dns_search {' '.join(search)}")
    for index, _mac, net in _interfaces(conf):
        out.append(f"auto eth{index}")
        ip, ip6 = net.get("ip"), net.get("ip6")
        if ip == "dhcp":
            out.append(f"iface eth{index} inet dhcp")
        elif ip and ip != "manual":
            addr, mask = _netmask(ip)
            out += [f"iface eth{index} inet static", f"        address {addr}", f"        netmask {mask}"]
            if "gw" in net:
                out.append(f"        gateway {net['gw']}")
        if ip6 in ("auto", "dhcp"):
            out.append(f"iface eth{index} inet6 {ip6}")
        elif ip6 and ip6 != "manual":
            addr6, _, mask6 = ip6.partition("/")
            out += [f"iface eth{index} inet6 static", f"        address {addr6}", f"        netmask {mask6}"]
            if "gw6" in net:
                out.append(f"        gateway {net['gw6']}")
    return "\n".join(out) + "\n"


def network_config(conf: dict[str, Any]) -> str:
    return nocloud_network(conf) if cloudinit_format(conf) == "nocloud" else configdrive2_network(conf)


def meta_data(conf: dict[str, Any], vmid: int) -> str:
    """The instance id is the SHA-1 of the (unmasked) user-data and network-config."""
    uuid = hashlib.sha1((user_data(conf, vmid) + network_config(conf)).encode()).hexdigest()
    if cloudinit_format(conf) == "nocloud":
        return f"instance-id: {uuid}\n"
    return f'{{\n     "uuid": "{uuid}",\n     "network_config": {{ "content_path": "/content/0000" }}\n}}\n'


def dump(conf: dict[str, Any], vmid: int, kind: str, mask_password: bool = False) -> str:
    """`GET .../cloudinit/dump?type=user|network|meta`."""
    if kind == "user":
        return user_data(conf, vmid, mask_password)
    return network_config(conf) if kind == "network" else meta_data(conf, vmid)
