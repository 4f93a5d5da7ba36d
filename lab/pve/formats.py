"""PVE's named value formats (pve-common's `register_format`, qemu-server's property strings).

A check raises `FormatError` with PVE's wording; `check_format` adds nothing around it, the
caller (validate.py) prefixes "invalid format - " as `check_prop` does. Property strings
(`pve-qm-ipconfig`, `pve-qm-cicustom`) are parsed as `parse_property_string` parses them,
their per-key errors named `PATH.KEY`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

_DNS_LABEL = r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?"
_OCTET = r"(?:25[0-5]|(?:2[0-4]|1[0-9]|[1-9])?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


class FormatError(ValueError):
    """A value PVE's format check dies on: `message` as PVE prints it (ending in a newline)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message if message.endswith("\n") else message + "\n"


def _regex(pattern: str, wording: str) -> Callable[[str], None]:
    regex = re.compile(pattern)

    def check(value: str) -> None:
        if not regex.fullmatch(value):
            raise FormatError(wording.format(value))

    return check


def is_ipv4(value: str) -> bool:
    return bool(_IPV4.fullmatch(value))


def is_ipv6(value: str) -> bool:
    if "%" in value or ":" not in value:  # PVE's IPV6RE has no zone index
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def _cidr(value: str, is_ip: Callable[[str], bool], bits: int) -> bool:
    addr, _, mask = value.partition("/")
    return is_ip(addr) and mask.isdigit() and 7 < int(mask) <= bits


def _check(ok: Callable[[str], bool], wording: str) -> Callable[[str], None]:
    def check(value: str) -> None:
        if not ok(value):
            raise FormatError(wording.format(value))

    return check


_DNS_NAME = re.compile(rf"({_DNS_LABEL}\.)*{_DNS_LABEL}")

# name -> check; a `NAME-list` format checks each item of a PVE list (see validate.py)
SIMPLE: dict[str, Callable[[str], None]] = {
    "pve-node": _regex(_DNS_LABEL, "value does not look like a valid node name"),
    "pve-vmid": _regex(r"[1-9][0-9]{2,8}", "value does not look like a valid VM ID"),
    "pve-storage-id": _regex(r"[a-z][a-z0-9\-_.]*[a-z0-9]", "storage ID '{}' contains illegal characters"),
    "dns-name": _check(lambda v: bool(_DNS_NAME.fullmatch(v)), "value does not look like a valid DNS name"),
    "pve-configid": _regex(r"[a-zA-Z][a-zA-Z0-9_-]+", "invalid configuration ID '{}'"),
    "urlencoded": _regex(r"[-%a-zA-Z0-9_.!~*'()]*", "invalid urlencoded string: {}"),
    "ipv4": _check(is_ipv4, "value does not look like a valid IPv4 address"),
    "ipv6": _check(is_ipv6, "value does not look like a valid IPv6 address"),
    "address": _check(lambda v: is_ipv4(v) or is_ipv6(v) or bool(_DNS_NAME.fullmatch(v)),
                      "value does not look like a valid address: {}"),
    "pve-ipv4-config": _check(lambda v: v in ("dhcp", "manual") or _cidr(v, is_ipv4, 32),
                              "value does not look like a valid ipv4 network configuration"),
    "pve-ipv6-config": _check(lambda v: v in ("auto", "dhcp", "manual") or _cidr(v, is_ipv6, 128),
                              "value does not look like a valid ipv6 network configuration"),
    "pve-volume-id": _regex(r"(?i:[a-z][a-z0-9\-_.]*[a-z0-9]):.+", "unable to parse volume ID '{}'"),
    # pve-ha-manager's PVE::HA::Tools
    "pve-ha-node": _regex(rf"{_DNS_LABEL}(:\d+)?", "value does not look like a valid ha node"),
    "pve-ha-resource-id": _regex(r"[a-z]+:\S+", "value does not look like a valid ha resource id"),
}


@dataclass(frozen=True)
class Key:
    format: str
    requires: str | None = None


# qemu-server's property-string formats (their keys and the named format of each value)
PROPERTY_STRINGS: dict[str, dict[str, Key]] = {
    "pve-qm-ipconfig": {"ip": Key("pve-ipv4-config"), "gw": Key("ipv4", requires="ip"),
                        "ip6": Key("pve-ipv6-config"), "gw6": Key("ipv6", requires="ip6")},
    "pve-qm-cicustom": {k: Key("pve-volume-id") for k in ("meta", "network", "user", "vendor")},
}


def parse_property_string(fmt: str, text: str, path: str = "") -> dict[str, str]:
    """`key=value,...` against a property-string format; FormatError as pve-common words it."""
    keys = PROPERTY_STRINGS[fmt]
    out: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, eq, value = part.partition("=")
        if not eq:
            raise FormatError("value without key, but schema does not define a default key")
        if not key or not value:
            raise FormatError("missing key in comma-separated list property")
        if key in out:
            raise FormatError(f"duplicate key in comma-separated list property: {key}")
        if key not in keys:
            raise FormatError(f"invalid key in comma-separated list property: {key}")
        out[key] = value
    errors: dict[str, str] = {}
    for key, value in out.items():
        name = f"{path}.{key}" if path else key
        try:
            SIMPLE[keys[key].format](value)
        except FormatError as exc:
            errors[name] = f"invalid format - {exc.message}"
        required = keys[key].requires
        if required and required not in out:
            errors[f"{path}.{required}" if path else required] = f"missing property required by '{name}'"
    if errors:  # PVE::Exception's text: the message, then one "key: error" line each
        raise FormatError("format error\n" + "".join(f"{k}: {v}\n" for k, v in sorted(errors.items())))
    return out


def check_format(fmt: str, value: str, path: str, split: Callable[[str], list[str]]) -> None:
    """PVE::JSONSchema::check_format for the formats the lab knows; unknown formats pass."""
    name, is_list = (fmt[:-5], True) if fmt.endswith("-list") else (fmt, False)
    if name in PROPERTY_STRINGS and not is_list:
        parse_property_string(name, value, path)
        return
    check = SIMPLE.get(name)
    if check is None:
        return
    for item in split(value) if is_list else [value]:
        check(item)
