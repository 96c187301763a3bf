"""The ``idcf …`` handlers: listings, ISO registration, deploy, VM actions, rules, key pairs."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kshell import CommandError, Session, format_table, write_atomic

from . import credentials, resolve
from .client import ApiError, Client

POLL_ENV = "KSHELL_IDCF_POLL_INTERVAL"
"""Seconds between polls of a job or an ISO (default 3); tests set 0."""
DEFAULT_POLL = 3.0
DEFAULT_TIMEOUT = 900.0
USERDATA_LIMIT = 32768  # bytes of base64, sent by POST (2 KB would be the GET limit)
DEFAULT_OSTYPE = "Other Linux (64-bit)"


# -- the client ------------------------------------------------------------------------


def poll_interval() -> float:
    raw = os.environ.get(POLL_ENV)
    if not raw:
        return DEFAULT_POLL
    try:
        value = float(raw)
    except ValueError:
        raise CommandError(f"${POLL_ENV}={raw!r} is not a number of seconds", 2) from None
    if not value <= 3600:  # nan and inf too: time.sleep(nan) raises, sleep(inf) never ends
        raise CommandError(f"${POLL_ENV}={raw!r}: poll at least once an hour", 2)
    return max(value, 0.0)


def job_timeout(session: Session) -> float:
    raw = session.context.get("idcf.timeout")
    return float(raw) if raw else DEFAULT_TIMEOUT


def client(session: Session, *, http_timeout: float = 30.0) -> Client:
    creds = credentials.resolve(session.context)
    return Client(
        creds.endpoint,
        creds.api_key,
        creds.secret_key,
        timeout=http_timeout,
        poll_interval=poll_interval(),
        job_timeout=job_timeout(session),
        dry=session.dry if session.dry_run else None,
    )


def _changed(session: Session) -> None:
    session.invalidate("idcf.")  # completion candidates are stale after a change


def _wait(session: Session, api: Client, jobid: str, what: str, doing: str) -> dict[str, Any]:
    """The job's result, with a progress line; Ctrl-C leaves the job running and says so."""
    try:
        with session.progress(doing):
            return api.wait(jobid, what)
    except KeyboardInterrupt:
        raise CommandError(
            f"interrupted; {what} goes on in the cloud (`idcf job {jobid}` shows it)", 130
        ) from None


def _dry(session: Session, what: str) -> bool:
    """Recipes' ``--dry-run``: say what would be asked of the API, and ask nothing.
    Endpoint and keys are resolved first (a local read): a real run would stop here
    without them, and reads (``idcf vms``) already do, so the dry run says it here too."""
    if session.dry_run:
        credentials.resolve(session.context)
        session.echo(f"dry run: would {what} (nothing sent to the API)")
    return session.dry_run


def _print(session: Session, args: argparse.Namespace, data: Any, headers, rows) -> int:
    if getattr(args, "json", False):
        session.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        session.echo(format_table(headers, rows))
    return 0


def _zone_id(session: Session, api: Client, value: str | None) -> dict[str, Any] | None:
    """``--zone`` (or the context's ``idcf.zone``) as a zone; None when neither is given."""
    value = value or session.context.get("idcf.zone")
    return resolve.find(api, resolve.ZONE, value) if value else None


def _one_zone(session: Session, api: Client, value: str | None) -> dict[str, Any]:
    zone = _zone_id(session, api, value)
    if zone:
        return zone
    zones = resolve.items(api, resolve.ZONE)
    if len(zones) == 1:
        return zones[0]
    names = ", ".join(z["name"] for z in zones) or "none"
    raise CommandError(
        f"which zone? ({names}): pass --zone NAME or `context set idcf.zone NAME`", 2
    )


# -- credentials and jobs ----------------------------------------------------------------


def show_credentials(session: Session, args: argparse.Namespace) -> int:
    creds = credentials.resolve(session.context)
    rows = [
        ("endpoint", creds.endpoint, creds.sources.get("endpoint", "-")),
        ("api key", creds.api_key_shown, creds.sources.get("api key", "-")),
        ("secret key", "**** (set)", creds.sources.get("secret key", "-")),
    ]
    session.echo(format_table(["WHAT", "VALUE", "FROM"], rows))
    return 0


def job(session: Session, args: argparse.Namespace) -> int:
    api = client(session)
    data = api.call("queryAsyncJobResult", jobid=args.jobid)
    state = {0: "pending", 1: "succeeded", 2: "failed"}.get(int(data.get("jobstatus") or 0))
    session.echo(f"job {args.jobid}: {state} ({data.get('cmd', '?')})")
    result = data.get("jobresult")
    if result:
        session.echo(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


# -- listings ----------------------------------------------------------------------------


def zones(session: Session, args: argparse.Namespace) -> int:
    found = resolve.items(client(session), resolve.ZONE)
    rows = [(z["name"], z.get("networktype"), z.get("allocationstate"), z["id"]) for z in found]
    return _print(session, args, found, ["NAME", "NETWORK", "STATE", "ID"], rows)


def offerings(session: Session, args: argparse.Namespace) -> int:
    found = resolve.items(client(session), resolve.OFFERING)
    rows = [(o["name"], o.get("cpunumber"), f"{o.get('memory', '?')} MB", o["id"]) for o in found]
    return _print(session, args, found, ["NAME", "CPUS", "MEMORY", "ID"], rows)


def disk_offerings(session: Session, args: argparse.Namespace) -> int:
    found = resolve.items(client(session), resolve.DISK_OFFERING)

    def size(o: dict[str, Any]) -> str:
        gb = int(o.get("disksize") or 0)
        return f"{gb} GB" if gb else "custom (--size GB)"

    rows = [(o["name"], size(o), o["id"]) for o in found]
    return _print(session, args, found, ["NAME", "SIZE", "ID"], rows)


def _image_rows(found: list[dict[str, Any]]) -> list[tuple]:
    return [
        (i["name"], i.get("zonename"), "yes" if i.get("isready") else "no",
         i.get("status") or "-", i["id"])
        for i in found
    ]  # fmt: skip


def templates(session: Session, args: argparse.Namespace) -> int:
    api = client(session)
    zone = _zone_id(session, api, args.zone) if args.zone else None
    filters = {"zoneid": zone["id"]} if zone else {}
    found = resolve.items(api, resolve.TEMPLATE, **filters)
    headers = ["NAME", "ZONE", "READY", "STATUS", "ID"]
    return _print(session, args, found, headers, _image_rows(found))


def isos(session: Session, args: argparse.Namespace) -> int:
    api = client(session)
    zone = _zone_id(session, api, args.zone) if args.zone else None
    filters = {"zoneid": zone["id"]} if zone else {}
    kind = resolve.ISO if args.all else resolve.OWN_ISO
    found = resolve.items(api, kind, **filters)
    headers = ["NAME", "ZONE", "READY", "STATUS", "ID"]
    return _print(session, args, found, headers, _image_rows(found))


def _ips(vm: dict[str, Any]) -> list[str]:
    nics = sorted(vm.get("nic") or [], key=lambda n: not n.get("isdefault"))
    out = [n["ipaddress"] for n in nics if n.get("ipaddress")]
    if vm.get("publicip"):
        out.append(vm["publicip"])
    return out


def vms(session: Session, args: argparse.Namespace) -> int:
    api = client(session)
    zone = _zone_id(session, api, args.zone) if args.zone else None
    found = resolve.items(api, resolve.VM, **({"zoneid": zone["id"]} if zone else {}))
    if args.json:
        data = [
            {"name": v["name"], "state": v.get("state"), "zone": v.get("zonename"),
             "ips": _ips(v), "id": v["id"], "offering": v.get("serviceofferingname")}
            for v in found
        ]  # fmt: skip
        session.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    rows = [
        (v["name"], v.get("state"), v.get("zonename"), ",".join(_ips(v)) or "-",
         v.get("serviceofferingname"), v["id"])
        for v in found
    ]  # fmt: skip
    session.echo(format_table(["NAME", "STATE", "ZONE", "IPS", "OFFERING", "ID"], rows))
    return 0


def ips(session: Session, args: argparse.Namespace) -> int:
    api = client(session)
    found = api.list("listPublicIpAddresses", "publicipaddress")
    forwards = api.list("listPortForwardingRules", "portforwardingrule")
    rows = []
    for ip in found:
        rules = [
            f"{r['publicport']}->{r.get('virtualmachinename', '?')}:{r['privateport']}"
            for r in forwards
            if r.get("ipaddressid") == ip["id"]
        ]
        rows.append((
            ip["ipaddress"], ip.get("zonename"), "yes" if ip.get("issourcenat") else "no",
            ip.get("virtualmachinename") or "-", ", ".join(rules) or "-", ip["id"],
        ))  # fmt: skip
    data = [{**ip, "portforwarding": [r for r in forwards if r.get("ipaddressid") == ip["id"]]}
            for ip in found]  # fmt: skip
    headers = ["IPADDRESS", "ZONE", "SOURCENAT", "STATICNAT", "FORWARDS", "ID"]
    return _print(session, args, data, headers, rows)


def keypair_list(session: Session, args: argparse.Namespace) -> int:
    found = resolve.items(client(session), resolve.KEYPAIR)
    rows = [(k["name"], k.get("fingerprint")) for k in found]
    return _print(session, args, found, ["NAME", "FINGERPRINT"], rows)


def keypair_register(session: Session, args: argparse.Namespace) -> int:
    from .cloudconfig import read_ssh_keys

    try:
        keys = read_ssh_keys(args.pubkeyfile)
    except ValueError as e:
        raise CommandError(f"{e}", 2) from None
    if len(keys) != 1:
        raise CommandError(f"{args.pubkeyfile} holds {len(keys)} keys; register one", 2)
    if _dry(session, f"register key pair {args.name}"):
        return 0
    data = client(session).call("registerSSHKeyPair", name=args.name, publickey=keys[0])
    _changed(session)
    pair = data.get("keypair") or {}
    session.echo(f"registered key pair {pair.get('name', args.name)} ({pair.get('fingerprint')})")
    return 0


# -- ISO registration --------------------------------------------------------------------


def _wait_until(
    session: Session, api: Client, what: str, check: Callable[[], str | None]
) -> None:
    """Call ``check`` (None: done; else a status text) every poll interval, up to the timeout."""
    start = api.clock()
    with session.progress(what):
        while True:
            status = check()
            if status is None:
                return
            if api.clock() - start >= api.job_timeout:
                raise CommandError(
                    f"{what}: not done after {api.job_timeout:g}s (last status: {status}); "
                    "raise idcf.timeout or look again later", 124,
                )  # fmt: skip
            api.sleep(api.poll_interval)


def iso_register(session: Session, args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    if urlsplit(args.url).scheme not in ("http", "https"):
        raise CommandError(f"`{args.url}` is not an http:// or https:// URL", 2)
    if _dry(session, f"register ISO {args.name} from {args.url}"):
        return 0
    api = client(session)
    zone = _one_zone(session, api, args.zone)
    ostype = resolve.find(api, resolve.OSTYPE, args.ostype)
    data = api.call(
        "registerIso", name=args.name, displaytext=args.name, url=args.url, zoneid=zone["id"],
        ostypeid=ostype["id"], bootable=True,
    )  # fmt: skip
    iso = (data.get("iso") or [{}])[0]
    iso_id = iso.get("id")
    _changed(session)
    if not iso_id:
        raise CommandError("registerIso answered without an ISO id", 1)
    session.echo(f"registered ISO {args.name} ({iso_id}) in {zone['name']}")
    if args.no_wait:
        return 0
    last: dict[str, Any] = {}

    def ready() -> str | None:
        found = api.list("listIsos", "iso", id=iso_id, isofilter="self", zoneid=zone["id"])
        if not found:
            raise CommandError(f"ISO {iso_id} disappeared while it downloaded", 1)
        last.update(found[0])
        status = str(found[0].get("status") or "waiting")
        if found[0].get("isready"):
            return None
        if "fail" in status.lower() or "error" in status.lower():
            raise CommandError(f"ISO {args.name} failed to download: {status}", 1)
        return status

    _wait_until(session, api, f"ISO {args.name} downloading", ready)
    session.echo(f"ISO {args.name} is ready ({last.get('status', 'Download Complete')})")
    return 0


# -- deploy ------------------------------------------------------------------------------


def encode_userdata(text: str) -> str:
    """Base64 without newlines; the text padded to a multiple of 3 bytes first.

    IDCF was reported (2015) to misread userdata whose Base64 ended in ``=`` padding;
    trailing newlines change nothing for cloud-config or a script."""
    import base64

    raw = text.encode("utf-8")
    raw += b"\n" * (-len(raw) % 3)
    return base64.b64encode(raw).decode("ascii")


def read_userdata(path: str) -> str:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or "not UTF-8 text"
        raise CommandError(f"cannot read userdata {path}: {reason}", 2) from None
    if text.startswith("#cloud-config"):
        import yaml

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark else ""
            raise CommandError(f"{path} is not valid YAML{where}; fix it first", 2) from None
        if not isinstance(doc, dict):
            raise CommandError(f"{path} is a #cloud-config but not a YAML mapping", 2)
    encoded = encode_userdata(text)
    if len(encoded) > USERDATA_LIMIT:
        raise CommandError(
            f"userdata {path} is {len(encoded)} bytes in Base64; the API takes at most "
            f"{USERDATA_LIMIT} (32 KB)", 2,
        )  # fmt: skip
    return encoded


def deploy(session: Session, args: argparse.Namespace) -> int:
    # Checked before any call: the server would refuse it with 431 after the lookups.
    if args.iso and not args.disk_offering:
        raise CommandError(
            "an ISO deploy needs --disk-offering for the root disk "
            "(`idcf disk-offerings` lists them)", 2,
        )  # fmt: skip
    if args.userdata and session.dry_run and not Path(args.userdata).expanduser().exists():
        # An earlier line of the same dry run "wrote" it (cloud-config --out): not there yet.
        session.echo(f"(dry run) userdata {args.userdata} is not there yet; not checked")
        userdata = None
    else:
        userdata = read_userdata(args.userdata) if args.userdata else None
    if _dry(session, f"deploy {args.name}"):
        return 0
    api = client(session)
    zone = _one_zone(session, api, args.zone)
    kind = resolve.ISO if args.iso else resolve.TEMPLATE
    image = resolve.find(api, kind, args.iso or args.template, zoneid=zone["id"])
    if not image.get("isready"):
        raise CommandError(
            f"{kind.what} {image['name']} is not ready yet ({image.get('status') or '?'}); "
            "wait for `idcf isos` to say READY yes", 1,
        )  # fmt: skip
    offering = resolve.find(api, resolve.OFFERING, args.offering)
    params: dict[str, Any] = {
        "zoneid": zone["id"], "templateid": image["id"], "serviceofferingid": offering["id"],
        "name": args.name, "displayname": args.name,
    }  # fmt: skip
    if args.disk_offering:
        disk = resolve.find(api, resolve.DISK_OFFERING, args.disk_offering)
        if not int(disk.get("disksize") or 0) and not args.size:
            raise CommandError(
                f"disk offering {disk['name']} has a custom size: pass --size GB", 2
            )
        params["diskofferingid"] = disk["id"]
        if args.size:
            params["size"] = args.size
    if args.iso:
        params["hypervisor"] = "VMware"  # IDCF's hypervisor; an ISO names none by itself
    if args.keypair:
        params["keypair"] = resolve.find(api, resolve.KEYPAIR, args.keypair)["name"]
    if userdata:
        params["userdata"] = userdata
    started = api.call("deployVirtualMachine", **params)
    _changed(session)
    jobid = str(started.get("jobid") or "")
    session.echo(f"deploying {args.name} ({started.get('id', '?')}) in {zone['name']}, "
                 f"job {jobid}")  # fmt: skip
    try:
        result = _wait(session, api, jobid, f"deploy {args.name}", f"deploying {args.name}")
    finally:
        _changed(session)
    vm = result.get("virtualmachine") or {}
    addresses = ",".join(_ips(vm)) or "no address yet"
    session.echo(f"{vm.get('name', args.name)}  {vm.get('state', '?')}  {addresses}")
    if vm.get("password"):
        session.echo(f"password for the template's user: {vm['password']} (shown once)")
    return 0


# -- VM actions --------------------------------------------------------------------------

_ACTIONS = {
    "start": ("startVirtualMachine", "starting"),
    "stop": ("stopVirtualMachine", "stopping"),
    "reboot": ("rebootVirtualMachine", "rebooting"),
    "destroy": ("destroyVirtualMachine", "destroying"),
}


def _confirm(session: Session, question: str) -> bool:
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def vm_action(action: str) -> Callable[[Session, argparse.Namespace], int]:
    command, doing = _ACTIONS[action]

    def handler(session: Session, args: argparse.Namespace) -> int:
        if _dry(session, f"{action} {args.vm}"):
            return 0
        api = client(session)
        vm = resolve.find(api, resolve.VM, args.vm)
        params: dict[str, Any] = {"id": vm["id"]}
        if action == "destroy":
            if not args.yes:
                if not session.interactive:
                    raise CommandError(
                        f"refusing to destroy {vm['name']} without --yes "
                        "(no terminal to ask)", 2,
                    )  # fmt: skip
                if not _confirm(session, f"Destroy VM {vm['name']} ({vm['id']})?"):
                    session.echo("not destroyed")
                    return 1
            if args.expunge:
                params["expunge"] = True
        if action == "stop" and args.force:
            params["forced"] = True
        started = api.call(command, **params)
        _changed(session)
        jobid = str(started.get("jobid"))
        result = _wait(session, api, jobid, f"{action} {vm['name']}", f"{doing} {vm['name']}")
        _changed(session)  # the state changed again when the job ended
        state = (result.get("virtualmachine") or {}).get("state", "?")
        session.echo(f"{vm['name']}: {state}")
        return 0

    return handler


# -- port forwarding ---------------------------------------------------------------------


def forward(session: Session, args: argparse.Namespace) -> int:
    public_port = args.public_port or args.port
    for port in (args.port, public_port):
        if not 0 < port < 65536:
            raise CommandError(f"{port} is not a port (1-65535)", 2)
    if _dry(session, f"forward port {public_port} to {args.vm}:{args.port}"):
        return 0
    api = client(session)
    vm = resolve.find(api, resolve.VM, args.vm)
    found = api.list("listPublicIpAddresses", "publicipaddress", zoneid=vm["zoneid"],
                     issourcenat=True)  # fmt: skip
    if not found:
        raise CommandError(f"no source NAT address in zone {vm.get('zonename')}", 1)
    ip = found[0]
    protocol = args.protocol
    fw = api.list("listFirewallRules", "firewallrule", ipaddressid=ip["id"])
    covered = any(
        r.get("protocol", "").lower() == protocol
        and int(r.get("startport") or 0) <= public_port <= int(r.get("endport") or 0)
        and args.cidr in str(r.get("cidrlist", "")).split(",")
        for r in fw
    )
    with session.progress(f"opening {ip['ipaddress']}:{public_port}"):
        if not covered:
            api.run_async(
                "createFirewallRule", "firewall rule", ipaddressid=ip["id"], protocol=protocol,
                startport=public_port, endport=public_port, cidrlist=args.cidr,
            )  # fmt: skip
        try:
            api.run_async(
                "createPortForwardingRule", "port forwarding", ipaddressid=ip["id"],
                privateport=args.port, publicport=public_port, protocol=protocol,
                virtualmachineid=vm["id"], openfirewall=False,
            )  # fmt: skip
        except ApiError as e:
            if e.code != 537:
                raise
            raise CommandError(f"{e.message}; `idcf ips` shows the forwards, --public-port "
                               "picks another port", 1) from None  # fmt: skip
    session.echo(f"{ip['ipaddress']}:{public_port} -> {vm['name']}:{args.port} ({protocol}, "
                 f"from {args.cidr})")  # fmt: skip
    if args.port == 22:
        session.echo(f"ssh -p {public_port} core@{ip['ipaddress']}")
    return 0


# -- cloud-configs -----------------------------------------------------------------------


def write_out(path: Path, text: str, force: bool) -> str:
    """Write ``text`` to ``path`` (atomically); returns what happened."""
    if path.is_dir():
        raise CommandError(f"{path} is a directory; --out takes a file name", 2)
    if path.exists():
        try:
            same = path.read_text(encoding="utf-8") == text
        except (OSError, UnicodeDecodeError):
            same = False
        if same:
            return "unchanged"
        if not force:
            raise CommandError(f"{path} exists and differs; --force replaces it", 1)
    write_atomic(path, text)
    return "written"


def cloud_config(session: Session, args: argparse.Namespace) -> int:
    from . import cloudconfig

    try:
        keys = [k for f in args.ssh_key for k in cloudconfig.read_ssh_keys(f)]
        if args.role == "etcd":
            text = cloudconfig.etcd(args.ip, keys, hostname=args.hostname, channel=args.channel)
        else:
            text = cloudconfig.node(args.etcd, keys, metadata=args.metadata, channel=args.channel)
    except ValueError as e:
        raise CommandError(f"{e}", 2) from None
    if not args.out:
        for line in text.rstrip("\n").split("\n"):
            session.echo(line)
        return 0
    if session.dry_run:  # recipes' --dry-run: render and check, write nothing
        session.echo(f"{args.out}: would be written ({args.role} cloud-config, dry run)")
        return 0
    try:
        what = write_out(Path(args.out).expanduser(), text, args.force)
    except OSError as e:
        raise CommandError(f"cannot write {args.out}: {e.strerror}", 74) from None
    session.echo(f"{args.out}: {what} ({args.role} cloud-config; `idcf deploy … --userdata "
                 f"{args.out}` passes it to a VM)")  # fmt: skip
    return 0
