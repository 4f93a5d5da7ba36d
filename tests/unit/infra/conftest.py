"""The journal backends side by side: `opener` opens the same journal again (as another process
would), once for SQLite and once for Kubernetes ConfigMaps in a fresh namespace of a lab."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from infra.gateways.k8s import K8sGateway
from infra.journal import Journal
from infra.journal_k8s import KubernetesJournal
from infra.journal_sqlite import SqliteJournal
from lab.background import BackgroundLab
from lab.scenario import load_scenario

Opener = Callable[[], Journal]
_namespaces = itertools.count(1)


@pytest.fixture(scope="module")
def journal_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundLab]:
    with BackgroundLab(tmp_path_factory.mktemp("lab"), load_scenario(None), time_scale=50) as lab:
        yield lab


def fresh_namespace(kubeconfig: Path) -> str:
    name = f"journal-{next(_namespaces)}"
    api = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


@pytest.fixture(params=["sqlite", "kubernetes"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    if request.param == "sqlite":
        return lambda: SqliteJournal(tmp_path / "journal.sqlite")
    kubeconfig = request.getfixturevalue("journal_lab").workdir / "kubeconfig"
    namespace = fresh_namespace(kubeconfig)
    return lambda: KubernetesJournal(K8sGateway(kubeconfig), namespace)
