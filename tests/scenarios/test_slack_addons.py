"""`/drewburr addons ...` from Slack: status for anyone, install for admins only, with the objects it
will apply shown before the Confirm button, then progress and the outcome; `bootstrap` refused
where a cluster exists."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for

from .test_slack import OPERATOR, READER, _all_text, serving

ADMIN = "U0ADMIN"


def test_addons_from_slack_status_for_all_install_for_admins(running_lab: RunningLab, tmp_path: Path) -> None:
    with serving(running_lab, tmp_path, "socket") as slack:
        slack.type(READER, "addons status")
        table = wait_for(lambda: slack.message("`addons status`"), timeout=30, what="the status")
        assert "kube-prometheus-stack" in _all_text(table) and "Complete" in _all_text(table)

        slack.type(OPERATOR, "addons install metallb")
        wait_for(lambda: slack.told(OPERATOR, "needs the admin permission"), timeout=20, what="the denial")

        slack.type(ADMIN, "addons install metallb")
        plan = wait_for(lambda: slack.message("asked: `addons install metallb`"), timeout=30, what="the plan")
        shown = _all_text(plan)
        assert "HelmChart kube-system/metallb: metallb 0.14.8" in shown
        assert "IPAddressPool metallb-system/default-pool" in shown
        slack.press(ADMIN, plan["ts"], "drewburr_confirm")
        done = wait_for(lambda: slack.message("`addons install metallb` done in"), timeout=120,
                        what="the end")
        assert done.get("reply_count", 0) >= 2  # progress in the thread

        slack.type(ADMIN, "bootstrap --servers 3")  # this homelab has its cluster: refused, nothing made
        wait_for(lambda: slack.message("a K3s cluster exists already")
                 or slack.told(ADMIN, "a K3s cluster exists already"), timeout=30, what="the refusal")
