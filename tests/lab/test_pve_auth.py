"""PVE authentication as clients meet it: API tokens, password tickets and the CSRF token for writes."""

from __future__ import annotations

import json

import pytest
import requests
from proxmoxer import AuthenticationError, ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.pve_client import proxmox


def _host_port(lab: RunningLab) -> tuple[str, int]:
    host, port = lab.pve_url.removeprefix("https://").split(":")
    return host, int(port)


def _password_api(lab: RunningLab, password: str) -> ProxmoxAPI:
    host, port = _host_port(lab)
    return ProxmoxAPI(host, port=port, user="root@pam", password=password, verify_ssl=lab.ca_file)


def test_an_api_token_reads_and_writes(running_lab: RunningLab) -> None:
    api = proxmox(running_lab)
    api.cluster.ceph.flags.noout.put(value=1)  # tokens need no CSRF token
    assert api.cluster.ceph.flags.noout.get() == 1


def test_a_wrong_token_secret_is_refused(running_lab: RunningLab) -> None:
    host, port = _host_port(running_lab)
    api = ProxmoxAPI(host, port=port, user="root@pam", token_name="drewburr", token_value="wrong",
                     verify_ssl=running_lab.ca_file)
    with pytest.raises(ResourceException) as exc:
        api.version.get()
    assert exc.value.status_code == 401
    assert "Authentication failed!" in str(exc.value)  # proxmoxer shows the reason phrase


def test_no_credentials_get_no_ticket(running_lab: RunningLab) -> None:
    answer = requests.get(f"{running_lab.pve_url}/api2/json/version", verify=running_lab.ca_file, timeout=10)
    assert (answer.status_code, answer.reason, answer.content) == (401, "No ticket", b"")


def test_a_password_ticket_reads_and_writes_with_csrf(running_lab: RunningLab) -> None:
    api = _password_api(running_lab, running_lab.lab.pve.passwords["root@pam"])
    assert api.version.get()["release"] == "9.1"
    api.cluster.ceph.flags.noout.put(value=1)  # proxmoxer sends CSRFPreventionToken on writes
    assert api.cluster.ceph.flags.noout.get() == 1


def test_a_wrong_password_is_an_authentication_failure(running_lab: RunningLab) -> None:
    with pytest.raises(AuthenticationError, match="code: 401"):
        _password_api(running_lab, "not-the-password")
    answer = requests.post(f"{running_lab.pve_url}/api2/json/access/ticket", verify=running_lab.ca_file,
                           data={"username": "root@pam", "password": "nope"}, timeout=10)
    assert answer.status_code == 401
    assert answer.json() == {"data": None, "message": "authentication failure\n"}


def test_a_ticket_write_without_csrf_token_is_refused(running_lab: RunningLab) -> None:
    url = f"{running_lab.pve_url}/api2/json"
    password = running_lab.lab.pve.passwords["root@pam"]
    login = requests.post(f"{url}/access/ticket", verify=running_lab.ca_file, timeout=10,
                          data={"username": "root@pam", "password": password})
    data = login.json()["data"]
    assert data["username"] == "root@pam" and data["ticket"].startswith("PVE:root@pam:")
    assert data["cap"]["vms"]["VM.Migrate"] == 1
    cookies = {"PVEAuthCookie": data["ticket"]}
    assert requests.get(f"{url}/cluster/ceph/flags/noout", cookies=cookies, verify=running_lab.ca_file,
                        timeout=10).json() == {"data": 0}
    refused = requests.put(f"{url}/cluster/ceph/flags/noout", cookies=cookies, data={"value": 1},
                           verify=running_lab.ca_file, timeout=10)
    assert (refused.status_code, refused.reason) == (401, "Permission denied - invalid csrf token")
    forged = requests.get(f"{url}/version", cookies={"PVEAuthCookie": data["ticket"] + "x"},
                          verify=running_lab.ca_file, timeout=10)
    assert (forged.status_code, forged.reason) == (401, "Authentication failed!")


def test_the_token_header_may_separate_its_value_with_a_space(running_lab: RunningLab) -> None:
    # pveproxy's extract_auth_value takes `PVEAPIToken=...` and `PVEAPIToken ...` alike
    header = f"PVEAPIToken root@pam!drewburr={running_lab.server.token_secret}"
    answer = requests.get(f"{running_lab.pve_url}/api2/json/version", headers={"Authorization": header},
                          verify=running_lab.ca_file, timeout=10)
    assert answer.json()["data"]["release"] == "9.1"


def test_header_names_are_case_insensitive_as_http_says(running_lab: RunningLab) -> None:
    url = f"{running_lab.pve_url}/api2/json"
    header = f"PVEAPIToken=root@pam!drewburr={running_lab.server.token_secret}"
    answer = requests.get(f"{url}/version", headers={"authorization": header},
                          verify=running_lab.ca_file, timeout=10)
    assert answer.status_code == 200
    password = running_lab.lab.pve.passwords["root@pam"]
    login = requests.post(f"{url}/access/ticket", verify=running_lab.ca_file, timeout=10,
                          data={"username": "root@pam", "password": password})
    data = login.json()["data"]
    written = requests.put(f"{url}/cluster/ceph/flags/noout", cookies={"PVEAuthCookie": data["ticket"]},
                           headers={"csrfpreventiontoken": data["CSRFPreventionToken"]}, data={"value": 1},
                           verify=running_lab.ca_file, timeout=10)
    assert written.status_code == 200


def test_a_valid_ticket_renews_itself_as_proxmoxer_does(running_lab: RunningLab) -> None:
    url = f"{running_lab.pve_url}/api2/json/access/ticket"
    password = running_lab.lab.pve.passwords["root@pam"]
    first = requests.post(url, data={"username": "root@pam", "password": password},
                          verify=running_lab.ca_file, timeout=10).json()["data"]["ticket"]
    renewed = requests.post(url, data={"username": "root@pam", "password": first},
                            verify=running_lab.ca_file, timeout=10)
    assert renewed.status_code == 200 and renewed.json()["data"]["ticket"].startswith("PVE:root@pam:")
    other_user = requests.post(url, data={"username": "admin@pve", "password": first},
                               verify=running_lab.ca_file, timeout=10)
    assert other_user.status_code == 401


def test_the_auditor_token_reads_but_writes_get_pves_403(running_lab: RunningLab) -> None:
    info = json.loads((running_lab.workdir / "lab.json").read_text())["auditor_token"]
    host, port = _host_port(running_lab)
    api = ProxmoxAPI(host, port=port, user="root@pam", token_name=info["token_id"].split("!")[1],
                     token_value=info["token_secret"], verify_ssl=running_lab.ca_file)
    assert api.nodes("blade3").qemu(105).status.current.get()["status"] == "running"
    assert api.cluster.ceph.status.get()["health"]["status"] == "HEALTH_OK"
    assert api.nodes("blade1").qemu(101).agent.ping.post() == {"result": {}}  # VM.GuestAgent.Audit
    for write, refused in [
            (lambda: api.nodes("blade3").qemu(105).status.stop.post(), "/vms/105, VM.PowerMgmt"),
            (lambda: api.nodes("blade3").qemu(105).migrate.post(target="bogus!"), "/vms/105, VM.Migrate"),
            (lambda: api.nodes("blade1").qemu(9000).clone.post(newid=150), "/vms/9000, VM.Clone"),
            (lambda: api.nodes("blade1").qemu(101).agent.exec.post(command="id"),
             "/vms/101, VM.GuestAgent.Unrestricted"),
            (lambda: api.cluster.ceph.flags.noout.put(value=1), "/, Sys.Modify")]:
        with pytest.raises(ResourceException) as exc:
            write()
        assert exc.value.status_code == 403  # before the parameters are checked, as on PVE
        assert f"Permission check failed ({refused})" in str(exc.value)
    assert running_lab.lab.ceph.flags == set()
