"""The Kubernetes-on-fleet unit set of kubernetes-fleet-tutorial (September 2014).

The seed cloned the tutorial and edited the etcd address into each unit by hand; the
scheduler unit is the one the older units lacked. ``kube units render`` writes all six
with the etcd endpoint, the placement and the binaries' download URLs filled in, in the
shapes the seed quotes (tools-2014.md §4.8):

- on the master: kube-apiserver (``MachineMetadata=`` or ``MachineID=``), and
  kube-scheduler, kube-controller-manager, kube-register next to it (``MachineOf=``);
- on every kubernetes machine: kube-kubelet and kube-proxy (``Global=true``).

Rendering never edits a file in place: a different existing file is left alone unless
``--force``, and each file is written to a temp file and renamed.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from kshell import CommandError, write_atomic
from kshell import is_loopback as kshell_is_loopback

DOWNLOADS = {"v0.3": "http://storage.googleapis.com/kubernetes"}
"""Where each Kubernetes version's single binaries were fetched from by the units. The
2014 objects were unversioned (overwritten in place); v0.3 is the seed's."""
VERSIONS = tuple(DOWNLOADS)
DEFAULT_METADATA = "role=kubernetes"
DEFAULT_FLEET_ENDPOINT = "unix:///var/run/fleet.sock"  # fleetd's API socket on the master
DOCS = "https://github.com/GoogleCloudPlatform/kubernetes"
API_LOCAL = "127.0.0.1:8080"  # the master's components talk to the apiserver next to them

ORDER = (
    "kube-proxy.service",
    "kube-kubelet.service",
    "kube-apiserver.service",
    "kube-scheduler.service",
    "kube-controller-manager.service",
    "kube-register.service",
)
"""The tutorial's start order: nodes first, then the master, then registration."""

# Values that stay literal in a unit line: no spaces, quotes, `%` (specifiers), `$`, `\`.
_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~\-/]*)?")
_METADATA = re.compile(r"[A-Za-z0-9_.\-]+=[A-Za-z0-9_.\-]+")
_MACHINE_ID = re.compile(r"[0-9a-f]{32}")
_SOCKET = re.compile(r"unix:///[A-Za-z0-9._\-/]+")


def etcd_servers(value: str) -> str:
    """One etcd URL or a comma-separated list, each ``http(s)://host:port``; ValueError."""
    urls = []
    for part in value.split(","):
        url = part.strip().rstrip("/")
        if "://" not in url:
            url = f"http://{url}"
        if not _URL.fullmatch(url) or urlsplit(url).path not in ("", "/"):
            raise ValueError(f"{part.strip()!r} is not an etcd URL like http://10.1.1.245:4001")
        try:
            port = urlsplit(url).port
        except ValueError:
            port = -1
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"{part.strip()!r} has an invalid port")
        urls.append(url)
    return ",".join(urls)


def metadata(value: str) -> str:
    value = value.strip()
    if not _METADATA.fullmatch(value):
        raise ValueError(f"{value!r} is not fleet metadata like role=kubernetes")
    return value


def machine_id(value: str) -> str:
    value = value.strip().lower()
    if not _MACHINE_ID.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a full fleet machine ID (32 hex; `fleet machines --full` shows it)"
        )
    return value


def download_base(value: str) -> str:
    value = value.strip().rstrip("/")
    if not _URL.fullmatch(value):
        raise ValueError(f"{value!r} is not a download URL like {DOWNLOADS['v0.3']}")
    return value


def binary_url(value: str) -> str:
    value = value.strip()
    if not _URL.fullmatch(value) or value.endswith("/"):
        raise ValueError(f"{value!r} is not a binary's URL")
    return value


def fleet_endpoint(value: str) -> str:
    value = value.strip()
    if not (_SOCKET.fullmatch(value) or _URL.fullmatch(value)):
        raise ValueError(f"{value!r} is not a fleet endpoint like {DEFAULT_FLEET_ENDPOINT}")
    return value


def _unit(
    description: str,
    service: list[str],
    fleet: list[str],
    unit: tuple[str, ...] = (),
    docs: str = DOCS,
) -> str:
    lines = ["[Unit]", f"Description={description}", f"Documentation={docs}", *unit, ""]
    lines += ["[Service]", *service, "Restart=always", "RestartSec=10", ""]
    lines += ["[X-Fleet]", *fleet]
    return "\n".join(lines) + "\n"


def _fetch(url: str, name: str) -> list[str]:
    """The seed's download steps: wget into /opt/bin, then make it executable."""
    lines = [f"ExecStartPre=/usr/bin/wget -N -P /opt/bin {url}"]
    fetched = url.rsplit("/", 1)[-1]
    if fetched != name:  # a URL whose file is named otherwise (a release asset)
        lines.append(f"ExecStartPre=/usr/bin/mv -f /opt/bin/{fetched} /opt/bin/{name}")
    return [*lines, f"ExecStartPre=/usr/bin/chmod +x /opt/bin/{name}"]


def _exec(binary: str, flags: list[str]) -> str:
    """``ExecStart=`` with one flag per continued line, as the seed's units have it."""
    return " \\\n".join([f"ExecStart=/opt/bin/{binary}", *flags])


def render(
    etcd: str,
    *,
    master_metadata: str | None = None,
    master_machine: str | None = None,
    node_metadata: str = DEFAULT_METADATA,
    version: str = "v0.3",
    base: str | None = None,
    register_url: str | None = None,
    fleet: str = DEFAULT_FLEET_ENDPOINT,
) -> dict[str, str]:
    """The six units, by file name, in the tutorial's start order. Values are validated."""
    if version not in DOWNLOADS:
        raise ValueError(f"no download URLs known for {version} (known: {', '.join(VERSIONS)})")
    if master_metadata and master_machine:
        raise ValueError("give --master-metadata or --master-machine, not both")
    etcd = etcd_servers(etcd)
    node_metadata = metadata(node_metadata)
    base = download_base(base or DOWNLOADS[version])
    register = binary_url(register_url or f"{base}/kube-register")
    fleet = fleet_endpoint(fleet)
    if master_machine:
        placement = [f"MachineID={machine_id(master_machine)}"]
    else:
        placement = [f"MachineMetadata={metadata(master_metadata or node_metadata)}"]
    beside = ["MachineOf=kube-apiserver.service"]
    everywhere = ["Global=true", f"MachineMetadata={node_metadata}"]

    units = {
        "kube-proxy.service": _unit(
            "Kubernetes Proxy",
            [*_fetch(f"{base}/proxy", "proxy"),
             f"ExecStart=/opt/bin/proxy --etcd_servers={etcd} --logtostderr=true"],
            everywhere,
        ),
        "kube-kubelet.service": _unit(
            "Kubernetes Kubelet",
            ["EnvironmentFile=/etc/network-environment", *_fetch(f"{base}/kubelet", "kubelet"),
             _exec("kubelet", ["--address=0.0.0.0", "--port=10250",
                               "--hostname_override=${DEFAULT_IPV4}",
                               f"--etcd_servers={etcd}", "--logtostderr=true"])],
            everywhere,
            ("Requires=setup-network-environment.service",
             "After=setup-network-environment.service"),
        ),
        "kube-apiserver.service": _unit(
            "Kubernetes API Server",
            [*_fetch(f"{base}/apiserver", "apiserver"),
             _exec("apiserver", ["--address=0.0.0.0", "--port=8080",
                                 f"--etcd_servers={etcd}", "--logtostderr=true"])],
            placement,
        ),
        "kube-scheduler.service": _unit(
            "Kubernetes Scheduler",
            [*_fetch(f"{base}/scheduler", "scheduler"),
             f"ExecStart=/opt/bin/scheduler --master={API_LOCAL}"],
            beside,
        ),
        "kube-controller-manager.service": _unit(
            "Kubernetes Controller Manager",
            [*_fetch(f"{base}/controller-manager", "controller-manager"),
             f"ExecStart=/opt/bin/controller-manager --master={API_LOCAL}"],
            beside,
        ),
        "kube-register.service": _unit(
            "Kubernetes Registration Service",
            [*_fetch(register, "kube-register"),
             _exec("kube-register", [f"-metadata={node_metadata}", f"-fleet-endpoint={fleet}",
                                     f"-api-endpoint=http://{API_LOCAL}"])],
            beside,
            docs="https://github.com/kelseyhightower/kube-register",
        ),
    }  # fmt: skip
    return {name: units[name] for name in ORDER}


def is_loopback(etcd: str) -> bool:
    """True when any endpoint of a comma list is this machine."""
    return any(kshell_is_loopback(url) for url in etcd.split(","))


# -- writing -----------------------------------------------------------------------------------


def _same(path: Path, text: str) -> bool | None:
    """True when ``path`` holds ``text``, False when it holds something else, None if absent."""
    try:
        return path.read_text(encoding="utf-8") == text
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, IsADirectoryError, PermissionError):
        return False


def write_units(out: Path, files: dict[str, str], force: bool) -> list[tuple[str, Path]]:
    """Write ``files`` into ``out``: (``wrote``/``unchanged``/``replaced``, path) each.

    Nothing is written when a different file is in the way and ``force`` is False."""
    if out.exists() and not out.is_dir():
        raise CommandError(f"{out} exists and is not a directory", 2)
    differ = [out / n for n, t in files.items() if _same(out / n, t) is False]
    if differ and not force:
        shown = ", ".join(str(p) for p in differ)
        raise CommandError(
            f"not overwriting {shown}: different from what would be rendered "
            "(pass --force to replace, or choose another --out)",
            1,
        )
    done = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = out / name
            before = _same(path, text)
            if before is True:
                done.append(("unchanged", path))
                continue
            if path.is_dir():
                raise CommandError(f"{path} is a directory", 1)
            write_atomic(path, text)
            done.append(("wrote" if before is None else "replaced", path))
    except OSError as e:
        raise CommandError(f"cannot write to {out}: {e.strerror or e}", 74) from None
    return done


def render_command(session, args) -> int:
    where = args.etcd or session.context.get("etcd.endpoint")
    if not where:
        raise CommandError(
            "no etcd endpoint: pass --etcd URL (the nodes' etcd, e.g. http://10.1.1.245:4001)",
            2,
        )
    try:
        files = render(
            where,
            master_metadata=args.master_metadata,
            master_machine=args.master_machine,
            node_metadata=args.node_metadata
            or session.context.get("kube.node-metadata")
            or DEFAULT_METADATA,
            version=args.version,
            base=args.download_base,
            register_url=args.register_url,
            fleet=args.fleet_endpoint,
        )
    except ValueError as e:
        raise CommandError(str(e), 2) from None
    etcd = etcd_servers(where)
    if is_loopback(etcd):
        session.warn(
            f"note: {etcd} is each machine's own loopback; the seed's nodes reach etcd at its "
            "address, e.g. --etcd http://10.1.1.245:4001"
        )
    if not args.out:
        for i, (name, text) in enumerate(files.items()):
            session.echo(("\n" if i else "") + f"# {name}")
            session.echo(text.rstrip("\n"))
        return 0
    out = Path(args.out).expanduser()
    if session.dry_run:
        for name in files:
            session.echo(f"+ would write {out / name}")
        return 0
    for what, path in write_units(out, files, args.force):
        session.echo(f"{what} {path}")
    d = str(out)
    session.echo(
        f"start them in the tutorial's order: fleet start {d}/kube-proxy.service "
        f"{d}/kube-kubelet.service; then fleet start {d}/kube-apiserver.service "
        f"{d}/kube-scheduler.service {d}/kube-controller-manager.service; then fleet start "
        f"{d}/kube-register.service"
    )
    return 0
