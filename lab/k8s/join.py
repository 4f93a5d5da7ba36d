"""K3s joining: the install command a VM runs through the guest agent, parsed as get.k3s.io reads it.

`curl -sfL https://get.k3s.io | INSTALL_K3S_EXEC='server --node-label a=b' K3S_URL=... K3S_TOKEN=... sh -`
(or the same wrapped in `sh -c`, or with the arguments after `sh -s -`). The role is the first
exec word when it is `server` or `agent`, else agent when K3S_URL is set, else server, as the
install script decides.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field

K3S_VERSION = "v1.31.4+k3s1"


class NotAnInstall(ValueError):
    """The command is not a K3s install."""


class InstallFailed(ValueError):
    """The install script stops with `fatal` (its message is what it writes after `[ERROR]`)."""


@dataclass
class K3sJoin:
    role: str  # server | agent
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    node_name: str | None = None
    server_url: str | None = None
    token: str | None = None

    def node_args(self) -> str:
        """The `k3s.io/node-args` annotation K3s puts on its Node."""
        return json.dumps([self.role, *self.args])


def _taint(text: str) -> dict[str, str]:
    kv, _, effect = text.rpartition(":")
    if not kv or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise NotAnInstall(f"invalid taint {text!r}")
    key, _, value = kv.partition("=")
    return {"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect}


def _flags(words: list[str], join: K3sJoin) -> None:
    it = iter(words)
    for word in it:
        flag, eq, inline = word.partition("=")
        takes_value = flag in (
            "--node-label",
            "--node-taint",
            "--node-name",
            "--server",
            "-s",
            "--token",
            "-t",
        )
        value = inline if eq else (next(it, "") if takes_value else "")
        if flag == "--node-label":
            k, _, v = value.partition("=")
            join.labels[k] = v
        elif flag == "--node-taint":
            join.taints.append(_taint(value))
        elif flag == "--node-name":
            join.node_name = value
        elif flag in ("--server", "-s"):
            join.server_url = value
        elif flag in ("--token", "-t"):
            join.token = value
        if flag in ("--token", "-t"):
            value = "********"  # K3s redacts it in the node-args annotation
            word = f"{flag}={value}"
        join.args.extend([flag, value] if takes_value and not eq else [word])


def parse_install(argv: list[str]) -> K3sJoin:
    """A guest-agent command (argv) as a K3s join; NotAnInstall for anything else."""
    text = argv[-1] if len(argv) >= 3 and argv[1] == "-c" else " ".join(shlex.quote(a) for a in argv)
    if "get.k3s.io" not in text or "|" not in text:
        raise NotAnInstall("not a K3s install")
    try:
        words = shlex.split(text.split("|", 1)[1])
    except ValueError as exc:
        raise NotAnInstall(str(exc)) from None
    env: dict[str, str] = {}
    while words and "=" in words[0] and not words[0].startswith("-"):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if not words or words[0] not in ("sh", "bash"):
        raise NotAnInstall("the install script is not piped to a shell")
    rest = words[1:]
    while rest and rest[0] in ("-", "-s", "-x"):
        rest = rest[1:]
    exec_words = shlex.split(env.get("INSTALL_K3S_EXEC", "")) + rest
    url = env.get("K3S_URL")
    if url and not url.startswith("https://"):
        raise InstallFailed(f"Only https:// URLs are supported for K3S_URL (have {url})")
    if exec_words and not exec_words[0].startswith("-"):
        role = exec_words.pop(0)
    elif not url:
        role = "server"
    elif not env.get("K3S_TOKEN") and not env.get("K3S_TOKEN_FILE"):
        raise InstallFailed(
            "Defaulted k3s exec command to 'agent' because K3S_URL is defined, but K3S_TOKEN "
            "or K3S_TOKEN_FILE is not defined."
        )
    else:
        role = "agent"
    if role not in ("server", "agent"):
        raise NotAnInstall(f"k3s {role} is not a node")
    join = K3sJoin(role=role, server_url=url, token=env.get("K3S_TOKEN"))
    _flags(exec_words, join)
    return join


def install_output(join: K3sJoin) -> str:
    unit = "k3s" if join.role == "server" else "k3s-agent"
    base = f"https://github.com/k3s-io/k3s/releases/download/{K3S_VERSION}"
    lines = [
        "Finding release for channel stable",
        f"Using {K3S_VERSION} as release",
        f"Downloading hash {base}/sha256sum-amd64.txt",
        f"Downloading binary {base}/k3s",
        "Verifying binary download",
        "Installing k3s to /usr/local/bin/k3s",
        "Skipping installation of SELinux RPM",
        *(f"Creating /usr/local/bin/{t} symlink to k3s" for t in ("kubectl", "crictl", "ctr")),
        "Creating killall script /usr/local/bin/k3s-killall.sh",
        f"Creating uninstall script /usr/local/bin/{unit}-uninstall.sh",
        f"env: Creating environment file /etc/systemd/system/{unit}.service.env",
        f"systemd: Creating service file /etc/systemd/system/{unit}.service",
        f"systemd: Enabling {unit} unit",
        f"systemd: Starting {unit}",
    ]
    return "".join(f"[INFO]  {line}\n" for line in lines)
