"""The built-in kinds the lab's API server serves: group, version, plural, kind, scope.

Custom kinds are not listed here: lab/k8s/registry.py adds one for each served version of an
established CustomResourceDefinition.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    custom: bool = False  # served from a CustomResourceDefinition, not built in
    singular: str = ""  # "" for the lowercased kind
    categories: tuple[str, ...] = ()
    stored_as: str = ""  # another resource's key whose objects these are, in another version's shape

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        return self.stored_as or f"{self.group}/{self.plural}"


RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "nodes", "Node", False, ("no",), ("status",)),
    Resource("", "v1", "pods", "Pod", True, ("po",),
             ("status", "eviction", "binding", "log", "exec", "attach", "portforward")),
    Resource("", "v1", "namespaces", "Namespace", False, ("ns",), ("status",)),
    Resource("", "v1", "services", "Service", True, ("svc",), ("status",)),
    Resource("", "v1", "endpoints", "Endpoints", True, ("ep",)),
    Resource("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    Resource("", "v1", "secrets", "Secret", True),
    Resource("", "v1", "events", "Event", True, ("ev",)),
    Resource("", "v1", "persistentvolumes", "PersistentVolume", False, ("pv",), ("status",)),
    Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",), ("status",)),
    Resource("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", False, (), ("status",)),
    Resource("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("status", "scale")),
    Resource("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("status", "scale")),
    Resource("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), ("status", "scale")),
    Resource("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), ("status",)),
    Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",), ("status",)),
    Resource("coordination.k8s.io", "v1", "leases", "Lease", True),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",), ("token",)),
    Resource("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    # the reviews: create-only, answered and never stored (lab/k8s/reviews.py)
    Resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
    Resource("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False),
    Resource("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False),
    Resource("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview", True),
    Resource("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False),
    Resource("batch", "v1", "jobs", "Job", True, (), ("status",)),
    Resource("networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",), ("status",)),
    Resource("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ("sc",)),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    # the same objects as core events (one storage), in events.k8s.io's field names
    Resource("events.k8s.io", "v1", "events", "Event", True, ("ev",), stored_as="/events"),
    Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
             False, ("crd", "crds"), ("status",)),
)

# kinds served for POST only: answered, never stored
CREATE_ONLY = frozenset({"SelfSubjectAccessReview", "SelfSubjectRulesReview", "SubjectAccessReview",
                         "LocalSubjectAccessReview", "SelfSubjectReview"})

# a kind served by two groups (Event) is named by the first, its storage
BY_KIND: dict[str, Resource] = {r.kind: r for r in reversed(RESOURCES)}
BY_PATH: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.plural): r for r in RESOURCES}
