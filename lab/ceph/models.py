"""Ceph state (placeholder until the Ceph model lands)."""

from __future__ import annotations


class CephCluster:
    @classmethod
    def from_scenario(cls, scenario: object, now: float) -> CephCluster:
        return cls()

    def advance(self, now: float, hosts_up: set[str]) -> None:
        """Move Ceph state up to `now`, given which blades are up."""
