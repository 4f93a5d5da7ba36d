"""The share of real-capture keys the lab answers with the right JSON type.

Each capture in `shared/reference/pve/` (see its README) is compared with the lab's answer to
the same call, through proxmoxer. A value's *shape* is its JSON type; a dict's shape is its
keys' shapes, a list's the merged shape of its items (items of lists of typed entries, such as
`/cluster/resources`, are merged per `type`). Dicts whose keys are names rather than fields
(`blockstat` per drive, `nics` per tap device, health `checks` per check) merge their values
under `*`. Every key path of the capture counts once; it is matched when the lab's answer has
it with the same JSON type. The hand-made mocks (`ha-status.json`, `ha-manager-status.json`)
are left out: the README says they are not captures, and PVE 9 answers otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from proxmoxer import ProxmoxAPI

from tests.conftest import REFERENCE, RunningLab
from tests.lab.pve_client import fault, kind, proxmox, wait_task

BAR = 0.97
MAPS = {"blockstat", "nics", "checks", "module_options", "services"}  # dicts keyed by names


def shape(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        if key in MAPS:
            merged: dict[str, Any] = {}
            for item in value.values():
                merged = _merge(merged, {"*": shape(item)})
            return merged
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        merged = {}
        for item in value:
            entry = shape(item)
            tag = f"[{item['type']}]" if isinstance(item, dict) and isinstance(item.get("type"), str) \
                else "[]"
            merged = _merge(merged, {tag: entry})
        return merged or "list"
    return kind(value)


def _merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **{k: _merge(a[k], v) if k in a else v for k, v in b.items()}}
    return a


def compare(real: Any, ours: Any, path: str = "") -> tuple[int, list[str]]:
    """(key paths of `real`, the ones `ours` lacks or types differently)."""
    if not isinstance(real, dict):
        return 0, []
    total, missing = 0, []
    for key, sub in real.items():
        here = f"{path}.{key}" if path else key
        total += 1
        mine = ours.get(key) if isinstance(ours, dict) else None
        if mine is None or _type(mine) != _type(sub):
            missing.append(here)
        n, m = compare(sub, mine if isinstance(mine, dict) else {}, here)
        total += n
        missing += m
    return total, missing


def _type(shaped: Any) -> str:
    if isinstance(shaped, dict):
        return "list" if any(k.startswith("[") for k in shaped) else "object"
    return "list" if shaped == "list" else shaped


def _reference(name: str) -> Any:
    return json.loads((REFERENCE / "pve" / name).read_text())["data"]


def _task_statuses(lab: RunningLab, api: ProxmoxAPI) -> dict[str, Any]:
    """A running, an OK and a failed task's status, as the three task captures show."""
    failure = "qmreboot:some error occurred"
    fault(lab, "fail-next-task", failure)
    failed = api.nodes("blade1").qemu(101).status.reboot.post()
    wait_task(api, failed)
    # the captured guest has tags and a balloon target; a reboot applies the pending balloon
    api.nodes("blade2").qemu(102).config.put(tags="k3s", balloon=2048)
    ok = api.nodes("blade2").qemu(102).status.reboot.post()
    running = api.nodes("blade2").tasks(ok).status.get()
    return {"task-status-running.json": running, "task-status-ok.json": wait_task(api, ok, 30),
            "task-status-error.json": api.nodes("blade1").tasks(failed).status.get()}


def lab_answers(lab: RunningLab) -> dict[str, Any]:
    api = proxmox(lab)
    # the capture is HEALTH_WARN with details: stop blade4's OSD (no monitor there)
    fault(lab, "osd-down", "osd.3")
    calls: dict[str, Callable[[], Any]] = {
        "nodes.json": api.nodes.get,
        "cluster-status.json": api.cluster.status.get,
        "cluster-resources.json": api.cluster.resources.get,
        "ceph-status-warn.json": api.cluster.ceph.status.get,
        "node-ceph-status.json": api.nodes("blade1").ceph.status.get,
    }
    tasks = _task_statuses(lab, api)
    answers = {name: call() for name, call in calls.items()}
    return answers | tasks | {"qemu-status-current.json": api.nodes("blade2").qemu(102).status.current.get()}


def share(answers: dict[str, Any]) -> tuple[float, dict[str, list[str]]]:
    total, missing = 0, {}
    for name, ours in answers.items():
        n, m = compare(shape({"data": _reference(name)}), shape({"data": ours}))
        total += n
        missing[name] = m
    return 1 - sum(map(len, missing.values())) / total, missing


def test_shape_counts_each_key_path_once_and_checks_types() -> None:
    real = shape({"a": 1, "b": {"c": "x"}, "l": [{"type": "n", "d": 1}, {"type": "n", "e": 2}]})
    ours = shape({"a": "1", "b": {"c": "y"}, "l": [{"type": "n", "d": 5}]})
    assert compare(real, ours) == (8, ["a", "l.[n].e"])


def test_lab_answers_have_the_keys_of_real_captures(running_lab: RunningLab) -> None:
    """97 %: what is left is CephFS's part of the fsmap (the lab has no CephFS) and `spice`
    (a serial console, not qxl)."""
    score, missing = share(lab_answers(running_lab))
    worst = {name: keys for name, keys in missing.items() if keys}
    assert score >= BAR, f"{score:.1%} of real-capture keys answered with the right type; missing: {worst}"
