"""What `bootstrap` is configured with (the config's `bootstrap:` section, bot/config.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BootstrapOptions:
    api_name: str = "k3s.homelab.lan"  # the API's DNS name (or VIP): --tls-san, the kubeconfig's server
    api_port: int = 6443
    kubeconfig: Path = Path("k3s.yaml")  # where the new cluster's admin kubeconfig is stored
    first_address: str = "192.168.1.121/24"  # servers, then agents, take consecutive addresses from it
    servers: int = 3
    agents: int = 0

    @property
    def api_url(self) -> str:
        return f"https://{self.api_name}:{self.api_port}"
