"""The lab: a simulated Proxmox VE + Ceph + K3s homelab served over the real APIs.

It is another system: nothing here imports the product (`bot`, `commands`, `infra`,
`alert_handlers`).
"""
