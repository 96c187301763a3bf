"""Handlers of the ``kube …`` commands: argv for the pinned kubecfg, one line on failure.

Every command runs kubecfg through ``session.run`` (argv, never a shell string) with the
context's ``-h`` master put first by the plugin's tool environment. kubecfg's output is
captured so that its glog lines can be read: a failure becomes one line (what failed,
the HTTP status, the API's message) and its exit status is passed on.
"""

from __future__ import annotations

from kshell import CommandError, ToolResult

from . import failures, kinds, manifests
from .master import master_url

TIMEOUT = 60.0
"""Seconds one kubecfg call may take: v0.3's HTTP client has no timeout of its own, so an
API server that accepts and never answers would hang it forever."""


def kubecfg(session, args: list[str], what: str, bounded: bool = True) -> ToolResult:
    """Run kubecfg (for at most TIMEOUT when ``bounded``); on failure raise one readable
    line saying ``what`` failed."""
    timeout = TIMEOUT if bounded else None
    res = session.run("kubecfg", args, capture=True, timeout=timeout)
    for line in res.stderr.splitlines():
        # glog's W/E lines are worth a look; I lines (e.g. "Bad port spec: ") are noise
        if line[:1] in ("W", "E") and "] " in line:
            session.warn(f"kubecfg: {line.split('] ', 1)[1]}")
    if res.status == 0:
        return res
    if res.status == 130:
        raise CommandError(f"{what}: interrupted", 130)
    if res.status == 124:
        # the runner has said "kubecfg: no answer after Ns; stopped it": one line is enough
        raise CommandError("", 124)
    message = failures.fatal_message(res.stderr)
    if message is None:
        lines = [x for x in res.stderr.splitlines() if x.strip()]
        message = lines[-1] if lines else f"kubecfg exited with status {res.status}"
    raise CommandError(f"cannot {what}: {failures.readable(message, master_url(session.context))}",
                       res.status or 1)  # fmt: skip


def _echo(session, text: str) -> None:
    text = text.rstrip("\n")
    if text:
        session.echo(text)


def list_kind(session, args, kind: str) -> int:
    argv = []
    if args.selector:
        argv += ["-l", args.selector]
    if args.json:
        argv.append("-json")
    res = kubecfg(session, [*argv, "list", kind], f"list {kind}")
    _echo(session, res.stdout)
    return 0


def get(session, args) -> int:
    kind, ident = kinds.kind_and_id(args.target)
    res = kubecfg(session, [*(["-json"] if args.json else []), "get", f"{kind.name}/{ident}"],
                  f"get {kind.name}/{ident}")  # fmt: skip
    _echo(session, res.stdout)
    return 0


def create(session, args) -> int:
    kind = kinds.kind(args.kind) if args.kind else None
    obj = manifests.load(args.file)
    if kind is None:
        kind = manifests.declared_kind(args.file, obj)
    manifests.check_kind(args.file, obj, kind)
    res = kubecfg(session, ["-c", args.file, "create", kind.name],
                  f"create {kind.name} from {args.file}")  # fmt: skip
    _echo(session, res.stdout)
    return 0


def update(session, args) -> int:
    kind, ident = kinds.kind_and_id(args.target)
    obj = manifests.load(args.file)
    manifests.check_kind(args.file, obj, kind)
    if obj.get("id") not in (None, ident):
        # v0.3 stores the object under the id in the file, whatever the path says
        raise CommandError(f"{args.file} is for id {obj.get('id')!r}, not {ident!r}", 2)
    res = kubecfg(session, ["-c", args.file, "update", f"{kind.name}/{ident}"],
                  f"update {kind.name}/{ident}")  # fmt: skip
    _echo(session, res.stdout)
    return 0


def delete(session, args) -> int:
    kind, ident = kinds.kind_and_id(args.target)
    kubecfg(session, ["delete", f"{kind.name}/{ident}"], f"delete {kind.name}/{ident}")
    if not session.dry_run:
        session.echo(f"deleted {kind.singular} {ident}")
    return 0


def _controller(stdout: str) -> dict:
    """The controller kubecfg printed as YAML (empty in a dry run or when unreadable)."""
    if not stdout.strip():
        return {}
    import yaml

    try:
        docs = [d for d in yaml.safe_load_all(stdout) if isinstance(d, dict)]
    except yaml.YAMLError:
        return {}
    return docs[0] if docs else {}


def _summary(rc: dict) -> str:
    desired = rc.get("desiredState") or {}
    template = (desired.get("podTemplate") or {}).get("desiredState") or {}
    containers = (template.get("manifest") or {}).get("containers") or []
    images = ",".join(c.get("image", "") for c in containers)
    selector = (desired.get("replicaSelector") or {}).items()
    selector = ",".join(f"{k}={v}" for k, v in sorted(selector))
    return f"{desired.get('replicas', 0)} replicas of {images or '?'} (selector {selector or '-'})"


def run(session, args) -> int:
    argv = []
    if args.ports:
        argv += ["-p", args.ports]
    if args.service:
        argv += ["-s", str(args.service)]
    res = kubecfg(session, [*argv, "run", args.image, str(args.replicas), args.name],
                  f"run {args.name}")  # fmt: skip
    if session.dry_run:
        return 0
    rc = _controller(res.stdout)
    session.echo(f"replicationController {args.name} created: {_summary(rc)}" if rc
                 else res.stdout.rstrip())  # fmt: skip
    if args.service:
        session.echo(f"service {args.name} created on port {args.service}")
        # observed with the real v0.3: the service selects name=NAME, the pods carry
        # replicationController=NAME, so the service finds none of them
        session.warn(
            f"note: kubecfg v0.3 gives service {args.name} the selector name={args.name}, "
            f"but labels the pods replicationController={args.name}: it selects none "
            "of them; create the service from a file to select them"
        )
    return 0


def resize(session, args) -> int:
    res = kubecfg(session, ["resize", args.rc, str(args.replicas)], f"resize {args.rc}")
    if not session.dry_run:
        rc = _controller(res.stdout)
        session.echo(f"replicationController {args.rc}: {_summary(rc)}" if rc
                     else res.stdout.rstrip())  # fmt: skip
    return 0


def stop(session, args) -> int:
    kubecfg(session, ["stop", args.rc], f"stop {args.rc}")
    if not session.dry_run:
        session.echo(f"replicationController {args.rc}: 0 replicas desired; "
                     f"`kube rm {args.rc}` deletes it")  # fmt: skip
    return 0


def rm(session, args) -> int:
    try:
        kubecfg(session, ["rm", args.rc], f"remove {args.rc}")
    except CommandError as e:
        if "non-zero replicas" in e.message:
            raise CommandError(
                f"{e.message.split(': ', 1)[0]}: it still has replicas; "
                f"run `kube stop {args.rc}` first",
                e.status,
            ) from None
        raise
    if not session.dry_run:
        session.echo(f"deleted replicationController {args.rc}")
    return 0


def rollingupdate(session, args) -> int:
    argv = []
    if args.period:
        argv += ["-u", args.period]
    if args.image:
        argv += ["-image", args.image]
    with session.progress(f"replacing the pods of {args.rc}"):
        # one pod per period, then up to 5 min for the replacements: no overall bound
        kubecfg(session, [*argv, "rollingupdate", args.rc], f"update {args.rc}", bounded=False)
    if not session.dry_run:
        done = f" with image {args.image}" if args.image else ""
        session.echo(f"replicationController {args.rc}: pods replaced{done}")
    return 0
