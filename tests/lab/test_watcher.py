"""The watcher against the lab through the real clients: the node watch sees a blade's nodes go
NotReady and Ready again, lists again after a 410 Gone, and the PVE/Ceph poll finds a down OSD."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from alert_handlers.alert import Alert
from alert_handlers.watcher import Watcher
from infra.gateways.k8s import K8sGateway
from tests.conftest import RunningLab
from tests.scenarios.opsctx import fault, lab_context


class ExpiredFirstList(K8sGateway):
    """Our gateway, whose first list hands out a resourceVersion the API server has since dropped
    from its history (as after a long disconnection): the watch from it gets 410 Gone."""

    lists = 0

    async def list_nodes_at(self) -> tuple[list[dict], str]:
        items, version = await super().list_nodes_at()
        self.lists += 1
        return items, "1" if self.lists == 1 else version


async def until(check: Callable[[], object], what: str) -> None:
    for _ in range(600):  # 30 s
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def said(alerts: list[Alert], status: str, name: str, **labels: str) -> bool:
    return any(a.status == status and a.name == name and labels.items() <= a.labels.items() for a in alerts)


async def test_the_node_watch_lists_again_after_410_gone_and_follows_a_blade_down_and_up(
        fast_lab: RunningLab, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="alert_handlers.watcher")
    ctx = lab_context(fast_lab)
    k8s = ExpiredFirstList(fast_lab.workdir / "kubeconfig")
    alerts: list[Alert] = []
    watcher = Watcher(ctx.pve, k8s, alerts.extend, retry_seconds=0.1)
    task = asyncio.create_task(watcher.watch_nodes())
    try:
        await until(lambda: k8s.lists == 2, "a second list after the 410")
        assert "node watch: resourceVersion expired (410 Gone); listing again" in caplog.messages
        assert alerts == []  # every node Ready: nothing to say
        fault(fast_lab, "power-off", "blade3")
        await until(lambda: said(alerts, "firing", "KubeNodeNotReady", node="kube05"), "kube05 NotReady")
        assert said(alerts, "firing", "KubeNodeNotReady", node="kube03")
        assert all(a.source == "watcher" and a.labels["node"] in ("kube03", "kube05") for a in alerts)
        fault(fast_lab, "power-on", "blade3")
        await until(lambda: said(alerts, "resolved", "KubeNodeNotReady", node="kube05"), "kube05 Ready again")
        assert k8s.lists == 2  # watching, not polling: the watch went on after the 410
    finally:
        task.cancel()


async def test_the_poll_finds_a_down_osd_and_its_return(running_lab: RunningLab) -> None:
    ctx = lab_context(running_lab)
    alerts: list[Alert] = []
    watcher = Watcher(ctx.pve, None, alerts.extend)
    await watcher.poll()
    assert alerts == []
    fault(running_lab, "osd-down", "blade2")
    await watcher.poll()
    (down,) = alerts
    assert (down.name, down.status, down.labels["ceph_daemon"], down.labels["hostname"]) == (
        "CephOSDDown", "firing", "osd.1", "blade2")
    fault(running_lab, "osd-up", "blade2")
    await watcher.poll()
    assert [(a.status, a.fingerprint) for a in alerts[1:]] == [("resolved", down.fingerprint)]
