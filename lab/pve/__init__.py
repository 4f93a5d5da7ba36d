"""Simulated Proxmox VE: blades, VMs, tasks, HA, quorum; served under /api2/json."""
