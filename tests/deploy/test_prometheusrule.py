"""The PrometheusRule for the bot's own health: promtool accepts it, and every drewburr_ series it reads
is one the bot exports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from bot.metrics import Metrics
from tests.tools import require

RULE = Path(__file__).parents[2] / "deploy" / "kubernetes" / "base" / "prometheusrule.yaml"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(yaml.safe_load(RULE.read_text())["spec"]))
    checked = subprocess.run([require("promtool"), "check", "rules", str(rules)], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_series_the_rules_read_is_exported() -> None:
    exported = {family.name + suffix for family in Metrics().registry.collect()
                for suffix in SUFFIXES[family.type]}
    exprs = [r["expr"] for g in yaml.safe_load(RULE.read_text())["spec"]["groups"] for r in g["rules"]]
    read = {name for expr in exprs for name in re.findall(r"\bdrewburr_[a-z_]+", expr)}
    assert read and read <= exported, read - exported
