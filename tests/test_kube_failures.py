"""kubecfg v0.3's glog failure lines → one readable line (plugins/kube/failures.py).

The inputs are stderr as the real v0.3 kubecfg printed it (Go 1.19 build, see
/work/shared/real-tools/README.md), request dumps included.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from kshell_plugins.kube import failures, kinds

from kshell import CommandError

MASTER = "http://127.0.0.1:8080"
DUMP = (
    '&http.Request{Method:"GET", URL:(*url.URL)(0xc00010c240), Proto:"HTTP/1.1", ProtoMajor:1, '
    "ProtoMinor:1, Header:http.Header{}, Body:io.ReadCloser(nil), GetBody:(func() (io.ReadCloser, "
    'error))(nil), ContentLength:0, TransferEncoding:[]string(nil), Close:false, Host:"127.0.0.1:'
    '28080", Form:url.Values(nil), PostForm:url.Values(nil), MultipartForm:(*multipart.Form)(nil), '
    'Trailer:http.Header(nil), RemoteAddr:"", RequestURI:"", TLS:(*tls.ConnectionState)(nil), '
    "Cancel:(<-chan struct {})(nil), Response:(*http.Response)(nil), ctx:(*context.emptyCtx)"
    "(0xc0000a4000)}"
)

OBSERVED = [
    (
        "F1129 21:40:05.834475 12462 kubecfg.go:322] Got request error: request [" + DUMP + "] "
        'failed (404) 404 Not Found: {"kind":"Status","creationTimestamp":null,"apiVersion":'
        '"v1beta1","status":"failure","message":"pod \\"nosuch\\" not found","reason":"not_found",'
        '"details":{"id":"nosuch","kind":"pod"},"code":404}',
        '404 Not Found from the API server: pod "nosuch" not found',
    ),
    (
        "F1129 21:40:11.010150 12705 kubecfg.go:322] Got request error: Status: failure "
        '(api.Status{JSONBase:api.JSONBase{Kind:"", ID:"", CreationTimestamp:time.Date(1, '
        'time.January, 1, 0, 0, 0, 0, time.UTC), SelfLink:"", ResourceVersion:0x0, APIVersion:""}, '
        'Status:"failure", Message:"service \\"hello-svc\\" already exists", '
        'Reason:"already_exists", Details:(*api.StatusDetails)(0xc0000a10c0), Code:409})',
        '409 Conflict from the API server: service "hello-svc" already exists',
    ),
    (
        "F1129 21:40:19.866990 13145 kubecfg.go:279] error obtaining resource version for update: "
        "request [" + DUMP + '] failed (404) 404 Not Found: {"kind":"Status","creationTimestamp":'
        'null,"apiVersion":"v1beta1","status":"failure","message":"service \\"nosuch\\" not found",'
        '"reason":"not_found","details":{"id":"nosuch","kind":"service"},"code":404}',
        "reading the current version: 404 Not Found from the API server: "
        'service "nosuch" not found',
    ),
    (
        "F1129 21:40:05.813605 12450 kubecfg.go:407] Error: controller has non-zero replicas (1), "
        "please stop it first",
        "controller has non-zero replicas (1), please stop it first",
    ),
    (
        "F1129 21:40:10.983678 12685 kubecfg.go:322] Got request error: invalid selector: 'bad'; "
        "can't understand 'bad'",
        "invalid selector: 'bad'; can't understand 'bad'",
    ),
    (
        "F1129 21:46:01.884294 13161 kubecfg.go:322] Got request error: request [" + DUMP + "] "
        'failed (404) 404 Not Found: Not Found: "/api/v1beta1/pods/a/b?labels="',
        '404 Not Found from the API server: Not Found: "/api/v1beta1/pods/a/b?labels="',
    ),
]


@pytest.mark.parametrize("stderr, expected", OBSERVED)
def test_observed_failures_become_one_line(stderr, expected):
    # glog's I lines before the F line (e.g. "Bad port spec") are not the failure
    noisy = "I1129 21:40:05.770506 12430 kubecfg.go:158] Bad port spec: \n" + stderr + "\n"
    message = failures.fatal_message(noisy)
    assert failures.readable(message, MASTER) == expected


def test_connection_refused_says_where_and_what_to_do():
    stderr = (
        'F1129 21:40:19.895631 13170 kubecfg.go:322] Got request error: Get "http://127.0.0.1:'
        '28099/api/v1beta1/pods?labels=": dial tcp 127.0.0.1:28099: connect: connection refused'
    )
    line = failures.readable(failures.fatal_message(stderr), "http://127.0.0.1:28099")
    assert line.startswith(
        "the API server is unreachable at http://127.0.0.1:28099 (connection refused); "
    )
    assert "`kube tunnel open USER@HOST`" in line and "`context set kube.master URL`" in line


def test_no_fatal_line():
    assert failures.fatal_message("I1129 21:40:05.770506 12430 kubecfg.go:158] x\n") is None


@pytest.mark.parametrize(
    "typed, name",
    [("pods", "pods"), ("pod", "pods"), ("po", "pods"), ("/pods", "pods"), ("PODS", "pods"),
     ("rc", "replicationControllers"), ("rcs", "replicationControllers"),
     ("replicationControllers", "replicationControllers"),
     ("replicationcontroller", "replicationControllers"), ("services", "services"),
     ("svc", "services"), ("minions", "minions"), ("minion", "minions"),
     ("/minions", "minions")],
)  # fmt: skip
def test_kinds(typed, name):
    assert kinds.kind(typed).name == name


def test_unknown_kind_and_bad_targets():
    with pytest.raises(CommandError) as e:
        kinds.kind("deployments")
    assert e.value.status == 2 and "valid kinds: pods (pod, po)" in e.value.message
    for bad in ("pods", "pods/", "/pods/a/b"):
        with pytest.raises(CommandError):
            kinds.kind_and_id(bad)
    assert kinds.kind_and_id("/minions/10.0.0.5")[1] == "10.0.0.5"


def test_the_plugin_imports_nothing_heavy():
    code = (
        "import sys; from kshell.host import PluginHost; h = PluginHost(); h.load();"
        "import kshell_plugins.kube.commands, kshell_plugins.kube.kinds;"
        "import kshell_plugins.kube.master;"
        "print(sorted(m for m in ('requests', 'yaml', 'sh') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
