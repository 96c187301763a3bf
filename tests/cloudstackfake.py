"""A stateful stand-in for IDCF Cloud's compute API (Apache CloudStack), on 127.0.0.1.

Shaped after /work/shared/reference/cloudstack.md: every request's signature is verified
with this module's own Java-``URLEncoder`` encoder (not the plugin's), commands are
routed through one table (``COMMANDS``), answers come in the real envelopes (``{}`` for
an empty list, ``count`` the total, ``pagesize`` capped at ``page_cap``), errors carry
the real ``errorcode``/``cserrorcode`` with the HTTP status equal to the code, async
jobs stay at ``jobstatus`` 0 for ``job_polls`` polls and then succeed or fail, and ISOs
turn ready after ``iso_polls`` listings. No real time is involved anywhere.

Standard library only. Not shipped, never used by the product.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_KEY = ("kshellTestApiKey_" * 6)[:86]  # IDCF keys: 86 characters of [A-Za-z0-9_-]
SECRET_KEY = ("Secret-Kshell_9-" * 6)[:86]
assert len(API_KEY) == 86 and len(SECRET_KEY) == 86

_UNRESERVED = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*_"
)


def java_urlencode(value: str) -> str:
    """``URLEncoder.encode(value, "UTF-8")``, byte by byte, then ``+`` → ``%20``."""
    out = []
    for byte in value.encode("utf-8"):
        if byte in _UNRESERVED:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out).replace("+", "%20")


def expected_signature(params: dict[str, str], secret: str) -> str:
    names = sorted(n for n in params if n.lower() != "signature")
    text = "&".join(f"{n}={java_urlencode(params[n])}" for n in names).lower()
    mac = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


class Fail(Exception):
    def __init__(self, code: int, text: str, cs: int = 4350) -> None:
        super().__init__(text)
        self.code, self.text, self.cs = code, text, cs


def _missing(cmd: str, name: str) -> Fail:
    return Fail(431, f"Unable to execute API command {cmd.lower()} due to missing parameter {name}")


def _invalid(cmd: str, name: str, value: str) -> Fail:
    return Fail(
        431,
        f"Unable to execute API command {cmd.lower()} due to invalid value. Invalid parameter "
        f"{name} value={value} due to incorrect long value format, or entity does not exist or "
        "due to incorrect parameter annotation for the field in api cmd class.",
    )


def _uuid() -> str:
    return str(uuid.uuid4())


class CloudStackFake:
    """``start()`` → serving at ``url``; state in plain dicts a test may read or change."""

    def __init__(
        self,
        *,
        api_key: str = API_KEY,
        secret_key: str = SECRET_KEY,
        page_cap: int = 500,
        job_polls: int = 2,
        iso_polls: int = 2,
        vm_limit: int = 20,
    ) -> None:
        self.api_key, self.secret_key = api_key, secret_key
        self.page_cap, self.job_polls, self.iso_polls, self.vm_limit = (
            page_cap, job_polls, iso_polls, vm_limit,
        )  # fmt: skip
        self.mode = "cloudstack"  # "html": answer like a proxy's error page
        self.rate_limited = 0  # the next N requests get 429
        self.gate = threading.Event()  # cleared: every answer waits until it is set
        self.gate.set()
        self.job_gate = threading.Event()  # cleared: job polls wait until it is set
        self.job_gate.set()
        self.log: list[tuple[str, str, dict[str, str]]] = []  # method, command, params
        self.lock = threading.Lock()
        self._ips = itertools.count(10)
        self._rule_ids = itertools.count(1)
        self.zones: list[dict[str, Any]] = []
        self.offerings: list[dict[str, Any]] = []
        self.disk_offerings: list[dict[str, Any]] = []
        self.ostypes: list[dict[str, Any]] = []
        self.templates: list[dict[str, Any]] = []
        self.isos: list[dict[str, Any]] = []
        self.vms: list[dict[str, Any]] = []
        self.networks: list[dict[str, Any]] = []
        self.public_ips: list[dict[str, Any]] = []
        self.firewall_rules: list[dict[str, Any]] = []
        self.pf_rules: list[dict[str, Any]] = []
        self.keypairs: list[dict[str, Any]] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.userdata: dict[str, str] = {}  # vm id -> decoded userdata
        self.no_capacity_offerings: set[str] = set()
        self._seed()
        self._server: ThreadingHTTPServer | None = None

    # -- the account's world ------------------------------------------------------

    def _seed(self) -> None:
        for name, ip in (("tesla", "203.0.113.10"), ("augusta", "198.51.100.20")):
            zone = {"id": _uuid(), "name": name, "networktype": "Advanced",
                    "allocationstate": "Enabled"}  # fmt: skip
            self.zones.append(zone)
            net = {"id": _uuid(), "name": f"{name}-network", "zoneid": zone["id"],
                   "type": "Isolated", "cidr": "10.1.0.0/22"}  # fmt: skip
            self.networks.append(net)
            self.public_ips.append({
                "id": _uuid(), "ipaddress": ip, "issourcenat": True, "isstaticnat": False,
                "zoneid": zone["id"], "zonename": name, "associatednetworkid": net["id"],
                "state": "Allocated",
            })  # fmt: skip
        for name, cpu, mem in (("light.S1", 1, 1024), ("standard.S4", 2, 4096),
                               ("highcpu.M4", 4, 4096), ("highmem.L128", 16, 131072)):  # fmt: skip
            self.offerings.append({"id": _uuid(), "name": name, "displaytext": name,
                                   "cpunumber": cpu, "cpuspeed": 2400, "memory": mem})  # fmt: skip
        self.no_capacity_offerings.add(self.offerings[-1]["id"])
        for name, size in (("Custom", 0), ("100GB", 100), ("500GB", 500)):
            self.disk_offerings.append({"id": _uuid(), "name": name, "disksize": size,
                                        "displaytext": name})  # fmt: skip
        for desc in ("Other Linux (64-bit)", "CentOS 6.5 (64-bit)", "Ubuntu 14.04 (64-bit)"):
            self.ostypes.append({"id": _uuid(), "description": desc})
        for zone in self.zones:  # the same template name in both zones
            self.templates.append({
                "id": _uuid(), "name": "CoreOS stable 444.5.0", "displaytext": "CoreOS",
                "isready": True, "status": "Download Complete", "ostypeid":
                self.ostypes[0]["id"], "zoneid": zone["id"], "zonename": zone["name"],
                "hypervisor": "VMware", "passwordenabled": False, "isfeatured": True,
            })  # fmt: skip
        tesla = self.zones[0]
        self.templates.append({
            "id": _uuid(), "name": "CentOS 6.5 64-bit", "displaytext": "CentOS",
            "isready": True, "status": "Download Complete", "ostypeid": self.ostypes[1]["id"],
            "zoneid": tesla["id"], "zonename": tesla["name"], "hypervisor": "VMware",
            "passwordenabled": True, "isfeatured": True,
        })  # fmt: skip

    def zone(self, name: str) -> dict[str, Any]:
        return next(z for z in self.zones if z["name"] == name)

    def vm(self, name: str) -> dict[str, Any]:
        return next(v for v in self.vms if v["name"] == name and v["state"] != "Expunging")

    def add_iso(self, name: str, zone: str = "tesla", ready: bool = True) -> dict[str, Any]:
        z = self.zone(zone)
        iso = {"id": _uuid(), "name": name, "displaytext": name, "isready": ready,
               "status": "Download Complete" if ready else "0% Downloaded", "bootable": True,
               "zoneid": z["id"], "zonename": z["name"], "ostypeid": self.ostypes[0]["id"],
               "url": f"http://example.com/{name}.iso", "_polls": 0}  # fmt: skip
        self.isos.append(iso)
        return iso

    def commands_seen(self) -> list[str]:
        return [c for _, c, _ in self.log]

    # -- HTTP ---------------------------------------------------------------------

    def start(self) -> CloudStackFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # one request per poll: no 40 ms delayed ACKs

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                fake._serve(self, dict(parse_qsl(urlsplit(self.path).query,
                                                 keep_blank_values=True)))  # fmt: skip

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
                params.update(parse_qsl(body, keep_blank_values=True))
                fake._serve(self, params)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server
        return f"http://127.0.0.1:{self._server.server_address[1]}/client/api"

    def _serve(self, handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        if urlsplit(handler.path).path != "/client/api":
            return self._send(handler, 404, "text/html", b"<html><body>Not Found</body></html>")
        if self.mode == "html":
            page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            return self._send(handler, 502, "text/html", page)
        command = params.get("command", "")
        self.gate.wait(30)
        if command == "queryAsyncJobResult":
            self.job_gate.wait(30)
        with self.lock:
            self.log.append((handler.command, command, dict(params)))
            status, body = self._dispatch(handler.command, command, params)
        if params.get("response") != "json":
            xml = f"<?xml version='1.0'?><{command.lower()}response cloud-stack-version='4.3'/>"
            return self._send(handler, status, "text/xml; charset=UTF-8", xml.encode())
        data = json.dumps(body).encode("utf-8")
        self._send(handler, status, "application/json; charset=UTF-8", data)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, ctype: str, data: bytes) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (Ctrl-C in a test): nothing to answer

    def _dispatch(self, method: str, command: str, params: dict[str, str]) -> tuple[int, dict]:
        envelope = command.lower() + "response"
        try:
            self._verify(params)
            if self.rate_limited:
                self.rate_limited -= 1
                raise Fail(429, "The given user is not allowed to make API calls more than 20 "
                                "times per second", 4350)  # fmt: skip
            entry = COMMANDS.get(command)
            if entry is None:
                raise Fail(432, "The given command does not exist or it is not available for "
                                "user", 9999)  # fmt: skip
            required, fn = entry
            lowered = {k.lower(): v for k, v in params.items()}
            for name in required:
                if not lowered.get(name):
                    raise _missing(command, name)
            lowered["_method"] = method
            return 200, {envelope: fn(self, lowered)}
        except Fail as e:
            return e.code, {envelope: {"uuidList": [], "errorcode": e.code,
                                       "cserrorcode": e.cs, "errortext": e.text}}  # fmt: skip

    def _verify(self, params: dict[str, str]) -> None:
        key = next((v for k, v in params.items() if k.lower() == "apikey"), None)
        sig = next((v for k, v in params.items() if k.lower() == "signature"), None)
        if key != self.api_key or not sig or not hmac.compare_digest(
            sig, expected_signature(params, self.secret_key)
        ):
            raise Fail(401, "unable to verify user credentials and/or request signature", 0)

    # -- helpers for commands -------------------------------------------------------

    def _find(self, items: list[dict], cmd: str, name: str, value: str) -> dict[str, Any]:
        found = next((i for i in items if i["id"] == value), None)
        if found is None:
            raise _invalid(cmd, name, value)
        return found

    def _page(self, p: dict[str, str], key: str, items: list[dict]) -> dict[str, Any]:
        items = [{k: v for k, v in i.items() if not k.startswith("_")} for i in items]
        if not items:
            return {}
        size = min(int(p.get("pagesize") or self.page_cap), self.page_cap)
        page = int(p.get("page") or 1)
        return {"count": len(items), key: items[(page - 1) * size : page * size]}

    @staticmethod
    def _filter(items: list[dict], p: dict[str, str], *fields: str) -> list[dict]:
        out = items
        for f in fields:
            if p.get(f):
                out = [i for i in out if str(i.get(f)) == p[f]]
        return out

    def _job(self, cmd: str, finish, instance: str = "VirtualMachine") -> dict[str, Any]:
        """A job that answers ``jobstatus`` 0 ``job_polls`` times, then runs ``finish``.

        ``finish()`` returns the ``jobresult`` or raises ``Fail`` (the job fails)."""
        jobid = _uuid()
        self.jobs[jobid] = {"cmd": cmd, "polls": self.job_polls, "finish": finish,
                            "instancetype": instance, "done": None}  # fmt: skip
        return {"jobid": jobid}

    def _iso_tick(self, iso: dict[str, Any]) -> None:
        if iso["isready"] or iso["status"].startswith("Failed"):
            return
        iso["_polls"] += 1
        if ".invalid/" in iso["url"]:
            iso["status"] = "Failed to download: Unknown host"
        elif iso["_polls"] >= self.iso_polls:
            iso["isready"], iso["status"] = True, "Download Complete"
        else:
            iso["status"] = f"{100 * iso['_polls'] // self.iso_polls}% Downloaded"


# -- the command table -----------------------------------------------------------------


def list_zones(f: CloudStackFake, p):
    return f._page(p, "zone", f._filter(f.zones, p, "id", "name"))


def list_service_offerings(f: CloudStackFake, p):
    return f._page(p, "serviceoffering", f._filter(f.offerings, p, "id", "name"))


def list_disk_offerings(f: CloudStackFake, p):
    return f._page(p, "diskoffering", f._filter(f.disk_offerings, p, "id", "name"))


def list_os_types(f: CloudStackFake, p):
    found = f._filter(f.ostypes, p, "id", "description")
    return f._page(p, "ostype", found)


_FILTERS = ("featured", "self", "selfexecutable", "sharedexecutable", "executable", "community")


def list_templates(f: CloudStackFake, p):
    if p["templatefilter"] not in _FILTERS:
        raise _invalid("listTemplates", "templatefilter", p["templatefilter"])
    found = f._filter(f.templates, p, "id", "name", "zoneid")
    if p["templatefilter"] == "self":
        found = [t for t in found if not t.get("isfeatured")]
    return f._page(p, "template", found)


def list_isos(f: CloudStackFake, p):
    found = f._filter(f.isos, p, "id", "name", "zoneid")
    for iso in found:
        f._iso_tick(iso)
    return f._page(p, "iso", found)


def register_iso(f: CloudStackFake, p):
    zone = f._find(f.zones, "registerIso", "zoneid", p["zoneid"])
    bootable = p.get("bootable", "true") == "true"
    if bootable and not p.get("ostypeid"):
        raise Fail(431, "Please pass a valid GuestOS Id")
    if p.get("ostypeid"):
        f._find(f.ostypes, "registerIso", "ostypeid", p["ostypeid"])
    if not p["url"].lower().startswith(("http://", "https://")):
        raise Fail(431, f"Please specify a valid URL. URL:{p['url']} is an invalid for the "
                        "requested file")  # fmt: skip
    iso = {"id": _uuid(), "name": p["name"], "displaytext": p["displaytext"], "isready": False,
           "status": "", "bootable": bootable, "zoneid": zone["id"], "zonename": zone["name"],
           "ostypeid": p.get("ostypeid"), "url": p["url"], "_polls": 0}  # fmt: skip
    f.isos.append(iso)
    return {"count": 1, "iso": [{k: v for k, v in iso.items() if not k.startswith("_")}]}


def delete_iso(f: CloudStackFake, p):
    iso = f._find(f.isos, "deleteIso", "id", p["id"])

    def finish():
        f.isos.remove(iso)
        return {"success": True}

    return f._job("org.apache.cloudstack.api.command.user.iso.DeleteIsoCmd", finish, "Iso")


def _vm_view(vm: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in vm.items() if not k.startswith("_")}


def list_vms(f: CloudStackFake, p):
    found = f._filter(f.vms, p, "id", "name", "zoneid", "state")
    if not p.get("state"):
        found = [v for v in found if v["state"] not in ("Destroyed", "Expunging")]
    return f._page(p, "virtualmachine", found)


def deploy_vm(f: CloudStackFake, p):
    cmd = "deployVirtualMachine"
    zone = f._find(f.zones, cmd, "zoneid", p["zoneid"])
    offering = f._find(f.offerings, cmd, "serviceofferingid", p["serviceofferingid"])
    image = next((t for t in f.templates + f.isos if t["id"] == p["templateid"]), None)
    if image is None:
        raise _invalid(cmd, "templateid", p["templateid"])
    is_iso = image in f.isos
    disk = None
    if p.get("diskofferingid"):
        disk = f._find(f.disk_offerings, cmd, "diskofferingid", p["diskofferingid"])
    if is_iso and disk is None:
        raise Fail(431, "Installing from ISO requires a disk offering to be specified for the "
                        "root disk.")  # fmt: skip
    if disk is not None and disk["disksize"] == 0 and not p.get("size"):
        raise Fail(431, f"Disk offering {disk['name']} requires size parameter.")
    if image["zoneid"] != zone["id"] or not image["isready"]:
        raise Fail(431, f"Please specify a template/ISO that is ready in zone {zone['name']}")
    if p.get("keypair") and not any(k["name"] == p["keypair"] for k in f.keypairs):
        raise Fail(431, f"A key pair with name '{p['keypair']}' was not found.")
    decoded = None
    if p.get("userdata"):
        limit = 2048 if p["_method"] == "GET" else 32768
        if len(p["userdata"]) > limit:
            raise Fail(431, f"User data is too long for an http {p['_method']} request")
        try:
            decoded = base64.b64decode(p["userdata"], validate=True).decode("utf-8")
        except ValueError:
            raise Fail(431, "User data is not base64 encoded") from None
    name = p.get("name") or f"i-{len(f.vms) + 1}"
    live = [v for v in f.vms if v["state"] not in ("Expunging",)]
    if any(v["name"] == name and v["zoneid"] == zone["id"] for v in live):
        raise Fail(431, f"The vm with hostName {name} already exists in the network domain: "
                        "cs1cloud.internal; network=" + zone["name"] + "-network")  # fmt: skip
    if len([v for v in live if v["state"] != "Destroyed"]) >= f.vm_limit:
        raise Fail(532, "Maximum number of resources of type 'user_vm' for account name=kshell "
                        "in domain id=1 has been exceeded.", 4370)  # fmt: skip
    net = next(n for n in f.networks if n["zoneid"] == zone["id"])
    vm = {
        "id": _uuid(), "name": name, "displayname": p.get("displayname") or name,
        "state": "Starting", "zoneid": zone["id"], "zonename": zone["name"],
        "templateid": image["id"], "templatename": image["name"],
        "serviceofferingid": offering["id"], "serviceofferingname": offering["name"],
        "cpunumber": offering["cpunumber"], "memory": offering["memory"],
        "hypervisor": "VMware", "keypair": p.get("keypair"),
        "nic": [{"id": _uuid(), "networkid": net["id"], "networkname": net["name"],
                 "ipaddress": f"10.1.0.{next(f._ips)}", "netmask": "255.255.252.0",
                 "gateway": "10.1.0.1", "isdefault": True, "type": "Isolated",
                 "traffictype": "Guest", "macaddress": "02:00:17:cb:01:4a"}],
    }  # fmt: skip
    if is_iso:
        vm["isoid"] = image["id"]
    if decoded is not None:
        f.userdata[vm["id"]] = decoded
    f.vms.append(vm)

    def finish():
        if offering["id"] in f.no_capacity_offerings:
            vm["state"] = "Error"
            raise Fail(533, f"Unable to create a deployment for VM[User|{name}]", 4010)
        vm["state"] = "Running"
        result = _vm_view(vm)
        if image.get("passwordenabled"):
            result["password"] = "Ab3dEf9h"
        return {"virtualmachine": result}

    return {"id": vm["id"], **f._job("org.apache.cloudstack.api.command.user.vm.DeployVMCmd",
                                      finish)}  # fmt: skip


def _vm_action(name: str, before: tuple[str, ...], during: str, after: str):
    def action(f: CloudStackFake, p):
        vm = f._find([v for v in f.vms if v["state"] != "Expunging"], name, "id", p["id"])
        if vm["state"] not in before:
            raise Fail(431, f"VM {vm['name']} is {vm['state']}; {name} needs it "
                            f"{' or '.join(before)}")  # fmt: skip
        vm["state"] = during

        def finish():
            vm["state"] = "Expunging" if after == "Destroyed" and p.get("expunge") == "true" \
                else after
            return {"virtualmachine": _vm_view(vm)}

        return f._job(f"org.apache.cloudstack.api.command.user.vm.{name}Cmd", finish)

    return action


def query_job(f: CloudStackFake, p):
    job = f.jobs.get(p["jobid"])
    if job is None:
        raise _invalid("queryAsyncJobResult", "jobid", p["jobid"])
    out = {"jobid": p["jobid"], "cmd": job["cmd"], "accountid": "acc-1", "userid": "user-1",
           "jobinstancetype": job["instancetype"], "jobprocstatus": 0,
           "created": "2014-09-20T12:00:00+0900"}  # fmt: skip
    if job["done"] is None and job["polls"] > 0:
        job["polls"] -= 1
        return {**out, "jobstatus": 0, "jobresultcode": 0}
    if job["done"] is None:
        try:
            job["done"] = (1, 0, job["finish"]())
        except Fail as e:
            job["done"] = (2, 530, {"errorcode": e.code, "errortext": e.text})
    status, code, result = job["done"]
    return {**out, "jobstatus": status, "jobresultcode": code, "jobresulttype": "object",
            "jobresult": result, "completed": "2014-09-20T12:00:05+0900"}  # fmt: skip


def list_networks(f: CloudStackFake, p):
    return f._page(p, "network", f._filter(f.networks, p, "id", "zoneid"))


def list_public_ips(f: CloudStackFake, p):
    found = f._filter(f.public_ips, p, "id", "zoneid", "ipaddress")
    if p.get("issourcenat"):
        found = [i for i in found if str(i["issourcenat"]).lower() == p["issourcenat"]]
    return f._page(p, "publicipaddress", found)


def _overlap(rules: list[dict], p: dict[str, str], start: int, end: int, keys: tuple[str, str]):
    lo, hi = keys
    for r in rules:
        same = r["ipaddressid"] == p["ipaddressid"] and r["protocol"] == p["protocol"].lower()
        if same and int(r[lo]) <= end and start <= int(r[hi]):
            raise Fail(537, f"The range specified, {start}-{end}, conflicts with rule "
                            f"{r['_n']} which has {r[lo]}-{r[hi]}")  # fmt: skip


def create_firewall_rule(f: CloudStackFake, p):
    ip = f._find(f.public_ips, "createFirewallRule", "ipaddressid", p["ipaddressid"])
    if p["protocol"].upper() not in ("TCP", "UDP", "ICMP"):
        raise Fail(431, f"Invalid protocol {p['protocol']}")
    start = int(p.get("startport") or 1)
    end = int(p.get("endport") or start)
    cidr = p.get("cidrlist") or "0.0.0.0/0"
    same_source = [r for r in f.firewall_rules if r["cidrlist"] == cidr]
    _overlap(same_source, p, start, end, ("startport", "endport"))
    rule = {"id": _uuid(), "_n": next(f._rule_ids), "ipaddressid": ip["id"],
            "ipaddress": ip["ipaddress"], "protocol": p["protocol"].lower(), "startport": start,
            "endport": end, "cidrlist": cidr, "state": "Add"}  # fmt: skip
    f.firewall_rules.append(rule)

    def finish():
        rule["state"] = "Active"
        return {"firewallrule": _vm_view(rule)}

    return {"id": rule["id"], **f._job("CreateFirewallRuleCmd", finish, "FirewallRule")}


def create_pf_rule(f: CloudStackFake, p):
    cmd = "createPortForwardingRule"
    ip = f._find(f.public_ips, cmd, "ipaddressid", p["ipaddressid"])
    vm = f._find(f.vms, cmd, "virtualmachineid", p["virtualmachineid"])
    pub, priv = int(p["publicport"]), int(p["privateport"])
    if not (0 < pub < 65536 and 0 < priv < 65536):
        raise Fail(431, "Invalid port")
    _overlap(f.pf_rules, p, pub, int(p.get("publicendport") or pub), ("publicstart", "publicend"))
    rule = {"id": _uuid(), "_n": next(f._rule_ids), "ipaddressid": ip["id"],
            "ipaddress": ip["ipaddress"], "protocol": p["protocol"].lower(),
            "publicport": str(pub), "publicstart": pub, "publicend": pub,
            "publicendport": str(pub), "privateport": str(priv), "privateendport": str(priv),
            "virtualmachineid": vm["id"], "virtualmachinename": vm["name"],
            "state": "Add"}  # fmt: skip
    f.pf_rules.append(rule)
    if p.get("openfirewall", "true") == "true":
        f.firewall_rules.append({"id": _uuid(), "_n": next(f._rule_ids), "ipaddressid": ip["id"],
                                 "ipaddress": ip["ipaddress"], "protocol": rule["protocol"],
                                 "startport": pub, "endport": pub, "cidrlist": "0.0.0.0/0",
                                 "state": "Active"})  # fmt: skip

    def finish():
        rule["state"] = "Active"
        return {"portforwardingrule": {k: v for k, v in _vm_view(rule).items()
                                       if k not in ("publicstart", "publicend")}}  # fmt: skip

    return {"id": rule["id"], **f._job("CreatePortForwardingRuleCmd", finish, "FirewallRule")}


def list_firewall_rules(f: CloudStackFake, p):
    return f._page(p, "firewallrule", f._filter(f.firewall_rules, p, "id", "ipaddressid"))


def list_pf_rules(f: CloudStackFake, p):
    found = f._filter(f.pf_rules, p, "id", "ipaddressid")
    found = [{k: v for k, v in r.items() if k not in ("publicstart", "publicend")} for r in found]
    return f._page(p, "portforwardingrule", found)


def _fingerprint(public_key: str) -> str:
    parts = public_key.split()
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-")):
        raise Fail(431, "Public key is invalid")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except ValueError:
        raise Fail(431, "Public key is invalid") from None
    digest = hashlib.md5(blob).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def register_keypair(f: CloudStackFake, p):
    if any(k["name"] == p["name"] for k in f.keypairs):
        raise Fail(431, f"A key pair with name '{p['name']}' already exists.")
    pair = {"name": p["name"], "fingerprint": _fingerprint(p["publickey"])}
    f.keypairs.append(pair)
    return {"keypair": dict(pair)}


def list_keypairs(f: CloudStackFake, p):
    return f._page(p, "sshkeypair", f._filter(f.keypairs, p, "name", "fingerprint"))


COMMANDS = {
    "listZones": ((), list_zones),
    "listServiceOfferings": ((), list_service_offerings),
    "listDiskOfferings": ((), list_disk_offerings),
    "listOsTypes": ((), list_os_types),
    "listTemplates": (("templatefilter",), list_templates),
    "listIsos": ((), list_isos),
    "registerIso": (("name", "displaytext", "url", "zoneid"), register_iso),
    "deleteIso": (("id",), delete_iso),
    "listVirtualMachines": ((), list_vms),
    "deployVirtualMachine": (("serviceofferingid", "templateid", "zoneid"), deploy_vm),
    "startVirtualMachine": (("id",), _vm_action("StartVM", ("Stopped",), "Starting", "Running")),
    "stopVirtualMachine": (("id",), _vm_action("StopVM", ("Running", "Stopped"), "Stopping",
                                               "Stopped")),  # fmt: skip
    "rebootVirtualMachine": (("id",), _vm_action("RebootVM", ("Running",), "Running",
                                                 "Running")),  # fmt: skip
    "destroyVirtualMachine": (("id",), _vm_action("DestroyVM", ("Running", "Stopped", "Error"),
                                                  "Destroyed", "Destroyed")),  # fmt: skip
    "queryAsyncJobResult": (("jobid",), query_job),
    "listNetworks": ((), list_networks),
    "listPublicIpAddresses": ((), list_public_ips),
    "createFirewallRule": (("ipaddressid", "protocol"), create_firewall_rule),
    "listFirewallRules": ((), list_firewall_rules),
    "createPortForwardingRule": (
        ("ipaddressid", "privateport", "publicport", "protocol", "virtualmachineid"),
        create_pf_rule,
    ),
    "listPortForwardingRules": ((), list_pf_rules),
    "registerSSHKeyPair": (("name", "publickey"), register_keypair),
    "listSSHKeyPairs": ((), list_keypairs),
}
