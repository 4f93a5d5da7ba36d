#!/bin/sh
# drewburr's PVE identity: the DrewburrOperator role (only what its calls check, README: PVE privileges),
# a user and a privilege-separated API token holding that role on /. Run once on any PVE node, as root.
#   Sys.Audit      GET /cluster/status, /cluster/ha/status/current, Ceph status, flags and OSD tree
#   Sys.Modify     PUT /cluster/ceph/flags/noout (on /: PVE checks it there)
#   Sys.PowerMgmt  POST /nodes/{node}/status command=reboot (reboot)
#   VM.Audit       the VMs in GET /cluster/resources (PVE leaves out the others: a blade would look
#                  empty), GET /nodes/{node}/qemu/{vmid}/status/current around a migration
#   VM.Migrate     GET and POST /nodes/{node}/qemu/{vmid}/migrate (drain, restore)
# provision:
#   VM.Clone       POST /nodes/{node}/qemu/{template}/clone (on the template)
#   VM.Allocate    the new VMID of the clone; DELETE of a VM whose K3s join failed
#   Datastore.AllocateSpace  the clone's disks on provision.storage
#   VM.Config.Cloudinit, VM.Config.CPU, VM.Config.Memory, VM.Config.Disk
#                  POST/PUT .../config (cloud-init, cores, memory), PUT .../resize
#   VM.PowerMgmt   POST .../status/start
#   VM.GuestAgent.Unrestricted  the guest agent's exec, file-read and file-write (installing K3s)
#   Sys.Console    POST/DELETE /cluster/ha/resources, PUT /cluster/ha/rules/{rule} (provision.ha)
# bootstrap: provision's, for each VM; the new cluster's admin kubeconfig is a guest agent file-read
#   (VM.GuestAgent.Unrestricted). `addons` calls no PVE API.
set -eu
# one line, sorted: the README quotes it
pveum role add DrewburrOperator --privs "Datastore.AllocateSpace Sys.Audit Sys.Console Sys.Modify Sys.PowerMgmt VM.Allocate VM.Audit VM.Clone VM.Config.CPU VM.Config.Cloudinit VM.Config.Disk VM.Config.Memory VM.GuestAgent.Unrestricted VM.Migrate VM.PowerMgmt"
pveum user add drewburr@pve --comment "drewburr ChatOps bot"
pveum acl modify / --users drewburr@pve --roles DrewburrOperator
# privsep 1: the token holds only its own ACL (the role below), not everything its user may do
pveum user token add drewburr@pve bot --privsep 1 --comment "drewburr serve"
pveum acl modify / --tokens 'drewburr@pve!bot' --roles DrewburrOperator
