"""Random requests against every PVE route the lab serves: each gets one of PVE's answers
(200, 400 with field errors, 401, 403, 500 with PVE's message, 501, 506, 595), never a 500 of the
lab's own; and no task or timed event they start breaks inside the lab."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.clock import ManualClock
from lab.pve.app import make_app
from lab.pve.schema import ApiSchema
from lab.scenario import load_scenario
from lab.world import Lab

SCHEMA = ApiSchema.load()
ROUTES = sorted({(r.method, r.resource.canonical)  # type: ignore[union-attr]
                 for r in make_app(Lab(load_scenario(None), ManualClock())).router.routes()
                 if r.method != "HEAD"})
PVE_STATUSES = {200, 400, 401, 403, 500, 501, 506, 595}
TOKEN = {"Authorization": "PVEAPIToken=root@pam!fuzz=secret"}

URI_VALUES = {"node": ["blade1", "blade3", "blade9", "bad_name"], "vmid": ["101", "105", "9000", "777", "-5"],
              "sid": ["vm:101", "vm:105", "101", "ct:1"], "flag": ["noout", "pause", "bogus"],
              "storage": ["ceph-rbd", "local", "local-lvm", "nosuch"],
              "upid": ["UPID:blade1:00001007:00000000:00000000:qmstart:101:root@pam:", "UPID:x"],
              "rule": ["spread", "kube04-home", "x", "9bad"], "group": ["grp", "x"],
              "osdid": ["0", "3", "9", "-1", "x"]}
# the HA rules and Ceph operations, fuzzed on their own too so that every run reaches them
HA_AND_CEPH = [r for r in ROUTES if "/ha/" in r[1] or "/ceph/" in r[1]]
scalars = st.one_of(
    st.sampled_from(["", "0", "1", "blade2", "blade4", "101", "scsi0", "+1G", "vm:101", "started",
                     "ssh-ed25519%20AAAA", "ip=10.0.0.5/24", "cores", "\u2603", "9" * 400, "+9e9T",
                     "ip=bogus", "gw=10.0.0.1", "user=local:snippets/u.yaml", "ceph-rbd:8",
                     "ceph-rbd:cloudinit", "local:4", "virtio,bridge=vmbr0", "nocloud", "configdrive2",
                     "meta", "images", "9000",
                     "sh", "-c", "cat", "/etc/hostname", "aGk=", "k3s-uninstall.sh",  # for the guest agent
                     "vm:101,vm:102", "vm:103", "blade1:2,blade2", "node-affinity",
                     "resource-affinity", "negative", "positive", "osd", "mon", "stop", "destroy"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=20),
)
json_values = st.one_of(scalars, st.integers(), st.booleans(), st.none(), st.lists(scalars, max_size=3),
                        st.dictionaries(st.text(max_size=5), scalars, max_size=2))


@st.composite
def pve_requests(draw: st.DrawFn, routes: list[tuple[str, str]] = ROUTES
                 ) -> tuple[str, str, dict[str, Any], str, float]:
    method, path = draw(st.sampled_from(routes))
    url = re.sub(r"\{(\w+)\}", lambda m: draw(st.sampled_from(URI_VALUES.get(m[1], ["x", "UPID:x"]))), path)
    node = SCHEMA.find(re.sub(r"\{\w+\}", "x", path.removeprefix("/api2/json")))
    props = sorted(((node[0].info.get(method) or {}).get("parameters") or {}).get("properties") or {}) \
        if node else []
    keys = draw(st.lists(st.sampled_from([*props, "zzz"]), max_size=4, unique=True))
    encoding = draw(st.sampled_from(["form", "json", "query"]))
    values = json_values if encoding == "json" else scalars
    params = {key: draw(values) for key in keys}
    return method, url, params, encoding, draw(st.sampled_from([0.0, 1.0, 30.0, 600.0]))


class _Errors(logging.Handler):
    """The lab's own errors logged meanwhile (a broken event or task, not an HTTP answer)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.getMessage()}: {record.exc_info and record.exc_info[1]!r}")


async def _send_all(requests: list[tuple[str, str, dict[str, Any], str, float]]) -> list[str]:
    lab = Lab(load_scenario(None), ManualClock())
    lab.pve.tokens["root@pam!fuzz"] = "secret"
    wrong: list[str] = []
    errors = _Errors()
    logging.getLogger("lab").addHandler(errors)
    try:
        await _send(lab, requests, wrong)
        lab.clock.advance(3600)  # type: ignore[attr-defined]  # let every task end
        lab.advance()
    finally:
        logging.getLogger("lab").removeHandler(errors)
    return wrong + errors.messages + [f"{t.upid}: {t.exitstatus}" for t in lab.pve.tasks.values()
                                      if (t.exitstatus or "").startswith("internal error")]


async def _send(lab: Lab, requests: list[tuple[str, str, dict[str, Any], str, float]],
                wrong: list[str]) -> None:
    async with TestClient(TestServer(make_app(lab))) as client:
        for method, url, params, encoding, wait in requests:
            lab.clock.advance(wait)  # type: ignore[attr-defined]
            body: dict[str, Any] = {"json": params} if encoding == "json" else \
                {"data": params} if encoding == "form" and method in ("POST", "PUT") else {"params": params}
            answer = await client.request(method, url, headers=TOKEN, **body)
            text = await answer.text()
            if answer.status not in PVE_STATUSES or "internal error" in text:
                wrong.append(f"{method} {url} {body} -> {answer.status} {text[:200]}")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pve_requests(), min_size=10, max_size=30))
def test_random_requests_get_pves_answers_never_a_lab_error(requests: list[Any]) -> None:
    assert asyncio.run(_send_all(requests)) == []


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pve_requests(HA_AND_CEPH), min_size=10, max_size=30))
def test_random_ha_rule_and_ceph_requests_get_pves_answers(requests: list[Any]) -> None:
    assert asyncio.run(_send_all(requests)) == []
