"""The API server and scheduler the kube tests run against (tests/kubefixtures.py).

The stand-ins unless KSHELL_TEST_APISERVER / KSHELL_TEST_SCHEDULER name the real v0.3
binaries; these tests pass unchanged with either, which is what keeps the stand-ins honest.
"""

from __future__ import annotations

import json
import time
import urllib.request


def etcd_value(etcd, key: str):
    with urllib.request.urlopen(f"{etcd.url}/v2/keys{key}") as r:
        node = json.load(r)["node"]
    return json.loads(node["value"]), node["modifiedIndex"]


def test_objects_live_in_etcd_under_registry(apiserver, etcd):
    created = apiserver.create_pod("hello-pod", labels={"name": "hello"})
    stored, index = etcd_value(etcd, "/registry/pods/hello-pod")
    assert stored["kind"] == "Pod" and stored["id"] == "hello-pod"
    assert stored["desiredState"]["status"] == "Running"
    assert stored["currentState"]["status"] == "Waiting"
    assert stored["desiredState"]["manifest"]["uuid"]
    assert created["resourceVersion"] == index
    got = apiserver.get("pods", "hello-pod")
    assert got["resourceVersion"] == index and got["creationTimestamp"].endswith("Z")
    assert got["currentState"]["status"] == "Waiting" and "host" not in got["currentState"]

    apiserver.create_rc("web", replicas=2, selector={"name": "hello"})
    rc, _ = etcd_value(etcd, "/registry/controllers/web")
    assert rc["desiredState"]["replicas"] == 2
    # a controller's current replicas are the pods its selector matches
    assert apiserver.get("replicationControllers", "web")["currentState"]["replicas"] == 1

    apiserver.create_service("hello-svc", port=8000, selector={"name": "hello"})
    svc, _ = etcd_value(etcd, "/registry/services/specs/hello-svc")
    assert svc["port"] == 8000 and svc["protocol"] == "TCP"


def test_lists_selectors_minions_and_errors(apiserver):
    apiserver.create_pod("a", labels={"name": "a", "tier": "web"})
    apiserver.create_pod("b", labels={"name": "b", "tier": "db"})
    assert [p["id"] for p in apiserver.list("pods", "tier=web")] == ["a"]
    assert [p["id"] for p in apiserver.list("pods", "tier!=web")] == ["b"]
    assert apiserver.ids("minions") == ["10.0.0.5", "127.0.0.1"]

    code, body = apiserver.request("GET", "pods/nosuch")
    assert code == 404
    assert body["kind"] == "Status" and body["reason"] == "not_found"
    assert body["message"] == 'pod "nosuch" not found'
    code, body = apiserver.request(
        "POST",
        "pods",
        {"id": "a", "kind": "Pod", "desiredState": {"manifest": {"version": "v1beta1", "id": "a"}}},
    )
    assert (code, body["reason"]) == (409, "already_exists")
    code, body = apiserver.request("POST", "pods", {"id": "bad", "kind": "Pod"})
    assert code == 422 and body["reason"] == "invalid"
    assert "desiredState.manifest.version: required value" in body["message"]


def test_without_a_scheduler_pods_keep_no_host(apiserver):
    """The seed's broken master: apiserver and controller-manager, no scheduler."""
    apiserver.create_pod("lonely")
    time.sleep(1.5)
    assert apiserver.pod_host("lonely") == ""
    assert apiserver.get("pods", "lonely")["currentState"]["status"] == "Waiting"


def test_the_scheduler_gives_pods_a_minion(apiserver, scheduler):
    apiserver.create_pod("hello-pod")
    host = apiserver.wait_for(lambda: apiserver.pod_host("hello-pod"), what="a host")
    assert host in ("127.0.0.1", "10.0.0.5")
    assert apiserver.get("pods", "hello-pod")["desiredState"]["host"] == host
    # no kubelet runs in tests: the pod stays Waiting on its minion
    assert apiserver.get("pods", "hello-pod")["currentState"]["status"] == "Waiting"
