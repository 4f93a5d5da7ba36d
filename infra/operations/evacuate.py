"""`evacuate BLADE`: the planned drain of a sick but alive blade, started by remediation.

The same steps as `drain` (plan, noout, cordon, evict, migrate, mark): the blade ends in
maintenance, and `drewburr restore BLADE` brings it back. One difference: when the blade's OSD
is what is failing, Ceph must not be told to wait (`noout`): its data has to re-replicate onto
the other OSDs, so the noout step is left out.
"""

from __future__ import annotations

from infra.operations.context import Context
from infra.operations.drain import drain_steps
from infra.operations.machine import Step


def evacuate_steps(ctx: Context, op_id: int, blade: str, keep_noout: bool = True) -> list[Step]:
    steps = drain_steps(ctx, op_id, blade)
    return steps if keep_noout else [s for s in steps if s.name != "noout"]
