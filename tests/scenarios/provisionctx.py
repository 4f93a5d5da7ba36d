"""Helpers for the provision scenarios: a lab without workloads (quick to settle), a Context with a
test SSH key in `provision.sshkeys`, and what a user checks of a new node."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import asyncssh
from kubernetes import client, config

from infra.operations.context import Context
from tests.conftest import RunningLab
from tests.unit.lab.k8s_world import homelab

from .opsctx import lab_context

ZONE = "topology.kubernetes.io/zone"
# Lab time runs 50x: 6 real seconds are 300 lab seconds, a K3s join's own timeout
PROVISION = {"join_timeout_seconds": 6.0, "ready_timeout_seconds": 6.0}


def lab(workdir: Path) -> RunningLab:
    return RunningLab(workdir, homelab(workloads="none"), time_scale=50)


def keypair(folder: Path) -> tuple[Path, str]:
    """A new ed25519 key: its private key file and its public key line."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment="ops@homelab")
    path = folder / "id_ed25519"
    key.write_private_key(str(path))
    return path, key.export_public_key().decode().strip()


def provision_context(running_lab: RunningLab, public_key: str, **options: Any) -> Context:
    ctx = lab_context(running_lab)
    assert ctx.provision is not None, "the lab's drewburr.yaml has no provision section"
    ctx.provision = dataclasses.replace(ctx.provision, sshkeys=public_key, **{**PROVISION, **options})
    return ctx


def core(running_lab: RunningLab) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(str(running_lab.workdir / "kubeconfig")))


def node_ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def guest(pve: Any, name: str) -> dict[str, Any] | None:
    return next((g for g in pve.cluster.resources.get(type="vm") if g.get("name") == name), None)
