"""Properties the planner keeps for any cluster shape (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from infra.planner import Intent, PlanOptions, plan
from infra.topology import GIB, Blade, K8sNode, Snapshot, Vm


@st.composite
def clusters(draw) -> Snapshot:
    n = draw(st.integers(2, 8))
    blades = {f"b{i}": Blade(name=f"b{i}", maxmem=draw(st.integers(4, 64)) * GIB,
                             online=draw(st.booleans()) if i else True,
                             maintenance=draw(st.booleans()) if i else False) for i in range(n)}
    vms, nodes = {}, {}
    for vmid in range(100, 100 + draw(st.integers(0, 24))):
        blade = f"b{draw(st.integers(0, n - 1))}"
        vms[vmid] = Vm(vmid=vmid, name=f"vm{vmid}", blade=blade, maxmem=draw(st.integers(1, 16)) * GIB,
                       status=draw(st.sampled_from(["running", "running", "stopped"])))
        nodes[f"vm{vmid}"] = K8sNode(name=f"vm{vmid}", server=draw(st.booleans()), vm=vmid)
    return Snapshot(blades=blades, vms=vms, nodes=nodes)


@settings(max_examples=200, deadline=None)
@given(clusters(), st.floats(0, 4))
def test_moves_never_overfill_a_blade_nor_use_an_ineligible_one(snap, headroom):
    p = plan(snap, Intent(kind="drain", blade="b0"), PlanOptions(headroom_gib=headroom,
                                                                 allow_more_maintenance=True))
    used = {b: sum(vm.maxmem for vm in snap.vms.values() if vm.running and vm.blade == b)
            for b in snap.blades}
    for move in p.moves:
        assert move.source == "b0"
        if move.target is not None:
            target = snap.blades[move.target]
            assert move.target != "b0" and target.online and not target.maintenance
            used[move.target] += move.memory
    for name, blade in snap.blades.items():
        if name != "b0" and any(m.target == name for m in p.moves):
            assert used[name] <= blade.maxmem - headroom * GIB + 1
    running_here = {vm.vmid for vm in snap.vms.values() if vm.blade == "b0" and vm.running}
    assert {m.vmid for m in p.moves} == running_here
    if any(m.target is None for m in p.moves):
        assert not p.ok and "capacity" in {f.code for f in p.blockers}


@settings(max_examples=200, deadline=None)
@given(clusters())
def test_a_server_joins_another_server_only_with_an_etcd_warning(snap):
    p = plan(snap, Intent(kind="drain", blade="b0"), PlanOptions(allow_more_maintenance=True))
    servers = {n.vm for n in snap.nodes.values() if n.server}
    taken = {vm.blade for vm in snap.vms.values() if vm.vmid in servers and vm.running and vm.blade != "b0"}
    for move in p.moves:
        if move.server and move.target:
            if move.target in taken:
                assert "quorum-etcd" in {f.code for f in p.warnings}
            taken.add(move.target)
