"""The infra layer: gateways, topology, planner, journaled operations.

- `gateways/`: one module per external system (PVE, Ceph through PVE, Kubernetes,
  Prometheus); the only code that imports client libraries. `gateways/pve.py` is the
  model to copy.
- `topology.py` (the snapshot models), `topology_build.py` (API payloads -> snapshot),
  `gather.py` (a fixed number of calls per system).
- `planner.py`: snapshot + intent -> plan; pure.
- `journal.py` (interface), `journal_sqlite.py`: operations, steps, locks, maintenance.
- `operations/`: the step machine and the drain, restore and reboot operations.
- `errors.py`: errors typed by what to do next.
"""
