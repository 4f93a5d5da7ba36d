"""fakepve as a second opinion on the HA and Ceph calls it implements: the lab answers with at
least the keys fakepve answers with (fakepve shapes its answers by PVE's schema and real
captures), and both refuse the same bad parameters alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.pve_client import proxmox

Call = Callable[[ProxmoxAPI], Any]
SHAPED: list[tuple[str, Call]] = [
    ("mon list", lambda api: api.nodes("blade1").ceph.mon.get()[0]),
    ("osd metadata", lambda api: api.nodes("blade1").ceph.osd(0).metadata.get()["osd"]),
    ("osd devices", lambda api: api.nodes("blade1").ceph.osd(0).metadata.get()["devices"][0]),
    ("ceph metadata", lambda api: api.cluster.ceph.metadata.get()),
    ("ceph osd metadata", lambda api: api.cluster.ceph.metadata.get()["osd"][0]),
    ("cmd-safety", lambda api: api.nodes("blade1").ceph("cmd-safety").get(service="osd", id="0",
                                                                            action="stop")),
]
REFUSED: list[Call] = [
    lambda api: api.nodes("blade1").ceph("cmd-safety").get(service="rgw", id="0", action="stop"),
    lambda api: api.nodes("blade1").ceph("cmd-safety").get(service="osd", id="0", action="start"),
    lambda api: api.cluster.ha.rules.get(type="anti-affinity"),
    lambda api: api.cluster.ceph.metadata.get(scope="everything"),
]


@pytest.fixture
def fake(fakepve: Any, fakepve_cafile: str) -> ProxmoxAPI:
    fakepve.apitokens["root@pam!second"] = "opinion"
    fakepve.add_node("blade1")
    host, port = fakepve.url.removeprefix("https://").split(":")
    return ProxmoxAPI(host, port=int(port), user="root@pam", token_name="second", token_value="opinion",
                      verify_ssl=fakepve_cafile)


@pytest.mark.parametrize(("what", "call"), SHAPED, ids=[s[0] for s in SHAPED])
def test_the_lab_answers_with_the_keys_fakepve_answers_with(
        running_lab: RunningLab, fake: ProxmoxAPI, what: str, call: Call) -> None:
    ours, theirs = call(proxmox(running_lab)), call(fake)
    assert set(theirs) <= set(ours), f"{what}: lab lacks {set(theirs) - set(ours)}"


def _refusal(api: ProxmoxAPI, call: Call) -> tuple[int, set[str]]:
    with pytest.raises(ResourceException) as exc:
        call(api)
    return exc.value.status_code, set(exc.value.errors or {})


@pytest.mark.parametrize("call", REFUSED)
def test_both_refuse_the_same_bad_parameters(running_lab: RunningLab, fake: ProxmoxAPI, call: Call) -> None:
    assert _refusal(proxmox(running_lab), call) == _refusal(fake, call)
