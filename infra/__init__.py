"""The infra layer: gateways, topology, planner, journaled operations."""
