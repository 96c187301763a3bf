"""A test-side stand-in for fleetd 0.8.1's engine and agents, so ``fleet start`` completes.

fleetd cannot run here (it needs systemd over D-Bus), yet fleetctl, real or stand-in, only
reads and writes etcd. :class:`FleetAgent` plays the cluster's fleetd processes against the
real test etcd, through tests/fleetfake.py (reference: tools-2014.md §1.8):

- at start it registers its machines (``machines/<id>/object``);
- every ``interval`` it reads ``job/``: for a unit whose desired state (``target-state``,
  written by fleetctl) is ``launched`` or ``loaded`` it schedules the unit the way the
  engine does (``[X-Fleet]`` ``MachineID=``, ``MachineOf=``, ``MachineMetadata=``: the first
  matching machine by ID; ``Global=true``: every matching machine, no target), then reports
  it as that machine's agent does: the systemd state at ``states/<unit>/<machine>`` and
  ``state/<unit>`` and, for ``launched``, the ``job-state`` heartbeat = the target, which is
  what makes fleetctl's current state ``launched``.

``started`` records (unit, machine) in the order the agent launched them.
"""

from __future__ import annotations

import json
import threading

import fleetfake
from fleetfake import DEFAULT_PREFIX, get, key

_SYSTEMD = {"launched": ("loaded", "active", "running"), "loaded": ("loaded", "inactive", "dead")}


def xfleet(raw: str) -> dict[str, list[str]]:
    """The ``[X-Fleet]`` options of a unit file: name -> values (whitespace-split)."""
    section, out = "", {}
    for line in raw.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        name, sep, value = line.partition("=")
        if sep and section == "X-Fleet":
            out.setdefault(name.strip(), []).extend(value.split())
    return out


def matches(metadata: dict[str, str], wanted: list[str]) -> bool:
    """fleet's MachineMetadata: every key must match; values given for one key are alternatives."""
    need: dict[str, set[str]] = {}
    for pair in wanted:
        k, _, v = pair.partition("=")
        need.setdefault(k, set()).add(v)
    return all(metadata.get(k) in values for k, values in need.items())


class FleetAgent:
    def __init__(
        self,
        etcd_url: str,
        machines: list[tuple[str, str, dict]],
        prefix: str = DEFAULT_PREFIX,
        interval: float = 0.05,
    ) -> None:
        self.url = etcd_url
        self.machines = sorted(machines)  # (id, public ip, metadata)
        self.prefix = prefix
        self.interval = interval
        self.started: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fleet-agent", daemon=True)

    def __enter__(self) -> FleetAgent:
        for mid, ip, metadata in self.machines:
            fleetfake.register_machine(self.url, mid, ip, metadata, prefix=self.prefix)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as e:  # noqa: BLE001 - kept for the test to show
                self.errors.append(repr(e))
            self._stop.wait(self.interval)

    # -- one pass of engine and agents --------------------------------------------------------

    def _jobs(self) -> dict[str, dict[str, str]]:
        import urllib.error
        import urllib.parse
        import urllib.request

        url = f"{self.url}/v2/keys{urllib.parse.quote(key(self.prefix, 'job'))}?recursive=true"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                node = json.load(r)["node"]
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return {}
            raise
        jobs = {}
        for unit in node.get("nodes") or []:
            name = unit["key"].rsplit("/", 1)[-1]
            jobs[name] = {c["key"].rsplit("/", 1)[-1]: c.get("value", "") for c in
                          unit.get("nodes") or []}  # fmt: skip
        return jobs

    def _raw(self, job: dict[str, str]) -> str:
        try:
            digest = bytes(json.loads(job.get("object") or "{}").get("UnitHash") or []).hex()
        except (ValueError, TypeError):
            return ""
        stored = get(self.url, key(self.prefix, "unit", digest)) if digest else None
        return json.loads(stored).get("Raw", "") if stored else ""

    def _choose(self, opts: dict[str, list[str]], jobs: dict[str, dict[str, str]]) -> str | None:
        candidates = [m for m in self.machines if matches(m[2], opts.get("MachineMetadata", []))]
        for wanted in opts.get("MachineID", []):
            candidates = [m for m in candidates if m[0] == wanted]
        for peer in opts.get("MachineOf", []):
            where = (jobs.get(peer) or {}).get("target")
            if not where:
                return None  # the engine waits for the peer to be scheduled
            candidates = [m for m in candidates if m[0] == where]
        return candidates[0][0] if candidates else None

    def _report(self, unit: str, machine: str, desired: str, global_: bool) -> None:
        load, active, sub = _SYSTEMD[desired]
        now = get(self.url, key(self.prefix, "states", unit, machine))
        if now and json.loads(now).get("activeState") == active:
            return
        fleetfake.set_unit_state(
            self.url, unit, machine, load, active, sub, target=not global_, prefix=self.prefix
        )
        if desired == "launched":
            self.started.append((unit, machine))

    def step(self) -> None:
        jobs = self._jobs()
        for unit, job in sorted(jobs.items()):
            desired = job.get("target-state", "")
            if desired not in _SYSTEMD:
                continue
            opts = xfleet(self._raw(job))
            if opts.get("Global", [""])[0].lower() in ("true", "yes", "1"):
                for mid, _ip, metadata in self.machines:
                    if matches(metadata, opts.get("MachineMetadata", [])):
                        self._report(unit, mid, desired, global_=True)
                continue
            target = job.get("target") or self._choose(opts, jobs)
            if not target:
                continue
            if not job.get("target"):
                job["target"] = target  # MachineOf peers scheduled in this pass see it
            self._report(unit, target, desired, global_=False)
            if desired == "launched" and job.get("job-state") != target:
                fleetfake.launch(self.url, unit, target, prefix=self.prefix)
            elif desired == "loaded" and job.get("job-state"):
                fleetfake.stop(self.url, unit, prefix=self.prefix)
