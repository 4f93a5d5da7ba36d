"""The lab's mirror of the addons' Helm chart repositories: each one's `index.yaml`.

Served on the lab's own HTTP endpoint at `/charts/SLUG/index.yaml` (lab/control.py), in the
format `helm repo index` writes (apiVersion v1, `entries` by chart name, newest version first),
listing the versions lab/k8s/charts.py knows. A HelmChart may name the mirror as its `repo`:
the lab's helm job installs from it as from the public repository.
"""

from __future__ import annotations

import hashlib
from typing import Any

import yaml

from lab.k8s.charts import MIRRORS, REPOS, VERSIONS

CREATED = "2024-10-01T00:00:00Z"  # the charts' publication dates are not modelled


def index(slug: str) -> str | None:
    """The repository's index.yaml, or None for a repository the lab does not mirror."""
    if slug not in MIRRORS:
        return None
    entries: dict[str, list[dict[str, Any]]] = {}
    for chart in sorted(REPOS[MIRRORS[slug]]):
        entries[chart] = [
            {"apiVersion": "v2", "name": chart, "version": version, "type": "application",
             "created": CREATED, "urls": [f"{MIRRORS[slug]}/{chart}-{version}.tgz"],
             "digest": hashlib.sha256(f"{chart}-{version}".encode()).hexdigest()}
            for version in reversed(VERSIONS.get(chart, ()))]
    return yaml.safe_dump({"apiVersion": "v1", "entries": entries, "generated": CREATED}, sort_keys=False)
