"""ObjectInfo: any object read back, typed (conditions by type, replicas wanted and ready)."""

from __future__ import annotations

from infra.gateways.k8s_models import ObjectInfo


def test_a_deployment_wants_one_replica_unless_it_says_and_counts_the_ready_ones() -> None:
    meta = {"name": "web", "uid": "u1", "resourceVersion": "7"}
    info = ObjectInfo.of({"kind": "Deployment", "metadata": meta, "spec": {}, "status": {"readyReplicas": 1}})
    assert (info.name, info.uid, info.resource_version, info.wanted, info.ready) == ("web", "u1", "7", 1, 1)
    three = ObjectInfo.of({"kind": "Deployment", "metadata": {"name": "w"}, "spec": {"replicas": 3}})
    assert (three.wanted, three.ready) == (3, 0)


def test_a_daemonset_wants_what_is_scheduled() -> None:
    info = ObjectInfo.of({"kind": "DaemonSet", "metadata": {"name": "speaker"},
                          "status": {"desiredNumberScheduled": 4, "numberReady": 3}})
    assert (info.wanted, info.ready) == (4, 3)


def test_conditions_by_type_and_true_only_when_the_status_says_so() -> None:
    info = ObjectInfo.of({"kind": "ClusterIssuer", "metadata": {"name": "le"}, "status": {"conditions": [
        {"type": "Ready", "status": "False", "reason": "ErrRegisterACMEAccount", "message": "no account"}]}})
    assert not info.true("Ready") and not info.true("Established")
    assert info.conditions["Ready"].message == "no account"
