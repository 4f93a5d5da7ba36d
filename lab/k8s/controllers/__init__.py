"""The control loops of the simulated K3s cluster, one module per controller.

`K8sCluster.advance` (lab/k8s/models.py) runs them in this order, each only when a kind in
its `watches` changed, its own timer is due, or the PVE side moved (a VM stopped, a blade
came back); `run(now)` returns the next time it must run regardless (None: no timer).

    helm             HelmChart -> helm-install Job (helm_job.py, klipper.py); when it completes,
                     release objects and Secret; helm-delete Job on removal
    deployment       Deployment -> ReplicaSets (pod-template-hash), rolling / Recreate
    replicaset       ReplicaSet -> pods (terminating pods do not count)
    statefulset      name-N pods, one PVC per replica, one at a time
    daemonset        one pod per eligible node, DaemonSet tolerations
    job              Job -> pods run to completion, backoffLimit, deadline, TTL after finished
    garbage_collector  dependents of deleted owners
    volumes          PVC -> RBD PV; VolumeAttachments, RWO on one node at a time
    scheduler        binds pending pods (filters and scores in placement.py); the binding subresource
    kubelet          NodeAgent (register, Lease every 10 s, status) and Kubelet (pods)
    node_lifecycle   50 s grace -> Unknown, unreachable/not-ready/unschedulable taints
    taint_eviction   NoExecute taints vs tolerations (300 s), PodGC out-of-service
    disruption       PodDisruptionBudget status
    endpoints        Service selector -> Endpoints (ready and not-ready pod addresses), EndpointSlice
    loadbalancer     MetalLB addresses for LoadBalancer Services
    ingress          Traefik's Ingress status (its LoadBalancer address)
    certmanager      ClusterIssuer Ready, Certificate -> kubernetes.io/tls Secret

K3s inside the VMs (install through the guest agent, node token) is lab/k8s/guest.py and
join.py; what runs at start is lab/k8s/workloads.py (charts in charts.py).

Timings come from `scenario.timings` (node_monitor_grace_period, pod_eviction_toleration,
vm_boot). Shared helpers: base (kinds, conditions, quantities, names), taints, pods,
admission (pod defaults, also used by the API server), events, eviction (the API method),
programs (what a container runs: when it ends, its exit code and log).
"""
