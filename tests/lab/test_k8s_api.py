"""The official Kubernetes client, unmodified, against the lab's API server: discovery, CRUD, errors."""

from __future__ import annotations

import json

import pytest
import requests
import yaml
from kubernetes import client

from tests.conftest import RunningLab
from tests.lab.kube import fresh_namespace, pod


def _status(exc: client.ApiException) -> dict:
    return json.loads(exc.body)


def _raw(lab: RunningLab, method: str, path: str, token: str | None = "lab", **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {lab.server.k8s_token if token == 'lab' else token}"
    return requests.request(method, f"https://127.0.0.1:{lab.server.ports.k8s}{path}", headers=headers,
                            verify=lab.ca_file, timeout=10, **kwargs)


def test_version_and_groups_are_discoverable(api: client.ApiClient) -> None:
    assert client.VersionApi(api).get_code().git_version == "v1.31.4+k3s1"
    listed = client.ApisApi(api).get_api_versions().groups
    groups = {g.name: g.preferred_version.group_version for g in listed}
    assert groups["apps"] == "apps/v1"
    assert groups["policy"] == "policy/v1"
    assert groups["helm.cattle.io"] == "helm.cattle.io/v1"
    assert groups["metallb.io"] == "metallb.io/v1beta1"


def test_core_resources_list_the_eviction_subresource_the_way_kubectl_drain_looks_for_it(
        api: client.ApiClient) -> None:
    resources = {r.name: r for r in client.CoreV1Api(api).get_api_resources().resources}
    eviction = resources["pods/eviction"]
    assert (eviction.group, eviction.version, eviction.kind, eviction.verbs) == ("policy", "v1", "Eviction",
                                                                                 ["create"])
    assert resources["nodes"].namespaced is False
    assert resources["pods"].short_names == ["po"]
    assert "watch" in resources["pods"].verbs
    apps = {r.name for r in client.AppsV1Api(api).get_api_resources().resources}
    assert {"deployments", "deployments/scale", "statefulsets", "daemonsets", "replicasets"} <= apps


def test_lab_json_and_the_kubeconfig_name_the_api_servers_port(kube_lab: RunningLab) -> None:
    port = kube_lab.server.ports.k8s
    assert json.loads((kube_lab.workdir / "lab.json").read_text())["k8s_port"] == port
    kubeconfig = yaml.safe_load((kube_lab.workdir / "kubeconfig").read_text())
    assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{port}"


def test_system_namespaces_exist_from_the_start(api: client.ApiClient) -> None:
    names = {n.metadata.name for n in client.CoreV1Api(api).list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_configmap_create_get_replace_delete(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    created = v1.create_namespaced_config_map(ns, {"metadata": {"name": "cfg"}, "data": {"a": "1"}})
    assert created.metadata.uid and created.metadata.resource_version
    got = v1.read_namespaced_config_map("cfg", ns)
    got.data["b"] = "2"
    replaced = v1.replace_namespaced_config_map("cfg", ns, got)
    assert replaced.data == {"a": "1", "b": "2"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    status = v1.delete_namespaced_config_map("cfg", ns)
    assert (status["kind"], status["status"], status["details"]["name"]) == ("Status", "Success", "cfg")
    with pytest.raises(client.ApiException) as gone:
        v1.read_namespaced_config_map("cfg", ns)
    assert gone.value.status == 404
    assert _status(gone.value)["message"] == 'configmaps "cfg" not found'


def test_create_twice_is_409_already_exists(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "dup"}})
    with pytest.raises(client.ApiException) as exc:
        v1.create_namespaced_config_map(ns, {"metadata": {"name": "dup"}})
    body = _status(exc.value)
    assert (exc.value.status, body["reason"], body["message"]) == (409, "AlreadyExists",
                                                                   'configmaps "dup" already exists')


def test_update_with_a_stale_resource_version_is_409_conflict(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    first = v1.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {"v": "1"}})
    v1.patch_namespaced_config_map("c", ns, {"data": {"v": "2"}})
    first.data = {"v": "3"}
    with pytest.raises(client.ApiException) as exc:
        v1.replace_namespaced_config_map("c", ns, first)
    body = _status(exc.value)
    assert (exc.value.status, body["reason"]) == (409, "Conflict")
    assert "the object has been modified" in body["message"]
    assert v1.read_namespaced_config_map("c", ns).data == {"v": "2"}


def test_a_write_that_changes_nothing_keeps_the_resource_version(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    cm = v1.create_namespaced_config_map(ns, {"metadata": {"name": "same"}, "data": {"v": "1"}})
    again = v1.patch_namespaced_config_map("same", ns, {"data": {"v": "1"}})
    assert again.metadata.resource_version == cm.metadata.resource_version


def test_creating_in_a_missing_namespace_is_404(api: client.ApiClient) -> None:
    with pytest.raises(client.ApiException) as exc:
        client.CoreV1Api(api).create_namespaced_config_map("nowhere", {"metadata": {"name": "x"}})
    assert exc.value.status == 404
    assert _status(exc.value)["message"] == 'namespaces "nowhere" not found'


def test_an_object_without_a_name_is_422_invalid_with_causes(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    with pytest.raises(client.ApiException) as exc:
        client.CoreV1Api(api).create_namespaced_pod(ns, {"metadata": {}, "spec": {"containers": [
            {"name": "a", "image": "busybox"}]}})
    body = _status(exc.value)
    assert (exc.value.status, body["reason"]) == (422, "Invalid")
    assert body["message"] == ('Pod "" is invalid: metadata.name: Required value: name or generateName is '
                               "required")
    assert body["details"]["causes"] == [{"reason": "FieldValueRequired", "field": "metadata.name",
                                          "message": "Required value: name or generateName is required"}]


def test_a_label_that_is_not_a_valid_name_is_422_in_the_servers_words(api: client.ApiClient) -> None:
    with pytest.raises(client.ApiException) as exc:
        client.CoreV1Api(api).patch_node("kube01", {"metadata": {"labels": {"drewburr.io/bad key": "x"}}})
    body = _status(exc.value)
    assert (exc.value.status, body["reason"]) == (422, "Invalid")
    assert body["message"].startswith('Node "kube01" is invalid: metadata.labels: Invalid value: '
                                      '"drewburr.io/bad key": name part must consist of alphanumeric')
    assert "drewburr.io/bad key" not in (client.CoreV1Api(api).read_node("kube01").metadata.labels or {})


def test_generate_name_gets_a_random_suffix(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    cm = client.CoreV1Api(api).create_namespaced_config_map(ns, {"metadata": {"generateName": "job-"}})
    assert cm.metadata.name.startswith("job-") and len(cm.metadata.name) == len("job-") + 5


def test_pods_get_the_servers_defaults_and_a_pending_status(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    body = pod("web")
    body["status"] = {"phase": "Running"}
    created = client.CoreV1Api(api).create_namespaced_pod(ns, body)
    assert created.status.phase == "Pending"
    assert created.spec.termination_grace_period_seconds == 30
    assert {(t.key, t.toleration_seconds) for t in created.spec.tolerations} == {
        ("node.kubernetes.io/not-ready", 300), ("node.kubernetes.io/unreachable", 300)}


def test_malformed_json_is_400_with_the_servers_wording(kube_lab: RunningLab) -> None:
    r = _raw(kube_lab, "POST", "/api/v1/namespaces/default/configmaps", data=b"{not json",
             headers={"Content-Type": "application/json"})
    body = r.json()
    assert (r.status_code, body["kind"], body["reason"]) == (400, "Status", "BadRequest")
    assert body["message"] == ("the object provided is unrecognized (must be of type ConfigMap): couldn't "
                               "get version/kind; json parse error: invalid character 'n' looking for "
                               "beginning of object key string ({not json)")


def test_a_body_of_another_kind_is_400(kube_lab: RunningLab) -> None:
    r = _raw(kube_lab, "POST", "/api/v1/namespaces/default/configmaps",
             json={"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s"}})
    assert r.status_code == 400
    assert r.json()["message"].startswith('Secret in version "v1" cannot be handled as a ConfigMap')


def test_a_name_that_differs_from_the_url_is_400(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "one"}})
    with pytest.raises(client.ApiException) as exc:
        v1.replace_namespaced_config_map("one", ns, {"metadata": {"name": "two"}})
    assert exc.value.status == 400
    assert _status(exc.value)["message"] == ("the name of the object (two) does not match the name on the "
                                             "URL (one)")


def test_unknown_resources_are_404_not_found(kube_lab: RunningLab) -> None:
    for path in ("/api/v1/widgets", "/apis/nope.example.com/v1/things", "/apis/apps/v1/namespaces/x/pods"):
        r = _raw(kube_lab, "GET", path)
        assert r.status_code == 404, path
        assert r.json()["reason"] == "NotFound"
        assert r.json()["message"] == "the server could not find the requested resource"


def test_a_request_without_the_token_is_401(kube_lab: RunningLab) -> None:
    for token in (None, "wrong"):
        r = _raw(kube_lab, "GET", "/api/v1/nodes", token=token)
        assert (r.status_code, r.json()["reason"]) == (401, "Unauthorized")
    assert _raw(kube_lab, "GET", "/version", token=None).status_code == 200


def test_a_method_the_resource_does_not_allow_is_405(kube_lab: RunningLab) -> None:
    r = _raw(kube_lab, "PUT", "/api/v1/namespaces/default/configmaps", json={})
    assert (r.status_code, r.json()["reason"]) == (405, "MethodNotAllowed")


def test_status_writes_change_only_status_and_spec_writes_leave_status(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    v1.create_namespaced_pod(ns, pod("p"))
    v1.patch_namespaced_pod_status("p", ns, {"status": {"phase": "Running"},
                                             "metadata": {"labels": {"ignored": "yes"}}})
    got = v1.read_namespaced_pod("p", ns)
    assert got.status.phase == "Running"
    assert "ignored" not in (got.metadata.labels or {})
    v1.patch_namespaced_pod("p", ns, {"status": {"phase": "Failed"}, "metadata": {"labels": {"kept": "yes"}}})
    got = v1.read_namespaced_pod("p", ns)
    assert got.status.phase == "Running"
    assert got.metadata.labels["kept"] == "yes"


def test_custom_resources_round_trip_through_the_custom_objects_api(api: client.ApiClient) -> None:
    ns = fresh_namespace(api)
    co = client.CustomObjectsApi(api)
    chart = {"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart", "metadata": {"name": "traefik"},
             "spec": {"chart": "traefik", "repo": "https://traefik.github.io/charts"}}
    co.create_namespaced_custom_object("helm.cattle.io", "v1", ns, "helmcharts", chart)
    listed = co.list_namespaced_custom_object("helm.cattle.io", "v1", ns, "helmcharts")
    assert listed["kind"] == "HelmChartList"
    assert [i["spec"]["chart"] for i in listed["items"]] == ["traefik"]
    assert listed["items"][0]["kind"] == "HelmChart"  # custom resources' list items keep their kind


def test_deleting_a_namespace_deletes_what_is_in_it(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
    deleted = v1.delete_namespace(ns)
    assert deleted["status"]["phase"] == "Terminating"
    with pytest.raises(client.ApiException) as exc:
        v1.read_namespaced_config_map("c", ns)
    assert exc.value.status == 404


def test_deleting_an_owner_deletes_its_dependents_unless_told_to_orphan_them(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    for owner in ("a", "b"):
        uid = v1.create_namespaced_config_map(ns, {"metadata": {"name": owner}}).metadata.uid
        ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner, "uid": uid}
        child = {"metadata": {"name": f"{owner}-child", "ownerReferences": [ref]}}
        v1.create_namespaced_config_map(ns, child)
    v1.delete_namespaced_config_map("a", ns)
    v1.delete_namespaced_config_map("b", ns, propagation_policy="Orphan")
    left = {c.metadata.name: c.metadata.owner_references for c in v1.list_namespaced_config_map(ns).items}
    assert left == {"b-child": None}


def test_delete_with_a_stale_precondition_is_409(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
    with pytest.raises(client.ApiException) as exc:
        v1.delete_namespaced_config_map("c", ns, body={"preconditions": {"resourceVersion": "1"}})
    assert (exc.value.status, _status(exc.value)["reason"]) == (409, "Conflict")
    assert "Precondition failed" in _status(exc.value)["message"]


def test_scale_subresource_sets_replicas(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    ns = fresh_namespace(api)
    apps.create_namespaced_deployment(ns, {"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"app": "d"}},
        "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [
            {"name": "c", "image": "nginx"}]}}}})
    assert apps.read_namespaced_deployment_scale("d", ns).spec.replicas == 1
    apps.patch_namespaced_deployment_scale("d", ns, {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("d", ns).spec.replicas == 3


def test_services_get_a_cluster_ip_and_load_balancers_node_ports(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    ips = set()
    for name, kind in (("web", "ClusterIP"), ("edge", "LoadBalancer")):
        svc = v1.create_namespaced_service(ns, {"metadata": {"name": name}, "spec": {
            "type": kind, "selector": {"app": name}, "ports": [{"port": 80}]}})
        ips.add(svc.spec.cluster_ip)
        assert svc.spec.cluster_ip.startswith("10.43.")
        assert svc.spec.ports[0].target_port == 80
    assert len(ips) == 2
    edge = v1.read_namespaced_service("edge", ns)
    assert 30000 <= edge.spec.ports[0].node_port <= 32767


def test_a_custom_kind_is_served_only_while_its_crd_exists(api: client.ApiClient) -> None:
    ext, co = client.ApiextensionsV1Api(api), client.CustomObjectsApi(api)
    crd = ext.read_custom_resource_definition("servicemonitors.monitoring.coreos.com")
    assert crd.spec.names.kind == "ServiceMonitor"
    assert {c.type: c.status for c in crd.status.conditions}["Established"] == "True"
    ns = fresh_namespace(api)
    co.create_namespaced_custom_object("monitoring.coreos.com", "v1", ns, "servicemonitors", {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "m"},
        "spec": {"endpoints": [{"port": "http"}], "selector": {}}})
    ext.delete_custom_resource_definition("servicemonitors.monitoring.coreos.com")
    with pytest.raises(client.ApiException) as exc:
        co.list_namespaced_custom_object("monitoring.coreos.com", "v1", ns, "servicemonitors")
    assert exc.value.status == 404
    listed = co.get_api_resources("monitoring.coreos.com", "v1").resources
    assert "servicemonitors" not in {r.name for r in listed}
    assert "prometheusrules" in {r.name for r in listed}
    crd.metadata = client.V1ObjectMeta(name=crd.metadata.name)
    ext.create_custom_resource_definition(crd)  # installing it again serves the kind again, empty
    again = co.list_namespaced_custom_object("monitoring.coreos.com", "v1", ns, "servicemonitors")
    assert again["items"] == []


def test_dry_run_writes_change_nothing(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    ns = fresh_namespace(api)
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "dry"}, "data": {"v": "1"}}, dry_run="All")
    with pytest.raises(client.ApiException):
        v1.read_namespaced_config_map("dry", ns)
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "kept"}, "data": {"v": "1"}})
    v1.patch_namespaced_config_map("kept", ns, {"data": {"v": "2"}}, dry_run="All")
    v1.delete_namespaced_config_map("kept", ns, dry_run="All")
    v1.delete_collection_namespaced_config_map(ns, dry_run="All")
    assert v1.read_namespaced_config_map("kept", ns).data == {"v": "1"}
