"""The Grafana dashboard in deploy/ reads only families the bot exports, with valid PromQL."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from bot.metrics import Metrics
from tests.tools import require

DASHBOARD = Path(__file__).parents[3] / "deploy" / "grafana" / "drewburr-dashboard.json"


def _exprs() -> list[str]:
    return [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]


def test_every_series_the_dashboard_reads_is_exported() -> None:
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    exported = {family.name + suffix for family in Metrics().registry.collect()
                for suffix in suffixes[family.type]}
    read = {name for expr in _exprs() for name in re.findall(r"\bdrewburr_[a-z_]+", expr)}
    assert read and read <= exported, read - exported
    families = {family.name for family in Metrics().registry.collect()}
    assert all(any(name.startswith(f) for name in read) for f in families), "a family no panel shows"


def test_the_dashboard_promql_parses(tmp_path: Path) -> None:
    promtool = require("promtool")
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:panel{i}", "expr": expr} for i, expr in enumerate(_exprs())]}]}
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    checked = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
