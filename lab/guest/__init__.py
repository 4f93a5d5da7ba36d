"""The inside of a lab VM: an Ubuntu guest with a filesystem, processes and a small POSIX shell,
reached through the QEMU guest agent (lab/pve/agent.py)."""
