"""Simulated Ceph, managed by PVE: OSDs, monitors, flags and health checks."""
