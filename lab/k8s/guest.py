"""K3s as seen from inside a VM, through the guest agent: install (join), the node token, the service.

`agent_exec` is the PVE model's exec hook. An install that joins an existing cluster needs
its token (the full `K10...::server:...` one or the secret after `::server:`): an agent with
a wrong one installs but never registers (its unit is Type=exec), a server's start fails
(Type=notify). The first server of a cluster sets the token.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from lab.k8s.join import InstallFailed, NotAnInstall, install_output, parse_install

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster
    from lab.pve.models import Vm

TOKEN_FILE = "/var/lib/rancher/k3s/server/node-token"
Result = tuple[int, str, str]


def cluster_token(secret: str) -> str:
    return f"K10{hashlib.sha256(secret.encode()).hexdigest()}::server:{secret}"


def token_ok(cluster: K8sCluster, token: str | None) -> bool:
    full = cluster.k3s_token
    return full is not None and token is not None and token in (full, full.rpartition("::server:")[2])


def _script(argv: list[str]) -> str:
    return argv[-1] if len(argv) >= 3 and argv[1] == "-c" else " ".join(argv)


def _unit_failed(unit: str) -> str:
    return (
        f"Job for {unit}.service failed because the control process exited with error code.\n"
        f'See "systemctl status {unit}.service" and "journalctl -xeu {unit}.service" for details.\n'
    )


def agent_exec(cluster: K8sCluster, vm: Vm, argv: list[str], now: float) -> Result | None:
    words = _script(argv).replace("sudo ", "").split()
    joined = cluster.joins.get(vm.name)
    if words[:2] == ["cat", TOKEN_FILE]:
        if joined and joined.role == "server" and cluster.k3s_token:
            return 0, cluster.k3s_token + "\n", ""
        return 1, "", f"cat: {TOKEN_FILE}: No such file or directory\n"
    if words[:2] == ["systemctl", "is-active"] and len(words) == 3 and words[2] in ("k3s", "k3s-agent"):
        role = "server" if words[2] == "k3s" else "agent"
        up = joined is not None and joined.role == role and cluster.vm_alive(vm, now)
        return (0, "active\n", "") if up else (3, "inactive\n", "")
    try:
        join = parse_install(argv)
    except NotAnInstall:
        return None
    except InstallFailed as exc:
        return 1, "", f"[ERROR]  {exc}\n"
    unit = "k3s" if join.role == "server" else "k3s-agent"
    output = install_output(join)
    if join.server_url is None and join.role == "server":
        if cluster.k3s_token is None:  # a new cluster: its first server sets the token
            cluster.k3s_token = cluster_token(join.token or hashlib.sha256(vm.name.encode()).hexdigest()[:32])
    elif not token_ok(cluster, join.token):
        return (1, output, _unit_failed(unit)) if join.role == "server" else (0, output, "")
    cluster.joins[vm.name] = join
    vm.k3s_role = join.role
    cluster.advance(now)
    return 0, output, ""
