"""Which discovery document an Accept header gets: client-go's aggregated request, or the legacy one."""

from __future__ import annotations

import pytest

from lab.k8s.aggregated import wanted

KUBECTL = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
           "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


@pytest.mark.parametrize(("accept", "version"), [
    (KUBECTL, "v2"),
    ("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList", "v2beta1"),
    ("application/json, application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", None),
    ("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList", None),
    ("", None), ("*/*", None), ("application/json;g", None),
])
def test_the_first_acceptable_clause_decides(accept: str, version: str | None) -> None:
    assert wanted(accept) == version
