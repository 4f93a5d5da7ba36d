"""K3s joining, pure parts: what get.k3s.io's install script makes of its environment and
arguments (`setup_env`), and the flags `k3s server` / `k3s agent` accept (urfave/cli).

`curl -sfL https://get.k3s.io | INSTALL_K3S_EXEC='server --node-label a=b' K3S_TOKEN=... sh -s - ...`:
the role is the first exec word when it is a command, else agent when K3S_URL is set, else
server. INSTALL_K3S_EXEC is split on blanks (the script escapes its quotes). K3S_URL,
K3S_TOKEN and K3S_NODE_NAME reach K3s as its `--server`, `--token` and `--node-name`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

K3S_VERSION = "v1.31.4+k3s1"
_ALIASES = {"-s": "--server", "-t": "--token", "-i": "--node-ip", "-d": "--data-dir", "-c": "--config"}
_COMMON_VALUES = frozenset({
    "--server", "--token", "--token-file", "--node-name", "--node-label", "--node-taint", "--node-ip",
    "--node-external-ip", "--kubelet-arg", "--kube-proxy-arg", "--data-dir", "--config", "--flannel-iface",
    "--resolv-conf", "--private-registry", "--pause-image", "--snapshotter", "--lb-server-port",
    "--default-runtime", "--vpn-auth", "--system-default-registry",
})
_COMMON_BOOLS = frozenset({"--debug", "--with-node-id", "--protect-kernel-defaults", "--selinux",
                           "--rootless", "--prefer-bundled-bin", "--docker"})
_SERVER_VALUES = frozenset({
    "--disable", "--tls-san", "--write-kubeconfig-mode", "--write-kubeconfig", "--cluster-cidr",
    "--service-cidr", "--cluster-dns", "--cluster-domain", "--datastore-endpoint", "--advertise-address",
    "--bind-address", "--flannel-backend", "--kube-apiserver-arg", "--kube-controller-manager-arg",
    "--kube-scheduler-arg", "--agent-token", "--etcd-snapshot-schedule-cron", "--egress-selector-mode",
    "--https-listen-port",
})
_SERVER_BOOLS = frozenset({
    "--cluster-init", "--etcd-expose-metrics", "--disable-cloud-controller", "--disable-network-policy",
    "--disable-kube-proxy", "--disable-helm-controller", "--secrets-encryption", "--cluster-reset",
    "--disable-scheduler", "--disable-etcd", "--disable-apiserver", "--disable-controller-manager",
    "--embedded-registry",
})
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class InstallFailed(ValueError):
    """The install script stops with `fatal` (its message is what it writes after `[ERROR]`)."""


class FlagError(ValueError):
    """K3s refuses its command line and exits at once (urfave/cli's wording)."""


@dataclass
class K3sJoin:
    role: str  # server | agent
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)
    args: list[str] = field(default_factory=list)  # the command line, token redacted
    node_name: str | None = None
    server_url: str | None = None
    token: str | None = None
    token_file: str | None = None
    cluster_init: bool = False
    disable: list[str] = field(default_factory=list)
    tls_san: list[str] = field(default_factory=list)
    etcd_expose_metrics: bool = False
    kubeconfig_mode: str | None = None
    # how the service fares, in lab time (lab/k8s/guest.py decides)
    started_at: float = -math.inf  # systemd starts the unit
    ready_at: float = -math.inf  # it told systemd READY=1 (the install script's `systemctl restart` returns)
    registers_at: float = -math.inf  # its Node appears
    cni_at: float = -math.inf  # flannel is up: the Node turns Ready
    failure: str | None = None  # what it logs when it never joins
    fatal: bool = False  # it exits (and systemd restarts it) instead of retrying in-process
    retry: bool = False  # its server did not answer: it tries again (lab/k8s/k3s_fate.py)
    past_failure: str | None = None  # what it logged until it got through, at `failed_until`
    past_fatal: bool = False
    failed_until: float = -math.inf
    pid: int = 0

    @property
    def unit(self) -> str:
        return "k3s" if self.role == "server" else "k3s-agent"

    def node_args(self) -> str:
        """The `k3s.io/node-args` annotation K3s puts on its Node."""
        return json.dumps([self.role, *self.args])

    def registered(self, now: float) -> bool:
        return self.failure is None and now >= self.registers_at


def parse_taint(text: str) -> dict[str, str]:
    kv, _, effect = text.rpartition(":")
    key, _, value = kv.partition("=")
    if not key or effect not in TAINT_EFFECTS:
        raise FlagError(f"failed to parse taints: invalid taint spec: {text}")
    return {"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect}


def parse_flags(role: str, words: list[str], env: dict[str, str]) -> K3sJoin:
    """`k3s ROLE WORDS...` as K3s parses it; FlagError for what it refuses."""
    join = K3sJoin(role=role, server_url=env.get("K3S_URL") or None, token=env.get("K3S_TOKEN") or None,
                   token_file=env.get("K3S_TOKEN_FILE") or None,
                   node_name=env.get("K3S_NODE_NAME") or None, kubeconfig_mode=env.get("K3S_KUBECONFIG_MODE"))
    values = _COMMON_VALUES | (_SERVER_VALUES if role == "server" else frozenset())
    bools = _COMMON_BOOLS | (_SERVER_BOOLS if role == "server" else frozenset())
    it = iter(words)
    for word in it:
        if not word.startswith("-"):
            raise FlagError(f"unexpected argument: {word}")
        raw, eq, inline = word.partition("=")
        flag = _ALIASES.get(raw, raw if raw.startswith("--") else "-" + raw)
        if flag in bools:
            join.args.append(word)
            _set_bool(join, flag, inline.lower() not in ("false", "0") if eq else True)
            continue
        if flag not in values:
            raise FlagError(f"flag provided but not defined: -{raw.lstrip('-')}")
        value = inline if eq else next(it, None)
        if value is None:
            raise FlagError(f"flag needs an argument: -{raw.lstrip('-')}")
        _set_value(join, flag, value)
        shown = "********" if flag == "--token" else value  # K3s redacts it in node-args
        join.args.extend([raw, shown] if not eq else [f"{raw}={shown}"])
    return join


def _set_bool(join: K3sJoin, flag: str, value: bool) -> None:
    if flag == "--cluster-init":
        join.cluster_init = value
    elif flag == "--etcd-expose-metrics":
        join.etcd_expose_metrics = value


def _set_value(join: K3sJoin, flag: str, value: str) -> None:
    if flag == "--node-label":
        key, eq, label = value.partition("=")
        if not key or not eq:
            raise FlagError(f"invalid node label {value!r}: must be key=value")
        join.labels[key] = label
    elif flag == "--node-taint":
        join.taints.append(parse_taint(value))
    elif flag == "--node-name":
        join.node_name = value
    elif flag == "--server":
        join.server_url = value
    elif flag == "--token":
        join.token = value
    elif flag == "--token-file":
        join.token_file = value
    elif flag == "--disable":
        join.disable.extend(v for v in value.split(",") if v)
    elif flag == "--tls-san":
        join.tls_san.extend(v for v in value.split(",") if v)
    elif flag == "--write-kubeconfig-mode":
        join.kubeconfig_mode = value


def parse_install(args: list[str], env: dict[str, str]) -> tuple[str, list[str]]:
    """The install script's `setup_env`: (role, k3s words); InstallFailed where it calls `fatal`."""
    words = env.get("INSTALL_K3S_EXEC", "").split() + list(args)
    url = env.get("K3S_URL", "")
    if words and not words[0].startswith("-"):
        role, words = words[0], words[1:]
    elif not url:
        role = "server"
    elif not env.get("K3S_TOKEN") and not env.get("K3S_TOKEN_FILE"):
        raise InstallFailed(
            "Defaulted k3s exec command to 'agent' because K3S_URL is defined, but K3S_TOKEN "
            "or K3S_TOKEN_FILE is not defined."
        )
    else:
        role = "agent"
    if url and not url.startswith("https://"):
        raise InstallFailed(f"Only https:// URLs are supported for K3S_URL (have {url})")
    return role, words


def install_output(unit: str) -> str:
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
