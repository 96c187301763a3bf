"""A real HTTP server on 127.0.0.1 serving release archives the tests build.

Faults are scripted per path and consumed one per request (``script``), or kept
for every request (``always``):

* ``"404"``, ``"500"``: that status, no body;
* ``"truncate"``: Content-Length of the whole body, half of it sent, clean close;
* ``"reset"``: half the body sent, then the connection is aborted (RST);
* ``("bytes", data)``: serve ``data`` instead of the registered body.

``requests`` lists the paths asked for, in order; ``delay`` pauses before each
body (to make two clients overlap).
"""

from __future__ import annotations

import io
import socket
import struct
import tarfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ReleaseServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, list[object]] = {}
        self.sticky: dict[str, object] = {}
        self.requests: list[str] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                fixture._serve(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # aborted connections are the point of some tests

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> ReleaseServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self._thread = None

    def add(self, path: str, data: bytes) -> None:
        self.files[path] = data

    def script(self, path: str, *faults: object) -> None:
        self.faults.setdefault(path, []).extend(faults)

    def always(self, path: str, fault: object) -> None:
        self.sticky[path] = fault

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return len(self.requests) if path is None else self.requests.count(path)

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        with self._lock:
            self.requests.append(path)
            queue = self.faults.get(path)
            fault = queue.pop(0) if queue else self.sticky.get(path)
        body = self.files.get(path)
        if isinstance(fault, tuple) and fault[0] == "bytes":
            body, fault = fault[1], None
        if fault in ("404", "500") or body is None:
            code = 500 if fault == "500" else 404
            h.send_response(code)
            h.send_header("Content-Length", "0")
            h.send_header("Connection", "close")
            h.end_headers()
            return
        if self.delay:
            time.sleep(self.delay)
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Connection", "close")
        h.end_headers()
        if fault == "truncate":
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        if fault == "reset":
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            time.sleep(0.05)
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
            h.close_connection = True
            return
        h.wfile.write(body)
        h.close_connection = True


# --- archives -------------------------------------------------------------------


def script(text: str) -> bytes:
    """A tiny executable that prints ``text`` (a version report)."""
    return f'#!/bin/sh\necho "{text}"\n'.encode()


def tar_gz(entries: list[tuple]) -> bytes:
    """``entries``: (name, bytes) regular files, (name, "symlink", target),
    (name, "hardlink", target), (name, "device"), (name, "dir")."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for entry in entries:
            name, payload = entry[0], entry[1]
            info = tarfile.TarInfo(name)
            info.mtime = 1411000000
            if isinstance(payload, bytes):
                info.size = len(payload)
                info.mode = 0o755
                tar.addfile(info, io.BytesIO(payload))
                continue
            if payload == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, entry[2]
            elif payload == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, entry[2]
            elif payload == "device":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            elif payload == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
    return buf.getvalue()


def zip_bytes(entries: list[tuple]) -> bytes:
    """``entries``: (name, bytes) regular files or (name, "symlink", target)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for entry in entries:
            name, payload = entry[0], entry[1]
            info = zipfile.ZipInfo(name, date_time=(2014, 9, 18, 0, 0, 0))
            info.create_system = 3
            if payload == "symlink":
                info.external_attr = (0o120777 << 16) | 0
                zf.writestr(info, entry[2])
            else:
                info.external_attr = 0o100755 << 16
                zf.writestr(info, payload)
    return buf.getvalue()


def url_path(url: str) -> str:
    """The path of a release URL (what the mirror keeps)."""
    from urllib.parse import urlsplit

    return urlsplit(url).path


# --- the pinned tools' archives, laid out like the 2014 releases -------------------

REPORTS = {
    "fleetctl": "fleetctl version 0.8.1",
    "etcdctl": "etcdctl version 0.4.6",
    "kubecfg": "Kubernetes v0.3",
}
"""What each pinned binary prints for its version report."""

_SIBLINGS = {
    "fleetctl": ["fleetd", "README.md"],
    "etcdctl": ["etcd", "README-etcd.md", "README-etcdctl.md"],
    "kubecfg": ["apiserver", "controller-manager", "kubelet", "proxy"],
}


def release_archive(tool, platform: str, report: str | None = None, extra: bytes = b"") -> bytes:
    """A real archive for ``tool`` on ``platform``: the member prints ``report``."""
    release = tool.releases[platform]
    member = release.member
    top = member.rsplit("/", 1)[0] + "/" if "/" in member else ""
    body = script(report or REPORTS[tool.name])
    entries: list[tuple] = [(top, "dir")] if top else []
    entries.append((member, body))
    for sibling in _SIBLINGS.get(tool.name, []):
        entries.append((top + sibling, script(sibling) + extra))
    if release.archive == "tar.gz":
        return tar_gz(entries)
    if release.archive == "zip":
        return zip_bytes([e for e in entries if e[1] != "dir"])
    return body


def publish(server: ReleaseServer, tool, platform: str, data: bytes | None = None) -> bytes:
    """Serve ``data`` (default: a good archive) at the release's own URL path."""
    data = release_archive(tool, platform) if data is None else data
    server.add(url_path(tool.releases[platform].url), data)
    return data


def loopback_env(environ, home, mirror: str, platform: str = "linux-amd64") -> dict:
    """Environment variables for a test process: isolated home, loopback mirror, no proxy."""
    env = {
        k: v
        for k, v in environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env.update(
        KSHELL_HOME=str(home),
        KSHELL_MIRROR=mirror,
        KSHELL_PLATFORM=platform,
        NO_PROXY="127.0.0.1,localhost",
    )
    return env
