"""The Node object K3s registers for a VM, and the status its kubelet posts."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from lab.k8s.controllers.base import Obj, set_condition
from lab.k8s.join import K3S_VERSION, K3sJoin
from lab.pve.agent import guest_ipv4

if TYPE_CHECKING:
    from lab.pve.models import Vm

KIB = 1024
KERNEL_RESERVED = 80 * 1024**2  # what the guest kernel keeps: MemTotal < the VM's RAM
EVICTION_HARD = 100 * 1024**2  # kubelet's memory.available<100Mi comes off allocatable
_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)
# what the kubelet reports until flannel has written its CNI config
_NO_CNI = ("Ready", "False", "KubeletNotReady",
           "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
           "message:Network plugin returns error: cni plugin not initialized")


def _conditions(network_ready: bool) -> tuple[tuple[str, str, str, str], ...]:
    return _CONDITIONS if network_ready else (*_CONDITIONS[:3], _NO_CNI)


def vm_ip(vm: Vm) -> str:
    """The address the guest agent reports too."""
    return guest_ipv4(vm)[0]


def _hex(seed: str, n: int = 32) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def _resources(vm: Vm) -> tuple[dict[str, str], dict[str, str]]:
    """Capacity and allocatable as the kubelet reads them from the machine it runs on."""
    capacity = {
        "cpu": str(vm.cores),
        "ephemeral-storage": f"{vm.maxdisk * 97 // 100 // KIB}Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{(vm.memory - KERNEL_RESERVED) // KIB}Ki",
        "pods": "110",
    }
    allocatable = capacity | {
        "ephemeral-storage": str(vm.maxdisk * 97 // 100 * 9 // 10),
        "memory": f"{(vm.memory - KERNEL_RESERVED - EVICTION_HARD) // KIB}Ki",
    }
    return capacity, allocatable


def node_object(vm: Vm, join: K3sJoin, index: int, heartbeat: float) -> Obj:
    name, ip = join.node_name or vm.name, vm_ip(vm)
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": "k3s",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "k3s",
    }
    if join.role == "server":
        labels |= {f"node-role.kubernetes.io/{r}": "true" for r in ("control-plane", "etcd", "master")}
    labels |= join.labels
    capacity, allocatable = _resources(vm)
    cidr = f"10.42.{index}.0/24"
    node: Obj = {
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": ip,
                "k3s.io/hostname": name,
                "k3s.io/internal-ip": ip,
                "k3s.io/node-args": join.node_args(),
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr], "providerID": f"k3s://{name}"},
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": _hex(f"machine-{vm.vmid}"),
                "systemUUID": _hex(f"uuid-{vm.vmid}", 8) + "-0000-4000-8000-" + _hex(f"uuid-{vm.vmid}", 12),
                "bootID": _boot_id(vm),
                "kernelVersion": "6.8.0-49-generic",
                "osImage": "Ubuntu 24.04.1 LTS",
                "containerRuntimeVersion": "containerd://1.7.23-k3s2",
                "kubeletVersion": K3S_VERSION,
                "kubeProxyVersion": K3S_VERSION,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
            "images": [],
            "conditions": [],
        },
    }
    if join.taints:
        node["spec"]["taints"] = [dict(t) for t in join.taints]
    for kind, status, reason, message in _conditions(heartbeat >= join.cni_at):
        set_condition(node["status"]["conditions"], kind, status, heartbeat, reason, message, heartbeat=True)
    return node


def _boot_id(vm: Vm) -> str:
    """New at every start of the VM, as /proc/sys/kernel/random/boot_id is."""
    h = _hex(f"boot-{vm.vmid}-{vm.started_at}")
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def node_status(node: Obj, vm: Vm, now: float, network_ready: bool = True) -> None:
    """What the kubelet posts: healthy conditions with a fresh heartbeat, this boot's ID and machine size
    (a VM given more cores or memory shows them once it has restarted)."""
    status = node.setdefault("status", {})
    status.setdefault("nodeInfo", {})["bootID"] = _boot_id(vm)
    status["capacity"], status["allocatable"] = _resources(vm)
    conditions = node["status"].setdefault("conditions", [])
    for kind, status, reason, message in _conditions(network_ready):
        set_condition(conditions, kind, status, now, reason, message, heartbeat=True)
