from __future__ import annotations

import json

import pytest
import requests
from proxmoxer.core import ResourceException

from infra.errors import Conflict, GatewayError, NotFound, Unavailable, redact
from infra.gateways.pve import TaskResult, translate, upid_fields, upid_node
from tests.conftest import REFERENCE


def test_redact_hides_tokens_and_bounds_length():
    text = redact("Authorization: PVEAPIToken=root@pam!drewburr=abc123 token_secret: s3cr3t " + "x" * 900)
    assert "abc123" not in text and "s3cr3t" not in text and len(text) == 500


@pytest.mark.parametrize(("name", "ok", "warnings"), [
    ("task-status-ok.json", True, 0), ("task-status-error.json", False, 0)])
def test_task_exit_status_from_captures(name, ok, warnings):
    data = json.loads((REFERENCE / "pve" / name).read_text())["data"]
    result = TaskResult(upid=data["upid"], node=data["node"], exitstatus=data["exitstatus"])
    assert (result.ok, result.warnings) == (ok, warnings)


def test_warnings_are_a_success_that_counts_them():
    result = TaskResult(upid="u", node="n", exitstatus="WARNINGS: 2")
    assert result.ok and result.warnings == 2


def test_upid_names_its_node_type_and_start():
    upid = "UPID:blade3:00001234:0000ABCD:6700AA00:qmigrate:105:root@pam!drewburr:"
    assert upid_fields(upid) == ("blade3", "qmigrate", 0x6700AA00)
    assert upid_node(upid) == "blade3"
    with pytest.raises(ValueError, match="not a UPID"):
        upid_node("blade3")


@pytest.mark.parametrize(("status", "kind"), [
    (595, Unavailable), (503, Unavailable), (404, NotFound), (409, Conflict), (400, GatewayError),
    (500, GatewayError)])
def test_pve_statuses_map_to_what_to_do_next(status, kind):
    err = translate(ResourceException(status, "reason", "content"))
    assert type(err) is kind and err.status == status


def test_connection_errors_are_unavailable():
    assert isinstance(translate(requests.ConnectionError("refused")), Unavailable)
