"""K3s' helm job image (rancher/klipper-helm): what `helm-install-NAME` and `helm-delete-NAME` print.

The helm-controller passes the chart in the container's env (NAME, CHART, REPO, VERSION,
TARGET_NAMESPACE, EXPECTED_RELEASE_REVISION) and `install` or `delete` as its argument. A
chart the lab knows (charts.py: its repositories and K3s' bundled charts) installs after a
pull and its hooks, some lab seconds; anything else fails the way helm does, with helm's
error on the last line of the log. The release objects themselves are made by the
controller once the Job completes (lab/k8s/controllers/helm.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from lab.k8s.charts import BUNDLED_PREFIX, CHARTS, VERSIONS, chart_name_version, repository

Obj = dict[str, Any]
# a repository's index and archive; a chart K3s' API server serves
PULL_SECONDS = {"repo": 4.0, "bundled": 2.0}
# their hooks: the admission webhook's cert jobs, cert-manager's startupapicheck
HOOK_SECONDS = {"kube-prometheus-stack": 15.0, "cert-manager": 12.0}
DEFAULT_HOOKS = 3.0
DELETE_SECONDS = 3.0
CLUSTER_DNS = "10.43.0.10:53"


def _env(container: Obj) -> dict[str, str]:
    return {str(e.get("name")): str(e.get("value") or "")
            for e in container.get("env") or [] if isinstance(e, dict)}


def _unreachable(url: str) -> str:
    host = urlsplit(url).hostname or url
    return f'dial tcp: lookup {host} on {CLUSTER_DNS}: no such host'


def install_error(chart: str, repo: str, version: str = "") -> str | None:
    """Helm's error for a chart (or chart version) it cannot fetch, or None when the lab knows it."""
    if repo:
        served = repository(repo)
        if served is None:
            base = repo.rstrip("/")
            return (f'looks like "{repo}" is not a valid chart repository or cannot be reached: '
                    f'Get "{base}/index.yaml": {_unreachable(repo)}')
        name = chart.rsplit("/", 1)[-1]
        if name not in served:
            return f'chart "{name}" not found in {repo} repository'
        if version and version not in VERSIONS.get(name, ()):
            return f'chart "{name}" version "{version}" not found in {repo} repository'
        return None
    if chart.startswith(("http://", "https://")):
        name, _ = chart_name_version(chart, None)
        if chart.startswith(BUNDLED_PREFIX) and name in CHARTS:
            return None
        if chart.startswith(BUNDLED_PREFIX):
            return f"failed to fetch {chart} : 404 Not Found"
        return f'Get "{chart}": {_unreachable(chart)}'
    if "/" not in chart:
        return f"non-absolute URLs should be in form of repo_name/path_to_chart, got: {chart}"
    return f"repo {chart.split('/', 1)[0]} not found"


Log = tuple[tuple[float, str], ...]


def helm_run(container: Obj) -> tuple[float, int, Log]:
    """The job container's run (seconds, exit code, timed log lines), from its env and argument."""
    env, args = _env(container), [str(a) for a in container.get("args") or []]
    name, target = env.get("NAME", ""), env.get("TARGET_NAMESPACE", "")
    repo, chart = env.get("REPO", ""), env.get("CHART", "")
    if args[:1] == ["delete"]:
        return (DELETE_SECONDS, 0, ((0.0, f"+ helm_v3 uninstall {name} --namespace {target}"),
                                       (DELETE_SECONDS, f'release "{name}" uninstalled')))
    log: list[tuple[float, str]] = []
    if repo:
        log += [(0.0, f"+ helm_v3 repo add {name} {repo}")]
    command = f"+ helm_v3 install --namespace {target} {name} {chart}"
    if env.get("VERSION"):
        command += f" --version {env['VERSION']}"
    error = install_error(chart, repo, env.get("VERSION", ""))
    pull = PULL_SECONDS["repo" if repo else "bundled"]
    if error is not None:
        log += [(0.0, command), (pull, f"Error: INSTALLATION FAILED: {error}")]
        return (pull, 1, tuple(log))
    if repo:
        log += [(pull / 2, f'"{name}" has been added to your repositories')]
    base, _ = chart_name_version(chart, None)
    done = pull + HOOK_SECONDS.get(base, DEFAULT_HOOKS)
    revision = int(env.get("EXPECTED_RELEASE_REVISION") or 0) + 1
    log += [(pull, command), (done, f"NAME: {name}"), (done, f"NAMESPACE: {target}"),
            (done, "STATUS: deployed"), (done, f"REVISION: {revision}"), (done, "TEST SUITE: None")]
    return (done, 0, tuple(log))
