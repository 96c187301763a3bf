"""Act as fleetd 0.8.1 against a real etcd (v2 API), for tests of fleetctl and its wrappers.

fleetctl (the real 0.8.1 binary or tests/standins/fleetctl) reads everything from etcd, so a
test can play the part of the fleet daemons by writing the keys they would write
(reference: /work/shared/reference/tools-2014.md, section 1.8):

- ``register_machine``: ``<p>machines/<id>/object`` -> the machine shows in list-machines
  (its ``Version`` drives fleetctl's version-mismatch banner);
- ``set_unit_state``: ``<p>job/<unit>/target`` plus the unit state at
  ``<p>states/<unit>/<id>`` and the legacy ``<p>state/<unit>`` -> the unit shows in
  list-units and its current state becomes ``loaded``;
- ``launch``: ``<p>job/<unit>/job-state`` = the target -> current state ``launched``;
- ``stop`` / ``unschedule`` undo the last two steps (current state ``loaded`` / ``inactive``).

Values are written as Go's encoding/json writes them. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_PREFIX = "/_coreos.com/fleet/"


def go_json(obj) -> str:
    """encoding/json.Marshal: compact, dict keys in the given order, ``<>&`` escaped."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def unit_hash(raw: str) -> str:
    """The 40-hex SHA-1 fleet uses for a unit whose stored ``Raw`` text is ``raw``."""
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


def key(prefix: str, *parts: str) -> str:
    """``<prefix>/<parts...>`` with single slashes and a leading one."""
    segs = [s for p in (prefix, *parts) for s in p.split("/") if s]
    return "/" + "/".join(segs)


def _url(etcd_url: str, k: str) -> str:
    return etcd_url.rstrip("/") + "/v2/keys" + urllib.parse.quote(k)


def put(etcd_url: str, k: str, value: str, ttl: int | None = None) -> None:
    form = {"value": value}
    if ttl is not None:
        form["ttl"] = str(ttl)
    data = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(_url(etcd_url, k), data=data, method="PUT")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()


def get(etcd_url: str, k: str) -> str | None:
    """The value at ``k``, or None when there is no such key (or it is a directory)."""
    try:
        with urllib.request.urlopen(_url(etcd_url, k), timeout=10) as r:
            node = json.load(r)["node"]
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise
    return None if node.get("dir") else node.get("value", "")


def delete(etcd_url: str, k: str, recursive: bool = False) -> bool:
    """Delete ``k``; False when it did not exist."""
    q = "?recursive=true" if recursive else ""
    req = urllib.request.Request(_url(etcd_url, k) + q, method="DELETE")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return False
        raise
    return True


def machine_object(
    machine_id: str, public_ip: str = "", metadata: dict | None = None, version: str = ""
) -> dict:
    """fleet's MachineState as JSON fields (Go sorts map keys)."""
    md = metadata or {}
    return {
        "ID": machine_id,
        "PublicIP": public_ip,
        "Metadata": {str(k): str(md[k]) for k in sorted(md)},
        "Version": version,
    }


def register_machine(
    etcd_url: str,
    machine_id: str,
    public_ip: str = "127.0.0.1",
    metadata: dict | None = None,
    version: str = "0.8.1",
    prefix: str = DEFAULT_PREFIX,
    ttl: int | None = None,
) -> dict:
    """Write ``machines/<id>/object`` as fleetd does; returns the object written."""
    obj = machine_object(machine_id, public_ip, metadata, version)
    put(etcd_url, key(prefix, "machines", machine_id, "object"), go_json(obj), ttl)
    return obj


def unregister_machine(etcd_url: str, machine_id: str, prefix: str = DEFAULT_PREFIX) -> bool:
    return delete(etcd_url, key(prefix, "machines", machine_id), recursive=True)


def _job_hash(etcd_url: str, unit: str, prefix: str) -> str:
    raw = get(etcd_url, key(prefix, "job", unit, "object"))
    if not raw:
        return ""
    try:
        return bytes(json.loads(raw).get("UnitHash") or []).hex()
    except (ValueError, TypeError, AttributeError):
        return ""


def set_unit_state(
    etcd_url: str,
    unit: str,
    machine_id: str,
    load: str = "loaded",
    active: str = "active",
    sub: str = "running",
    *,
    public_ip: str | None = None,
    metadata: dict | None = None,
    version: str = "0.8.1",
    hash_hex: str | None = None,
    target: bool = True,
    prefix: str = DEFAULT_PREFIX,
    ttl: int | None = None,
) -> dict:
    """Schedule ``unit`` to ``machine_id`` and report its systemd state from there.

    Writes ``job/<unit>/target`` (unless ``target=False``), then the unit state JSON at
    ``states/<unit>/<machine_id>`` and ``state/<unit>``. The embedded ``machineState`` is the
    registered machine object when there is one, else one built from ``public_ip``,
    ``metadata`` and ``version``. ``unitHash`` (``hash_hex``) defaults to the hash in the
    job object.
    Returns the state object written.
    """
    ms_raw = get(etcd_url, key(prefix, "machines", machine_id, "object"))
    ms = None
    if ms_raw and public_ip is None and metadata is None:
        try:
            ms = json.loads(ms_raw)
        except ValueError:
            ms = None
    if ms is None:
        ms = machine_object(machine_id, public_ip or "", metadata, version)
    state = {
        "loadState": load,
        "activeState": active,
        "subState": sub,
        "machineState": ms,
        "unitHash": hash_hex if hash_hex is not None else _job_hash(etcd_url, unit, prefix),
    }
    if target:
        put(etcd_url, key(prefix, "job", unit, "target"), machine_id)
    value = go_json(state)
    put(etcd_url, key(prefix, "states", unit, machine_id), value, ttl)
    put(etcd_url, key(prefix, "state", unit), value, ttl)
    return state


def launch(
    etcd_url: str, unit: str, machine_id: str | None = None, prefix: str = DEFAULT_PREFIX
) -> None:
    """Heartbeat ``job/<unit>/job-state`` = the unit's target: its current state -> launched."""
    if machine_id is None:
        machine_id = get(etcd_url, key(prefix, "job", unit, "target")) or ""
    put(etcd_url, key(prefix, "job", unit, "job-state"), machine_id)


def stop(etcd_url: str, unit: str, prefix: str = DEFAULT_PREFIX) -> None:
    """Drop the job-state heartbeat: a launched unit's current state -> loaded."""
    delete(etcd_url, key(prefix, "job", unit, "job-state"))


def unschedule(etcd_url: str, unit: str, prefix: str = DEFAULT_PREFIX) -> None:
    """Remove the target, heartbeat and unit states: current state -> inactive."""
    delete(etcd_url, key(prefix, "job", unit, "target"))
    delete(etcd_url, key(prefix, "job", unit, "job-state"))
    delete(etcd_url, key(prefix, "states", unit), recursive=True)
    delete(etcd_url, key(prefix, "state", unit))


def target_state(etcd_url: str, unit: str, prefix: str = DEFAULT_PREFIX) -> str | None:
    """The desired state fleetctl wrote for ``unit`` (``job/<unit>/target-state``)."""
    return get(etcd_url, key(prefix, "job", unit, "target-state"))
