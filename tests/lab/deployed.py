"""drewburr as deploy/ installs it, on the lab: its kustomize overlay applied with kubectl, its
ServiceAccount's token, and a PVE token limited to the DrewburrOperator role."""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import yaml
from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import RunningLab
from tests.lab.pve_client import proxmox
from tests.scenarios.opsctx import FAST
from tests.scenarios.provisionctx import PROVISION

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "deploy" / "kubernetes" / "overlays" / "example"
BASE = ROOT / "deploy" / "kubernetes" / "base"
PVE_ROLE_SCRIPT = ROOT / "deploy" / "proxmox" / "drewburr-operator.sh"
NAMESPACE = SERVICE_ACCOUNT = "drewburr"


def operator_privileges() -> frozenset[str]:
    """The DrewburrOperator role's privileges, as the script that creates it on PVE gives them."""
    match = re.search(r'pveum role add DrewburrOperator --privs "([^"]+)"', PVE_ROLE_SCRIPT.read_text())
    assert match, f"no `pveum role add DrewburrOperator` in {PVE_ROLE_SCRIPT}"
    return frozenset(match[1].split())


# `pveum` subcommands as the API calls they make: method, path, the parameter the positional fills
# (`pveum user token add USER TOKEN` has a path of its own: pveum() below)
PVEUM = {("role", "add"): ("post", "access/roles", "roleid"),
         ("user", "add"): ("post", "access/users", "userid"),
         ("acl", "modify"): ("put", "access/acl", "path")}
_made = itertools.count()


def pveum(lab: RunningLab, script: str) -> dict[str, str]:
    """The `pveum` lines of a shell script, made as the API calls pveum makes (as root@pam's token);
    the secrets of the tokens they add, by full token id."""
    api, secrets_made = proxmox(lab), {}
    for line in script.splitlines():
        words = shlex.split(line, comments=True)
        if not words or words[0] != "pveum":
            continue
        options, positional, rest = {}, [], iter(words[1:])
        for word in rest:
            if word.startswith("--"):
                options[word.removeprefix("--")] = next(rest)
            else:
                positional.append(word)
        if positional[:3] == ["user", "token", "add"]:
            user, token = positional[3:5]
            made = api(f"access/users/{user}/token/{token}").post(**options)
            secrets_made[made["full-tokenid"]] = made["value"]
            continue
        method, path, key = PVEUM[tuple(positional[:2])]  # type: ignore[index]
        getattr(api(path), method)(**{key: positional[2], **options})
    return secrets_made


def pve_token(lab: RunningLab, privileges: frozenset[str]) -> tuple[str, str]:
    """A privilege-separated token holding exactly `privileges` through a role and ACLs of its own
    (made as drewburr-operator.sh makes DrewburrOperator's): its id and secret."""
    n = next(_made)
    role, user = f"DrewburrTest{n}", f"drewburr{n}@pve"
    made = pveum(lab, f"""
pveum role add {role} --privs "{' '.join(sorted(privileges))}"
pveum user add {user}
pveum acl modify / --users {user} --roles {role}
pveum user token add {user} bot --privsep 1
pveum acl modify / --tokens '{user}!bot' --roles {role}""")
    ((token_id, secret),) = made.items()
    return token_id, secret


def service_account_kubeconfig(lab: RunningLab, path: Path) -> Path:
    """The lab's kubeconfig with the drewburr ServiceAccount's token in place of the admin's."""
    config = yaml.safe_load((lab.workdir / "kubeconfig").read_text())
    token = lab.service_account_token(NAMESPACE, SERVICE_ACCOUNT)
    for user in config["users"]:
        user["user"] = {"token": token}
    path.write_text(yaml.safe_dump(config))
    return path


def drewburr_config(lab: RunningLab, path: Path, kubeconfig: Path, token: tuple[str, str],
                    **sections: object) -> Path:
    """The lab's drewburr.yaml with drewburr's deployed identities (and fast polling: lab time runs fast)."""
    config = yaml.safe_load((lab.workdir / "drewburr.yaml").read_text())
    config["proxmox"].update(token_id=token[0], token_secret=token[1])
    config["kubernetes"] = {"kubeconfig": str(kubeconfig)}
    config["journal"] = {"backend": "sqlite", "path": str(path.with_suffix(".sqlite"))}
    config["operations"] = FAST
    if "provision" in config:  # a key to put in the new VMs, and joins timed for lab time
        key = asyncssh.generate_private_key("ssh-ed25519", comment="ops@homelab")
        config["provision"].update(sshkeys=key.export_public_key().decode().strip(), **PROVISION)
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
