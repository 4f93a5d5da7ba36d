"""Scenario files: the seed homelab loads; a bad file is refused with its line and field."""

from __future__ import annotations

import pytest

from lab.scenario import ScenarioError, load_scenario, parse_scenario


def test_the_seed_homelab_loads() -> None:
    scenario = load_scenario(None)
    assert [b.name for b in scenario.blades] == ["blade1", "blade2", "blade3", "blade4"]
    assert {v.vmid: (v.name, v.blade, v.ha) for v in scenario.vms if v.vmid in (105, 9000)} == {
        105: ("kube05", "blade3", False), 9000: ("ubuntu-2404-cloudinit", "blade1", False)}


BLADE = "blades:\n  - {name: b1}\n"


@pytest.mark.parametrize(("text", "expected"), [
    ("", "f.yaml:1: a scenario is a mapping with 'blades' and 'vms'"),
    ("- a\n- b\n", "f.yaml:1: a scenario is a mapping"),
    ("\x00\x01 garbage", "f.yaml: not valid YAML: unacceptable character"),
    ("blades:\n  - {name: b1, colour: red}\n", "f.yaml:2: blades.0.colour: Extra inputs are not permitted"),
    ("blades: 3\n", "f.yaml:1: blades: Input should be a valid list"),
    ("blades:\n  - name: b1\n    cores: 2\n    cores: 3\n",
     "f.yaml:4: blades.0.cores: this key is already set"),
    (BLADE + "blades: []\n", "f.yaml:3: blades: this key is already set above"),
    (BLADE + "  - {name: b1}\n", "f.yaml:3: blades.1.name: blade 'b1' is already defined"),
    (BLADE + "vms:\n  - {vmid: 101, name: v, blade: b9}\n",
     "f.yaml:4: vms.0.blade: unknown blade 'b9'; blades: b1"),
    (BLADE + "vms:\n  - {vmid: 101, name: v, blade: b1}\n  - {vmid: 101, name: w, blade: b1}\n",
     "f.yaml:5: vms.1.vmid: VM 101 is already defined"),
    (BLADE + "vms:\n  - {vmid: -5, name: v, blade: b1}\n", "f.yaml:4: vms.0.vmid: Input should be greater"),
    ("blades:\n  - {name: b1, memory_gib: .inf}\n",
     "f.yaml:2: blades.0.memory_gib: Input should be a finite"),
    ("blades:\n  - {name: b1, cores: 99999999999999999999}\n",
     "f.yaml:2: blades.0.cores: Input should be less"),
    (BLADE + "timings: {vm_boot: -5}\n",
     "f.yaml:3: timings.vm_boot: Input should be greater than or equal to 0"),
    (BLADE + "storage: BAD STORAGE\n", "f.yaml:3: storage: String should match pattern"),
])
def test_a_bad_scenario_is_refused_with_line_and_field(text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, "f.yaml")
    assert str(exc.value).startswith(expected)


def test_an_unreadable_file_is_refused_with_its_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ScenarioError, match=r"missing.yaml: cannot read: No such file"):
        load_scenario(tmp_path / "missing.yaml")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ScenarioError, match=r"binary.yaml"):
        load_scenario(tmp_path / "binary.yaml")
