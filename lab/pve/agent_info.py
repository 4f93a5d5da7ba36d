"""The guest agent's read-only queries the PVE GUI makes: time, timezone, users, vCPUs,
filesystems, memory blocks and the freeze status; answers shaped as qemu-ga's QAPI schema."""

from __future__ import annotations

from typing import Any

from lab.pve.agent_guest import AgentGuestApi

MEMORY_BLOCK = 128 * 1024**2  # x86-64's memory block size
EFI_PARTITION = 106 * 1024**2  # the cloud image's /boot/efi
USED_ROOT = 2_400 * 1024**2  # what the cloud image and K3s take on /


# the commands qemu-server registers one path each for (API2::Qemu::Agent), and those it adds by hand
COMMANDS = ("fsfreeze-freeze", "fsfreeze-status", "fsfreeze-thaw", "fstrim", "get-fsinfo",
            "get-host-name", "get-memory-block-info", "get-memory-blocks", "get-osinfo", "get-time",
            "get-timezone", "get-users", "get-vcpus", "info", "network-get-interfaces", "ping", "shutdown",
            "suspend-disk", "suspend-hybrid", "suspend-ram", "exec", "exec-status", "file-read",
            "file-write", "set-user-password")


class AgentInfoApi(AgentGuestApi):
    def qemu_agent_index(self, node: str, vmid: int, now: float) -> list[dict[str, str]]:
        self.vm_on(node, vmid, now)  # the index needs the VM, not its agent
        return [{"name": name} for name in sorted(COMMANDS)]

    def qemu_agent_get_time(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        self._agent_vm(node, vmid, now)
        return {"result": int(now * 1e9)}  # nanoseconds, from the guest's clock

    def qemu_agent_get_timezone(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        self._agent_vm(node, vmid, now)
        return {"result": {"zone": "UTC", "offset": 0}}  # cloud images run on UTC

    def qemu_agent_get_users(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        self._agent_vm(node, vmid, now)
        return {"result": []}  # nobody logged in: the lab's guests are driven through the agent

    def qemu_agent_get_vcpus(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        vm = self._agent_vm(node, vmid, now)
        return {"result": [{"logical-id": i, "online": True, "can-offline": i > 0} for i in range(vm.cores)]}

    def qemu_agent_get_fsinfo(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        vm = self._agent_vm(node, vmid, now)

        def disk(partition: int) -> list[dict[str, Any]]:
            return [{"pci-controller": {"domain": 0, "bus": 9, "slot": 1, "function": 0}, "bus-type": "scsi",
                     "bus": 0, "target": 0, "unit": 0, "serial": "0QEMU_QEMU_HARDDISK_drive-scsi0",
                     "dev": f"/dev/sda{partition}"}]

        root_total = max(vm.maxdisk - EFI_PARTITION - 1024**2, 0)
        return {"result": [
            {"name": "sda1", "mountpoint": "/", "type": "ext4", "used-bytes": min(USED_ROOT, root_total),
             "total-bytes": root_total, "disk": disk(1)},
            {"name": "sda15", "mountpoint": "/boot/efi", "type": "vfat", "used-bytes": 6_334_976,
             "total-bytes": 109_422_592, "disk": disk(15)},
        ]}

    def qemu_agent_get_memory_block_info(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        self._agent_vm(node, vmid, now)
        return {"result": {"size": MEMORY_BLOCK}}

    def qemu_agent_get_memory_blocks(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        vm = self._agent_vm(node, vmid, now)
        return {"result": [{"phys-index": i, "online": True, "can-offline": i > 0}
                           for i in range(vm.memory // MEMORY_BLOCK)]}

    def qemu_agent_fsfreeze_status(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        self._agent_vm(node, vmid, now)
        return {"result": "thawed"}  # the lab never freezes a guest's filesystems
