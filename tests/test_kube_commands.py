"""The kube commands end to end: kshell lines → the pinned kubecfg → an API server → etcd.

kubecfg, the API server and the scheduler are the stand-ins in tests/standins unless
KSHELL_TEST_KUBECFG, KSHELL_TEST_APISERVER and KSHELL_TEST_SCHEDULER name the real v0.3
binaries; every test here passes unchanged with either (tests/kubefixtures.py).
"""

from __future__ import annotations

import json
import time

import pytest
from kubefixtures import KubeShell, controller, pod, service

from kshell.sandbox import free_port

POD_YAML = """\
id: yaml-pod
kind: Pod
apiVersion: v1beta1
desiredState:
  manifest:
    version: v1beta1
    id: yaml-pod
    containers:
      - name: web
        image: nginx
labels:
  name: yaml-pod
"""


@pytest.fixture
def files(tmp_path, monkeypatch):
    d = tmp_path / "objects"
    d.mkdir()
    (d / "pod.json").write_text(json.dumps(pod("hello-pod", labels={"name": "hello"})))
    (d / "pod.yaml").write_text(POD_YAML)
    (d / "svc.json").write_text(json.dumps(service("hello", port=8000)))
    (d / "rc.json").write_text(json.dumps(controller("web", replicas=2)))
    monkeypatch.chdir(d)
    return d


def table(out: str) -> list[list[str]]:
    """Rows of a kubecfg table (after the header and the dashes), split on 2+ spaces."""
    import re

    lines = out.splitlines()
    assert lines[1].startswith("----------"), out
    return [re.split(r"\s{2,}", line.strip()) for line in lines[2:] if line.strip()]


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "http.Request" not in err and "kubecfg.go" not in err and "\tat " not in err
    return lines[0]


# -- settings and the tool's flags ----------------------------------------------------------


def test_env_kubecfg_shows_the_host_flag_it_gets(kube_shell, apiserver, monkeypatch):
    status, out, _ = kube_shell.run("env kubecfg")
    assert status == 0
    assert f"flags: -h {apiserver.url}" in out
    # KUBERNETES_MASTER, as the 2014 procedure exported it, overrides the context
    monkeypatch.setenv("KUBERNETES_MASTER", "http://10.1.1.245:8080")
    assert "flags: -h http://10.1.1.245:8080" in kube_shell.run("env kubecfg")[1]
    monkeypatch.delenv("KUBERNETES_MASTER")
    assert kube_shell.run("context set kube.master 10.1.1.245:8080")[0] == 0
    assert "flags: -h http://10.1.1.245:8080" in kube_shell.run("env kubecfg")[1]


@pytest.mark.parametrize(
    "value", ["ftp://10.1.1.245:8080", "http://10.1.1.245:8080/api", "http://:8080", "http://h:x"]
)
def test_a_bad_master_is_refused(kube_shell, value):
    status, _, err = kube_shell.run(f"context set kube.master {value}")
    assert status == 2 and err.count("\n") == 1, err


def test_raw_kubecfg_gets_the_contexts_master(kube_shell):
    status, out, _ = kube_shell.run("kubecfg list /minions")
    assert status == 0
    assert table(out) == [["10.0.0.5"], ["127.0.0.1"]]


# -- lists -------------------------------------------------------------------------------------


def test_lists_with_selectors_and_json(kube_shell, apiserver):
    apiserver.create_pod("front", labels={"name": "front", "tier": "web"})
    apiserver.create_pod("db", labels={"name": "db", "tier": "db"})
    apiserver.create_service("hello", port=8000, selector={"tier": "web"})
    apiserver.create_rc("web", replicas=2, selector={"tier": "web"})

    status, out, err = kube_shell.run("kube pods")
    assert status == 0, err
    # v0.3 lists in etcd's order, which is not sorted: compare sorted
    assert sorted(table(out)) == [
        ["db", "busybox", "/", "name=db,tier=db", "Waiting"],
        ["front", "busybox", "/", "name=front,tier=web", "Waiting"],
    ]
    assert [r[0] for r in table(kube_shell.run("kube pods -l tier=web")[1])] == ["front"]
    assert [r[0] for r in table(kube_shell.run("kube pods -l tier!=web")[1])] == ["db"]
    assert table(kube_shell.run("kube minions")[1]) == [["10.0.0.5"], ["127.0.0.1"]]
    assert table(kube_shell.run("kube services")[1]) == [
        ["hello", "name=hello", "tier=web", "8000"]
    ]
    assert table(kube_shell.run("kube rcs")[1]) == [["web", "nginx", "tier=web", "2"]]

    status, out, _ = kube_shell.run("kube pods --json -l tier=db")
    assert status == 0
    listed = json.loads(out)
    assert listed["kind"] == "PodList" and [p["id"] for p in listed["items"]] == ["db"]
    minions = json.loads(kube_shell.run("kube minions --json")[1])
    assert [m["id"] for m in minions["items"]] == ["10.0.0.5", "127.0.0.1"]
    assert json.loads(kube_shell.run("kube rcs --json")[1])["items"][0]["id"] == "web"
    assert json.loads(kube_shell.run("kube services --json")[1])["items"][0]["port"] == 8000


def test_a_bad_selector_is_a_usage_error(kube_shell):
    status, _, err = kube_shell.run("kube pods -l tier")
    assert status == 2 and "KEY=VALUE" in err


# -- kinds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["pods/hello-pod", "pod/hello-pod", "po/hello-pod", "/pods/hello-pod", "Pods/hello-pod"],
)
def test_pod_kinds_as_users_type_them(kube_shell, apiserver, target):
    apiserver.create_pod("hello-pod")
    status, out, err = kube_shell.run(f"kube get {target}")
    assert status == 0, err
    assert table(out)[0][0] == "hello-pod"


@pytest.mark.parametrize(
    "target",
    ["rc/web", "rcs/web", "replicationControllers/web", "replicationcontroller/web",
     "svc/hello", "services/hello", "service/hello", "minions/10.0.0.5", "/minions/127.0.0.1",
     "minion/127.0.0.1"],
)  # fmt: skip
def test_other_kinds_as_users_type_them(kube_shell, apiserver, target):
    apiserver.create_rc("web")
    apiserver.create_service("hello")
    status, out, err = kube_shell.run(f"kube get {target}")
    assert status == 0, err
    assert table(out)[0][0] == target.rsplit("/", 1)[1]


def test_an_unknown_kind_lists_the_valid_ones(kube_shell):
    status, _, err = kube_shell.run("kube get bogus/x")
    assert status == 2
    line = one_line_error(err)
    assert "unknown kind `bogus`" in line
    for name in ("pods", "replicationControllers", "services", "minions", "rc", "svc"):
        assert name in line
    status, _, err = kube_shell.run("kube get pods")
    assert status == 2 and "KIND/ID" in err
    status, _, err = kube_shell.run("kube create -c pod.json widgets")
    assert status == 2 and "unknown kind `widgets`" in err


def test_get_json(kube_shell, apiserver):
    apiserver.create_pod("hello-pod")
    got = json.loads(kube_shell.run("kube get pods/hello-pod --json")[1])
    assert got["kind"] == "Pod" and got["id"] == "hello-pod"


# -- create, update, delete ------------------------------------------------------------------


def test_create_from_json_and_yaml(kube_shell, apiserver, files):
    status, out, err = kube_shell.run("kube create -c pod.json pods")
    assert status == 0, err
    assert table(out) == [["hello-pod", "busybox", "/", "name=hello", "Waiting"]]
    status, out, err = kube_shell.run("kube create -c pod.yaml pod")
    assert status == 0, err
    assert table(out)[0][:2] == ["yaml-pod", "nginx"]
    assert kube_shell.run("kube create -c svc.json svc")[0] == 0
    assert kube_shell.run("kube create -c rc.json rc")[0] == 0
    assert apiserver.ids("pods") == ["hello-pod", "yaml-pod"]
    assert apiserver.ids("services") == ["hello"]
    assert apiserver.ids("replicationControllers") == ["web"]


def test_a_json_syntax_error_names_the_file_and_line_and_sends_nothing(
    kube_shell, apiserver, files
):
    (files / "broken.json").write_text('{"id": "broken",\n "kind": "Pod",\n "labels": {\n}\n')
    status, _, err = kube_shell.run("kube create -c broken.json pods")
    assert status == 2
    assert one_line_error(err).startswith("kube create: broken.json:5:1: not valid JSON:")
    assert apiserver.ids("pods") == []


def test_a_yaml_syntax_error_names_the_file_and_line_and_sends_nothing(
    kube_shell, apiserver, files
):
    (files / "broken.yaml").write_text("id: broken\nkind: Pod\n  labels: [\n")
    status, _, err = kube_shell.run("kube create -c broken.yaml pods")
    assert status == 2
    line = one_line_error(err)
    assert line.startswith("kube create: broken.yaml:3:9: not valid YAML: "), line
    (files / "scalar.yaml").write_text("just words\n")
    status, _, err = kube_shell.run("kube create -c scalar.yaml pods")
    assert status == 2 and "expected one object" in err
    status, _, err = kube_shell.run("kube create -c missing.yaml pods")
    assert status == 2 and one_line_error(err) == "kube create: missing.yaml: no such file"
    assert apiserver.ids("pods") == []


def test_create_takes_the_kind_the_file_declares(kube_shell, apiserver, files):
    status, out, err = kube_shell.run("kube create -c pod.yaml")
    assert status == 0, err
    assert apiserver.ids("pods") == ["yaml-pod"]
    (files / "nokind.json").write_text('{"id": "x"}')
    status, _, err = kube_shell.run("kube create -c nokind.json")
    assert status == 2 and "declares no kind" in err


def test_a_file_of_another_kind_is_refused(kube_shell, apiserver, files):
    status, _, err = kube_shell.run("kube create -c svc.json pods")
    assert status == 2
    assert "svc.json holds a Service, not one of pods; give the kind `services`" in err
    assert apiserver.ids("pods") == [] and apiserver.ids("services") == []


def test_update_copies_the_resource_version(kube_shell, apiserver, files):
    apiserver.create_service("hello", port=8000)
    (files / "svc9000.json").write_text(json.dumps(service("hello", port=9000)))
    status, out, err = kube_shell.run("kube update -c svc9000.json svc/hello")
    assert status == 0, err
    assert table(out) == [["hello", "name=hello", "name=hello", "9000"]]
    assert apiserver.get("services", "hello")["port"] == 9000
    status, _, err = kube_shell.run("kube update -c svc9000.json svc/other")
    assert status == 2 and "is for id 'hello', not 'other'" in err


def test_update_of_a_missing_object_says_so(kube_shell, files):
    status, _, err = kube_shell.run("kube update -c svc.json services/hello")
    assert status == 255
    assert one_line_error(err) == (
        "kube update: cannot update services/hello: reading the current version: "
        '404 Not Found from the API server: service "hello" not found'
    )


def test_delete(kube_shell, apiserver):
    apiserver.create_pod("hello-pod")
    status, out, _ = kube_shell.run("kube delete po/hello-pod")
    assert (status, out) == (0, "deleted pod hello-pod\n")
    assert apiserver.ids("pods") == []
    status, _, err = kube_shell.run("kube delete pods/hello-pod")
    assert status == 255
    assert one_line_error(err) == (
        "kube delete: cannot delete pods/hello-pod: 404 Not Found from the API server: "
        'pod "hello-pod" not found'
    )


# -- the API's errors as one line ----------------------------------------------------------


def test_conflict_and_invalid_objects_say_what_the_api_said(kube_shell, apiserver, files):
    apiserver.create_pod("hello-pod", labels={"name": "hello"})
    status, _, err = kube_shell.run("kube create -c pod.json pods")
    assert status == 255
    assert one_line_error(err) == (
        "kube create: cannot create pods from pod.json: 409 Conflict from the API server: "
        'pod "hello-pod" already exists'
    )
    (files / "bad.json").write_text('{"id": "bad", "kind": "Pod", "apiVersion": "v1beta1"}')
    status, _, err = kube_shell.run("kube create -c bad.json pods")
    assert status == 255
    assert one_line_error(err) == (
        "kube create: cannot create pods from bad.json: 422 Unprocessable Entity from the API "
        "server: pod \"bad\" is invalid: desiredState.manifest.version: required value ''"
    )


def test_an_unreachable_api_server_says_where_and_what_to_do(home, files):
    url = f"http://127.0.0.1:{free_port()}"
    sh = KubeShell(home, {"kube.master": url})
    for line in ("kube pods", "kube get pods/x", "kube create -c pod.json pods", "kube stop web"):
        status, _, err = sh.run(line)
        assert status == 255, (line, err)
        msg = one_line_error(err)
        assert f"the API server is unreachable at {url} (connection refused)" in msg, msg
        assert "kube tunnel open" in msg and "context set kube.master" in msg


def test_an_api_server_that_never_answers_is_given_up_on(home, monkeypatch):
    import socket

    from kshell_plugins.kube import handlers

    monkeypatch.setattr(handlers, "TIMEOUT", 1.5)
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        sh = KubeShell(home, {"kube.master": url})
        before = time.monotonic()
        status, _, err = sh.run("kube pods")
    assert status == 124 and time.monotonic() - before < 10
    assert one_line_error(err) == (
        "kubecfg: no answer after 1.5s; stopped it "
        "(`env kubecfg` shows where it looked, `doctor` checks it)"
    )


# -- replication controllers --------------------------------------------------------------


def test_run_resize_stop_rm(kube_shell, apiserver):
    status, out, err = kube_shell.run("kube run nginx 2 web -p 8080:80")
    assert status == 0, err
    assert out == (
        "replicationController web created: 2 replicas of nginx "
        "(selector replicationController=web)\n"
    )
    assert err == ""  # kubecfg's glog I lines stay out of sight
    rc = apiserver.get("replicationControllers", "web")
    assert rc["desiredState"]["replicaSelector"] == {"replicationController": "web"}
    container = rc["desiredState"]["podTemplate"]["desiredState"]["manifest"]["containers"][0]
    assert container["image"] == "nginx" and container["ports"][0]["hostPort"] == 8080

    status, out, _ = kube_shell.run("kube resize web 3")
    assert status == 0 and out.startswith("replicationController web: 3 replicas of nginx")
    assert apiserver.get("replicationControllers", "web")["desiredState"]["replicas"] == 3

    status, _, err = kube_shell.run("kube rm web")
    assert status == 255
    assert (
        one_line_error(err)
        == "kube rm: cannot remove web: it still has replicas; run `kube stop web` first"
    )
    assert kube_shell.run("kube stop web")[0] == 0
    assert apiserver.get("replicationControllers", "web")["desiredState"]["replicas"] == 0
    status, out, _ = kube_shell.run("kube rm web")
    assert (status, out) == (0, "deleted replicationController web\n")
    assert apiserver.ids("replicationControllers") == []

    status, _, err = kube_shell.run("kube resize web 1")
    assert status == 255
    assert one_line_error(err) == (
        "kube resize: cannot resize web: 404 Not Found from the API server: "
        'replicationController "web" not found'
    )


def test_run_with_a_service_warns_about_v03s_selector(kube_shell, apiserver):
    status, out, err = kube_shell.run("kube run nginx 1 web -s 8001")
    assert status == 0, err
    assert "service web created on port 8001" in out
    assert apiserver.get("services", "web")["selector"] == {"name": "web"}
    assert "selects none of them" in err


@pytest.mark.parametrize(
    "line, says",
    [("kube run nginx 1 web -p 80", "HOSTPORT:CONTAINERPORT"),
     ("kube run nginx 1 web -p a:80", "HOSTPORT:CONTAINERPORT"),
     ("kube run nginx two web", "number of replicas"),
     ("kube resize web -1", "number of replicas"),
     ("kube rollingupdate web -u soon", "duration")],
)  # fmt: skip
def test_arguments_kubecfg_would_silently_drop_are_refused(kube_shell, apiserver, line, says):
    status, _, err = kube_shell.run(line)
    assert status == 2 and says in err
    assert apiserver.ids("replicationControllers") == []


def test_rollingupdate_sets_the_new_image(kube_shell, apiserver):
    apiserver.create_rc("web", replicas=1, image="nginx")
    status, out, err = kube_shell.run("kube rollingupdate web --image nginx:1.7 -u 1s")
    assert status == 0, err
    assert out == "replicationController web: pods replaced with image nginx:1.7\n"
    manifest = apiserver.get("replicationControllers", "web")["desiredState"]["podTemplate"][
        "desiredState"
    ]["manifest"]
    assert manifest["containers"][0]["image"] == "nginx:1.7"


# -- the seed's master: pods get a host only while a scheduler runs -----------------------


def _pods(kube_shell) -> dict[str, list[str]]:
    return {row[0]: row for row in table(kube_shell.run("kube pods")[1])}


def test_without_a_scheduler_pods_show_no_host(kube_shell, apiserver, files):
    assert kube_shell.run("kube create -c pod.json pods")[0] == 0
    time.sleep(1.5)
    assert _pods(kube_shell)["hello-pod"][2:] == ["/", "name=hello", "Waiting"]


def test_with_the_scheduler_pods_get_a_minion(kube_shell, apiserver, scheduler, files):
    assert kube_shell.run("kube create -c pod.json pods")[0] == 0
    deadline = time.monotonic() + 15
    while _pods(kube_shell)["hello-pod"][2] == "/" and time.monotonic() < deadline:
        time.sleep(0.2)
    row = _pods(kube_shell)["hello-pod"]
    assert row[2] in ("127.0.0.1/", "10.0.0.5/")
    assert row[4] == "Waiting"  # no kubelet runs in tests


def test_run_makes_pods_with_the_controller_manager(kube_shell, apiserver, controller_manager):
    """Only with the real binaries: there is no controller-manager stand-in."""
    assert kube_shell.run("kube run nginx 2 web")[0] == 0
    apiserver.wait_for(
        lambda: len(apiserver.list("pods", "replicationController=web")) == 2,
        what="2 pods of web",
    )
    before = {p["id"] for p in apiserver.list("pods", "replicationController=web")}
    # kubecfg deletes each pod, the controller-manager replaces it, kubecfg waits for the count
    status, out, err = kube_shell.run("kube rollingupdate web --image nginx:2 -u 1s")
    assert status == 0, err
    after = apiserver.list("pods", "replicationController=web")
    assert len(after) == 2 and not before & {p["id"] for p in after}
    assert {p["desiredState"]["manifest"]["containers"][0]["image"] for p in after} == {"nginx:2"}
    assert kube_shell.run("kube stop web")[0] == 0
    apiserver.wait_for(
        lambda: not apiserver.list("pods", "replicationController=web"),
        what="the pods of web to go",
    )


# -- argv: every flag before the verb, as kubecfg v0.3 needs ---------------------------------


def test_dry_run_shows_kubecfgs_argv(home, apiserver, files):
    sh = KubeShell(home, {"kube.master": apiserver.url}, dry_run=True)
    h = f"+ kubecfg -h {apiserver.url}"
    for line, argv in (
        ("kube pods -l name=x --json", "-l name=x -json list pods"),
        ("kube rcs", "list replicationControllers"),
        ("kube get svc/hello", "get services/hello"),
        ("kube create -c pod.json po", "-c pod.json create pods"),
        ("kube update -c svc.json services/hello", "-c svc.json update services/hello"),
        ("kube delete /minions/10.0.0.5", "delete minions/10.0.0.5"),
        ("kube run nginx 2 web -p 8080:80 -s 8001", "-p 8080:80 -s 8001 run nginx 2 web"),
        ("kube resize web 3", "resize web 3"),
        (
            "kube rollingupdate web --image nginx:2 -u 10s",
            "-u 10s -image nginx:2 rollingupdate web",
        ),
        ("kube rm web", "rm web"),
    ):
        status, out, err = sh.run(line)
        assert (status, out, err) == (0, f"{h} {argv}\n", ""), line
    assert apiserver.ids("pods") == [] and apiserver.ids("replicationControllers") == []
