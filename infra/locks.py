"""Lock keys: each names what it locks, so operations on different things never wait on each other.

`blade:blade3` (a drain, a reboot, a provision onto it), `vm:kube06` (a VM name being made),
`vmid:123` (a VMID a clone is about to take), `cluster` (the whole K3s cluster: a bootstrap).
"""

from __future__ import annotations

CLUSTER = "cluster"


def blade(name: str) -> str:
    return f"blade:{name}"


def vm(name: str) -> str:
    return f"vm:{name}"


def vmid(number: int) -> str:
    return f"vmid:{number}"


def describe(key: str) -> str:
    """How a person reads a key: `blade3`, `VM kube06`, `VMID 123`, `the cluster`."""
    kind, _, name = key.partition(":")
    return {"blade": name, "vm": f"VM {name}", "vmid": f"VMID {name}"}.get(kind, "the cluster"
                                                                          if key == CLUSTER else key)
