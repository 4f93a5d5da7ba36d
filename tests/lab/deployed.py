"""drewburr as deploy/ installs it, on the lab: its kustomize overlay applied with kubectl, its
ServiceAccount's token, and a PVE token limited to the DrewburrOperator role."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml
from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import RunningLab
from tests.scenarios.opsctx import FAST

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "deploy" / "kubernetes" / "overlays" / "example"
BASE = ROOT / "deploy" / "kubernetes" / "base"
PVE_ROLE_SCRIPT = ROOT / "deploy" / "proxmox" / "drewburr-operator.sh"
NAMESPACE = SERVICE_ACCOUNT = "drewburr"
TOKEN_ID = "drewburr@pve!bot"


def operator_privileges() -> frozenset[str]:
    """The DrewburrOperator role's privileges, as the script that creates it on PVE gives them."""
    match = re.search(r'pveum role add DrewburrOperator --privs "([^"]+)"', PVE_ROLE_SCRIPT.read_text())
    assert match, f"no `pveum role add DrewburrOperator` in {PVE_ROLE_SCRIPT}"
    return frozenset(match[1].split())


def pve_token(lab: RunningLab, privileges: frozenset[str], token_id: str = TOKEN_ID) -> str:
    """A privilege-separated lab token holding exactly `privileges` (on every path: the lab has no
    ACL tree); its secret. Calling it again changes the privileges of the same token."""
    secret = secrets.token_hex(16)
    pve = lab.lab.pve

    def grant() -> None:
        pve.tokens[token_id] = secret
        pve.privileges[token_id] = privileges

    lab.call(grant)
    return secret


def service_account_kubeconfig(lab: RunningLab, path: Path) -> Path:
    """The lab's kubeconfig with the drewburr ServiceAccount's token in place of the admin's."""
    config = yaml.safe_load((lab.workdir / "kubeconfig").read_text())
    token = lab.service_account_token(NAMESPACE, SERVICE_ACCOUNT)
    for user in config["users"]:
        user["user"] = {"token": token}
    path.write_text(yaml.safe_dump(config))
    return path


def drewburr_config(lab: RunningLab, path: Path, kubeconfig: Path, token_secret: str,
                    **sections: object) -> Path:
    """The lab's drewburr.yaml with drewburr's deployed identities (and fast polling: lab time runs fast)."""
    config = yaml.safe_load((lab.workdir / "drewburr.yaml").read_text())
    config["proxmox"].update(token_id=TOKEN_ID, token_secret=token_secret)
    config["kubernetes"] = {"kubeconfig": str(kubeconfig)}
    config["journal"] = {"backend": "sqlite", "path": str(path.with_suffix(".sqlite"))}
    config["operations"] = FAST
    config.update(sections)
    path.write_text(yaml.safe_dump(config))
    return path


def drewburr(config: Path, line: str) -> tuple[int, str]:
    """`drewburr --config CONFIG LINE...`: exit code and output."""
    result = CliRunner().invoke(app, ["--config", str(config), *line.split()], env={"COLUMNS": "120"})
    return result.exit_code, result.output


@dataclass(frozen=True)
class Deployed:
    lab: RunningLab
    config: Path  # drewburr.yaml with the ServiceAccount's kubeconfig and the DrewburrOperator token
    kubeconfig: Path  # the ServiceAccount's
