"""No Prometheus, no Alertmanager (they ran on the blade that died): drewburr's own watcher sees
blade3 go, and remediation fences it once PVE HA has, so Postgres comes back on another blade."""

from __future__ import annotations

import asyncio
from pathlib import Path

from infra.journal import OperationStatus
from infra.journal_sqlite import SqliteJournal
from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for
from tests.scenarios.homelab_k8s import OUT_OF_SERVICE, core, postgres, postgres_on, taints
from tests.scenarios.opsctx import fault, lab_context, settled
from tests.scenarios.test_slack import serving


def test_the_watcher_alone_gets_blade3_fenced_and_postgres_back(running_lab: RunningLab,
                                                                 tmp_path: Path) -> None:
    api = core(running_lab)
    asyncio.run(settled(lab_context(running_lab)))
    postgres_on(api, "kube05")
    with serving(running_lab, tmp_path, "socket", watcher={"enabled": True, "poll_seconds": 0.3},
                 remediation={"mode": "auto", "hold_seconds": 1, "poll_seconds": 0.3}) as slack:
        fault(running_lab, "power-off", "blade3")

        def fenced() -> OperationStatus | None:
            ops = asyncio.run(SqliteJournal(slack.journal).list(limit=200))
            return next((op for op in ops if op.kind == "fence" and op.phase in ("Succeeded", "Failed")),
                        None)
        op = wait_for(fenced, timeout=90, what="the fence of blade3")
        assert op.phase == "Succeeded", op.last_error
        assert op.params["alert"] in ("KubeNodeNotReady", "PveNodeOffline", "PveHaFenced")  # a finding
        node, ready = postgres(api)
        assert ready and node not in ("kube03", "kube05", None)
        assert OUT_OF_SERVICE in taints(api, "kube05")
        assert wait_for(lambda: slack.message("fence blade3 succeeded"), timeout=20, what="the outcome")
