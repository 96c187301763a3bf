"""tests/standins/fleetctl against a real etcd, checked against the fleetctl 0.8.1 reference.

/work/shared/reference/tools-2014.md sections 1 and 5.3. Set KSHELL_TEST_FLEETCTL to a real
fleetctl 0.8.1 binary to run the same tests against it; the tests that need the stand-in's
own SSH hook are skipped then.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import marshal
import os
import re
import subprocess
import sys
import time

import fleetfake
import pytest
from conftest import STANDINS

from kshell.sandbox import free_port

STANDIN = STANDINS / "fleetctl"
FLEETCTL = os.environ.get("KSHELL_TEST_FLEETCTL", str(STANDIN))
REAL = "KSHELL_TEST_FLEETCTL" in os.environ
# Each call is a fresh process running the stand-in as ``__main__``, but from bytecode compiled
# once per session: compiling its source costs more than the rest of a call. Its shebang is
# exercised in test_version.
_LAUNCH = (
    "import marshal, sys; c, p = sys.argv[1:3]; sys.argv = sys.argv[2:]; "
    "exec(marshal.loads(open(c, 'rb').read()), {'__name__': '__main__', '__file__': p})"
)


@pytest.fixture(scope="session")
def argv0(tmp_path_factory) -> list[str]:
    if REAL:
        return [FLEETCTL]
    code = tmp_path_factory.mktemp("standin") / "fleetctl.code"
    code.write_bytes(marshal.dumps(compile(STANDIN.read_text(), str(STANDIN), "exec")))
    return [sys.executable, "-S", "-c", _LAUNCH, str(code), str(STANDIN)]


standin_only = pytest.mark.skipif(REAL, reason="uses the stand-in's FLEETCTL_STANDIN_SSH hook")

P = "/_coreos.com/fleet/"
MID = "2c1f1a0e4b7d4c3a9e5f6a7b8c9d0e1f"
MID2 = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
HELLO = (
    "[Unit]\nDescription=Hello World\n\n[Service]\n"
    'ExecStart=/bin/sh -c "while true; do echo Hello; sleep 1; done"\n\n'
    "[X-Fleet]\nConflicts=hello*.service\n"
)
HELLO_HASH = "9d0ffa4ff58a95af7edfe837e6172f9619814f7e"
GLOBAL = (
    "[Unit]\nDescription=Everywhere\n\n[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nGlobal=true\n"
)
PLAIN = "[Unit]\nDescription=Plain\n\n[Service]\nExecStart=/bin/true\n"
BANNER = (
    "####################################################################\n"
    "WARNING: fleetctl (0.8.1) is older than the latest registered\n"
    "version of fleet found in the cluster (0.9.0). You are strongly\n"
    "recommended to upgrade fleetctl to prevent incompatibility issues.\n"
    "####################################################################\n"
)
LOG = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (INFO|WARN|ERROR|FATAL) \w+\.go:\d+: ")


class Fleet:
    """Runs fleetctl against the test's etcd from a scratch directory holding unit files."""

    def __init__(self, etcd, cwd, argv0):
        self.argv0 = argv0
        self.url = etcd.url
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETCTL_")}

    def write(self, name: str, text: str) -> None:
        path = self.cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def raw(self, *args: str, env: dict | None = None, timeout: float = 20):
        e = dict(self.env)
        e.update(env or {})
        return subprocess.run(
            [*self.argv0, *args],
            cwd=self.cwd,
            env=e,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def __call__(self, *args: str, **kw):
        return self.raw("--endpoint", self.url, *args, **kw)

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [*self.argv0, "--endpoint", self.url, *args],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def key(self, *parts: str) -> str | None:
        return fleetfake.get(self.url, fleetfake.key(P, *parts))

    def wait_key(self, value: str, *parts: str, timeout: float = 10) -> None:
        end = time.monotonic() + timeout
        while self.key(*parts) != value:
            assert time.monotonic() < end, f"{parts} never became {value!r}"
            time.sleep(0.02)


@pytest.fixture
def fleet(etcd, tmp_path, argv0):
    f = Fleet(etcd, tmp_path, argv0)
    f.write("hello.service", HELLO)
    return f


def ok(r, stdout: str = "", stderr: str = "") -> None:
    assert (r.returncode, r.stdout, r.stderr) == (0, stdout, stderr)


def fails(r, stderr: str, code: int = 1, stdout: str = "") -> None:
    assert (r.returncode, r.stdout, r.stderr) == (code, stdout, stderr)


def scheduled(fleet: Fleet, unit: str = "hello.service", launched: bool = False) -> None:
    """fleetd's part: the machine registered, ``unit`` scheduled there and running."""
    fleetfake.register_machine(fleet.url, MID, "127.0.0.1", {"region": "local"})
    fleetfake.set_unit_state(fleet.url, unit, MID, "loaded", "active", "running")
    if launched:
        fleetfake.launch(fleet.url, unit)


# --------------------------------------------------------------------------- §5.3


def test_version(fleet):
    ok(fleet("version"), "fleetctl version 0.8.1\n")
    ok(fleet("--version"), "fleetctl version 0.8.1\n")
    ok(fleet.raw("--version"), "fleetctl version 0.8.1\n")  # no etcd needed
    r = subprocess.run([FLEETCTL, "version"], capture_output=True, text=True, timeout=20)
    assert (r.returncode, r.stdout, r.stderr) == (0, "fleetctl version 0.8.1\n", "")


def test_empty_tables(fleet):
    ok(fleet("list-machines"), "MACHINE\tIP\tMETADATA\n")
    ok(fleet("list-units"), "UNIT\tMACHINE\tACTIVE\tSUB\n")
    ok(fleet("list-unit-files"), "UNIT\tHASH\tDSTATE\tSTATE\tTARGET\n")


def test_submit_stores_fleet_layout(fleet):
    ok(fleet("submit", "hello.service"))
    ok(
        fleet("list-unit-files"),
        "UNIT\t\tHASH\tDSTATE\t\tSTATE\t\tTARGET\nhello.service\t9d0ffa4\tinactive\tinactive\t-\n",
    )
    ok(fleet("cat", "hello.service"), HELLO)
    assert fleet.key("unit", HELLO_HASH) == (
        r'{"Raw":"[Unit]\nDescription=Hello World\n\n[Service]\nExecStart=/bin/sh -c '
        r'\"while true; do echo Hello; sleep 1; done\"\n\n[X-Fleet]\nConflicts=hello*.service\n"}'
    )
    assert fleet.key("job", "hello.service", "object") == (
        '{"Name":"hello.service","UnitHash":'
        "[157,15,250,79,245,138,149,175,126,223,232,55,230,23,47,150,25,129,79,126]}"
    )
    assert fleet.key("job", "hello.service", "target-state") == "inactive"
    ok(fleet("submit", "hello.service"))  # idempotent


def test_start_no_block(fleet):
    ok(fleet("submit", "hello.service"))
    ok(fleet("start", "--no-block", "hello.service"), "Triggered unit hello.service start\n")
    assert fleet.key("job", "hello.service", "target-state") == "launched"
    ok(fleet("list-units"), "UNIT\tMACHINE\tACTIVE\tSUB\n")
    ok(
        fleet("list-unit-files"),
        "UNIT\t\tHASH\tDSTATE\t\tSTATE\t\tTARGET\nhello.service\t9d0ffa4\tlaunched\tinactive\t-\n",
    )


def test_start_submits_from_file(fleet):
    ok(fleet("start", "--no-block", "hello.service"), "Triggered unit hello.service start\n")
    assert fleet.key("unit", HELLO_HASH) is not None


def test_already_desired_state_stop_unload_of_inactive(fleet):
    fleet.write("hello2.service", HELLO.replace("Hello World", "Hello Two"))
    ok(fleet("start", "--no-block", "hello2.service"), "Triggered unit hello2.service start\n")
    t0 = time.monotonic()
    ok(fleet("start", "--block-attempts=3", "hello2.service"))  # skipped, no waiting
    assert time.monotonic() - t0 < 1.4
    fails(
        fleet("stop", "--no-block", "hello2.service"),
        "Unable to stop unit hello2.service in state inactive\n",
    )
    ok(fleet("unload", "--no-block", "hello2.service"))
    assert fleet.key("job", "hello2.service", "target-state") == "launched"


def test_destroy(fleet):
    ok(fleet("submit", "hello.service"))
    ok(fleet("destroy", "hello.service"), "Destroyed hello.service\n")
    ok(fleet("destroy", "nosuch.service"))
    fails(fleet("cat", "hello.service"), "Unit hello.service not found\n")
    fails(fleet("status", "hello.service"), "Unit hello.service does not exist.\n")
    assert fleet.key("job", "hello.service", "object") is None
    assert fleet.key("unit", HELLO_HASH) is not None  # only job/<unit>/ goes


def test_destroy_leaves_states(fleet):
    ok(fleet("start", "--no-block", "hello.service"), "Triggered unit hello.service start\n")
    scheduled(fleet)
    ok(fleet("destroy", "hello.service"), "Destroyed hello.service\n")
    ok(fleet("list-unit-files"), "UNIT\tHASH\tDSTATE\tSTATE\tTARGET\n")
    ok(
        fleet("list-units", "--no-legend"),
        "hello.service\t2c1f1a0e.../127.0.0.1\tactive\trunning\n",
    )


def test_missing_unit(fleet):
    msg = (
        "Error creating units: unable to find Unit(missing.service) in Registry or on filesystem\n"
    )
    fails(fleet("submit", "missing.service"), msg)
    fails(fleet("start", "--no-block", "missing.service"), msg)


def test_unknown_command(fleet):
    fails(
        fleet("bogus-command"),
        "fleetctl: unknown subcommand: \"bogus-command\"\nRun 'fleetctl help' for usage.\n",
        code=2,
    )


def test_tables_with_a_machine(fleet):
    ok(fleet("start", "--no-block", "hello.service"), "Triggered unit hello.service start\n")
    scheduled(fleet)
    ok(fleet("list-machines"), "MACHINE\t\tIP\t\tMETADATA\n2c1f1a0e...\t127.0.0.1\tregion=local\n")
    ok(
        fleet("list-machines", "--full"),
        f"MACHINE\t\t\t\t\tIP\t\tMETADATA\n{MID}\t127.0.0.1\tregion=local\n",
    )
    ok(fleet("list-machines", "--no-legend"), "2c1f1a0e...\t127.0.0.1\tregion=local\n")
    ok(
        fleet("list-units"),
        "UNIT\t\tMACHINE\t\t\tACTIVE\tSUB\nhello.service\t2c1f1a0e.../127.0.0.1\tactive\trunning\n",
    )
    r = fleet("list-units", "--full")
    ok(r, r.stdout.split("\n", 1)[0] + f"\nhello.service\t{MID}/127.0.0.1\tactive\trunning\n")
    ok(
        fleet("list-unit-files"),
        "UNIT\t\tHASH\tDSTATE\t\tSTATE\tTARGET\n"
        "hello.service\t9d0ffa4\tlaunched\tloaded\t2c1f1a0e.../127.0.0.1\n",
    )
    r = fleet("list-unit-files", "--full")
    ok(
        r,
        r.stdout.split("\n", 1)[0]
        + f"\nhello.service\t{HELLO_HASH}\tlaunched\tloaded\t{MID}/127.0.0.1\n",
    )


def test_list_units_prints_empty_states_as_empty_cells(fleet):
    """tools-2014.md §1.4, as the real 0.8.1 prints it: one more TAB per empty cell."""
    fleetfake.register_machine(fleet.url, MID, "127.0.0.1", {"region": "local"})
    fleetfake.register_machine(fleet.url, MID2, "", {})
    fleetfake.set_unit_state(fleet.url, "a.service", MID, "", "", "")
    fleetfake.set_unit_state(fleet.url, "b.service", MID2, "loaded", "", "dead")
    ok(
        fleet("list-units"),
        "UNIT\t\tMACHINE\t\t\tACTIVE\tSUB\n"
        "a.service\t2c1f1a0e.../127.0.0.1\t\t\n"
        "b.service\t9f8e7d6c...\t\t\tdead\n",
    )
    ok(
        fleet("list-units", "--fields=unit,load,active,sub", "--no-legend"),
        "a.service\t\t\t\nb.service\tloaded\t\tdead\n",
    )


def test_list_formats(fleet):
    fleetfake.register_machine(fleet.url, MID2, "10.0.0.2", {"zone": "b", "disk": "ssd"})
    fleetfake.register_machine(fleet.url, MID, "", {})
    ok(
        fleet("list-machines", "-l", "--no-legend"),
        f"{MID}\t-\t\t-\n{MID2}\t10.0.0.2\tdisk=ssd,zone=b\n",
    )
    ok(fleet("list-machines", "--fields=ip", "--no-legend"), "-\n10.0.0.2\n")
    # list-units: sorted by unit then machine; hash 7 wide; a missing machine or hash is '-',
    # an empty load, active or sub an empty cell (observed with the real 0.8.1)
    fleetfake.set_unit_state(
        fleet.url, "b.service", MID2, "loaded", "active", "running", hash_hex=HELLO_HASH
    )
    fleetfake.set_unit_state(fleet.url, "a.service", MID2, "loaded", "failed", "failed")
    fleetfake.set_unit_state(fleet.url, "a.service", MID, "", "", "")
    ok(
        fleet("list-units", "--fields=unit,machine,load,hash", "--no-legend"),
        "a.service\t2c1f1a0e...\t\t\t-\n"
        "a.service\t9f8e7d6c.../10.0.0.2\tloaded\t-\n"
        "b.service\t9f8e7d6c.../10.0.0.2\tloaded\t9d0ffa4\n",
    )
    ok(fleet("submit", "hello.service"))
    ok(
        fleet("list-unit-files", "--fields=unit,desc,global,tmachine"),
        "UNIT\t\tDESC\t\tGLOBAL\tTMACHINE\nhello.service\tHello World\tfalse\t-\n",
        'WARNING: The "tmachine" field is deprecated. Use "target" instead\n',
    )


def test_fields_validation(fleet):
    fails(fleet("list-units", "--fields=unit,bogus"), 'Invalid key in output format: "bogus"\n')
    fails(fleet("list-machines", "--fields="), "Must define output format\n")
    fails(
        fleet("list-unit-files", "--fields=tmachine,x"),
        'WARNING: The "tmachine" field is deprecated. Use "target" instead\n'
        'Invalid key in output format: "x"\n',
    )


# --------------------------------------------------------------------------- flags


def test_flag_forms_and_last_wins(fleet):
    fleetfake.register_machine(fleet.url, MID, "127.0.0.1", {"region": "local"})
    row = "2c1f1a0e...\t127.0.0.1\tregion=local\n"
    dead = f"http://127.0.0.1:{free_port()}"
    ok(fleet.raw("-endpoint", fleet.url, "list-machines", "-no-legend"), row)
    ok(fleet.raw(f"--endpoint={fleet.url}", "list-machines", "--no-legend=true"), row)
    ok(fleet.raw("--endpoint", dead, "--endpoint", fleet.url, "list-machines", "--no-legend"), row)
    r = fleet("list-machines", "--no-legend=true", "--no-legend=false")
    ok(r, "MACHINE\t\tIP\t\tMETADATA\n" + row)
    ok(
        fleet("list-machines", "--full=false", "-l", "--no-legend"),
        f"{MID}\t127.0.0.1\tregion=local\n",
    )


def test_parsing_stops_at_first_non_flag(fleet):
    # --no-block after a unit name is a unit name (hello.service itself gets created first)
    fails(
        fleet("start", "--block-attempts=1", "hello.service", "--no-block"),
        "Error creating units: unable to find Unit(--no-block.service) in Registry or on "
        "filesystem\n",
    )
    # a global flag after the command is a command flag, and list-machines has none such
    r = fleet("list-machines", "--endpoint", fleet.url)
    assert r.returncode == 2
    assert "flag provided but not defined: -endpoint" in r.stderr
    # a command flag before the command is a bad global flag: usage, exit 2
    r = fleet("--no-legend", "list-machines")
    assert (r.returncode, r.stdout) == (2, "")
    assert "flag provided but not defined: -no-legend" in r.stderr
    assert "Usage" in r.stderr
    # no -l on list-unit-files
    r = fleet("list-unit-files", "-l")
    assert r.returncode == 2
    assert "flag provided but not defined: -l" in r.stderr


def test_bad_command_flag(fleet):
    r = fleet("list-machines", "--bogus")
    assert r.returncode == 2
    assert "flag provided but not defined: -bogus" in r.stderr


def test_env_vars(fleet):
    fleetfake.register_machine(fleet.url, MID, "127.0.0.1", {"region": "local"})
    fleetfake.register_machine(fleet.url, MID2, "10.0.0.2", {}, prefix="/custom/")
    row = "2c1f1a0e...\t127.0.0.1\tregion=local\n"
    ok(fleet.raw("list-machines", "--no-legend", env={"FLEETCTL_ENDPOINT": fleet.url}), row)
    dead = f"http://127.0.0.1:{free_port()}"
    env = {"FLEETCTL_ENDPOINT": dead}
    ok(fleet.raw("--endpoint", fleet.url, "list-machines", "--no-legend", env=env), row)
    env = {"FLEETCTL_ETCD_KEY_PREFIX": "/custom/"}
    ok(fleet("list-machines", "--no-legend", env=env), "9f8e7d6c...\t10.0.0.2\t-\n")
    ok(fleet("list-machines", "--no-legend", env={"FLEETCTL_ETCD_KEY_PREFIX": ""}), row)
    # command flags have no environment equivalent
    r = fleet("list-machines", env={"FLEETCTL_NO_LEGEND": "true"})
    ok(r, "MACHINE\t\tIP\t\tMETADATA\n" + row)
    ok(fleet.raw("list-machines", env={"FLEETCTL_VERSION": "true"}), "fleetctl version 0.8.1\n")


def test_no_command_runs_help(fleet):
    r = fleet()
    assert (r.returncode, r.stderr) == (0, "")
    assert "list-unit-files" in r.stdout and "0.8.1" in r.stdout


def test_deprecated_sign_and_verify(fleet):
    msg = "WARNING: The signed/verified units feature is DEPRECATED and cannot be used.\n"
    fails(fleet("verify", "hello.service"), msg, code=2)
    fails(fleet("submit", "--sign", "hello.service"), msg, code=2)
    fails(fleet("start", "--sign", "--no-block", "hello.service"), msg, code=2)
    assert fleet.key("job", "hello.service", "object") is None


def test_bad_endpoint(fleet):
    r = fleet.raw("--endpoint", "ftp://127.0.0.1:4001", "list-machines")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.startswith("Unable to initialize client: ")


# --------------------------------------------------------------------------- units


def test_unit_names(fleet):
    fleet.write("units/plain", PLAIN)
    ok(fleet("submit", "units/plain"))
    assert fleet.key("job", "plain.service", "target-state") == "inactive"
    ok(fleet("cat", "/some/where/plain"), PLAIN)
    # an instance from the template on disk
    fleet.write("units/web@.service", PLAIN)
    ok(fleet("submit", "units/web@1.service"))
    ok(fleet("cat", "web@1.service"), PLAIN)
    # no template in the registry nor beside the argument
    r = fleet("submit", "web@2.service")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.startswith("Error creating units: ")
    # an instance from the template in the registry
    ok(fleet("submit", "units/web@.service"))
    ok(fleet("submit", "web@3.service"))
    ok(fleet("cat", "web@3.service"), PLAIN)


def test_local_file_differs_warning(fleet):
    ok(fleet("submit", "hello.service"))
    fleet.write("hello.service", HELLO.replace("Hello World", "Changed"))
    ok(
        fleet("submit", "hello.service"),
        stderr="WARNING: Unit hello.service in registry differs from local unit file "
        "hello.service\n",
    )
    ok(fleet("cat", "hello.service"), HELLO)


def test_global_units_never_block(fleet):
    fleet.write("global.service", GLOBAL)
    short = fleetfake.unit_hash(GLOBAL)[:7]
    ok(fleet("start", "global.service", timeout=10), "Triggered global unit global.service start\n")
    ok(
        fleet("list-unit-files", "--no-legend"),
        f"global.service\t{short}\tlaunched\t-\t-\n",
    )
    ok(fleet("stop", "global.service"), "Triggered global unit global.service stop\n")
    ok(fleet("unload", "global.service"), "Triggered global unit global.service unload\n")
    ok(fleet("load", "global.service"), "Triggered global unit global.service load\n")
    fails(
        fleet("status", "global.service"),
        "Unable to determine status of global unit global.service.\n",
    )
    fails(
        fleet("journal", "global.service"),
        "Unable to retrieve journal of global unit global.service.\n",
    )


def test_stop_unload_unknown_units_dropped(fleet):
    ok(fleet("stop", "--no-block", "nosuch.service"))
    ok(fleet("unload", "nosuch.service"))


# --------------------------------------------------------------------------- blocking


def test_blocking_start_times_out(fleet):
    t0 = time.monotonic()
    fails(
        fleet("start", "--block-attempts=1", "hello.service"),
        "Error waiting for units: timed out waiting for unit hello.service to report state "
        "launched\n",
    )
    assert 0.45 < time.monotonic() - t0 < 5


def test_blocking_start_already_launched(fleet):
    ok(fleet("submit", "hello.service"))
    scheduled(fleet, launched=True)
    ok(
        fleet("start", "hello.service", timeout=10),
        "Unit hello.service launched on 2c1f1a0e.../127.0.0.1\n",
    )


def test_blocking_start_waits_for_fleetd(fleet):
    ok(fleet("submit", "hello.service"))
    fleetfake.register_machine(fleet.url, MID, "127.0.0.1", {"region": "local"})
    p = fleet.popen("start", "--block-attempts=40", "hello.service")
    try:
        fleet.wait_key("launched", "job", "hello.service", "target-state")
        fleetfake.set_unit_state(fleet.url, "hello.service", MID)
        fleetfake.launch(fleet.url, "hello.service")
        out, err = p.communicate(timeout=15)
    finally:
        p.kill()
    assert (p.returncode, out, err) == (
        0,
        "Unit hello.service launched on 2c1f1a0e.../127.0.0.1\n",
        "",
    )


def test_blocking_load_and_stop(fleet):
    ok(fleet("submit", "hello.service"))
    scheduled(fleet)
    ok(
        fleet("load", "hello.service", timeout=10),
        "Unit hello.service loaded on 2c1f1a0e.../127.0.0.1\n",
    )
    # stop of a unit that is loaded (not launched) has nothing to do
    ok(fleet("stop", "--no-block", "hello.service"))
    fleetfake.launch(fleet.url, "hello.service")
    ok(fleet("stop", "--no-block", "hello.service"), "Triggered unit hello.service stop\n")
    assert fleet.key("job", "hello.service", "target-state") == "loaded"
    ok(fleet("start", "--no-block", "hello.service"), "Triggered unit hello.service start\n")
    p = fleet.popen("stop", "--block-attempts=40", "hello.service")
    try:
        fleet.wait_key("loaded", "job", "hello.service", "target-state")
        fleetfake.stop(fleet.url, "hello.service")
        out, err = p.communicate(timeout=15)
    finally:
        p.kill()
    assert (p.returncode, out, err) == (
        0,
        "Unit hello.service loaded on 2c1f1a0e.../127.0.0.1\n",
        "",
    )


def test_blocking_unload(fleet):
    ok(fleet("load", "--no-block", "hello.service"), "Triggered unit hello.service load\n")
    scheduled(fleet)
    p = fleet.popen("unload", "--block-attempts=40", "hello.service")
    try:
        fleet.wait_key("inactive", "job", "hello.service", "target-state")
        fleetfake.unschedule(fleet.url, "hello.service")
        out, err = p.communicate(timeout=15)
    finally:
        p.kill()
    assert (p.returncode, out, err) == (0, "", "Unit hello.service inactive\n")


# --------------------------------------------------------------------------- etcd trouble


def _check_unreachable(r, port: int, final: str) -> None:
    assert (r.returncode, r.stdout) == (1, "")
    lines = r.stderr.splitlines()
    assert lines[-1] == final
    logs = lines[:-1]
    assert logs and all(LOG.match(line) for line in logs), logs
    info = f"INFO client.go:278: Failed getting response from http://127.0.0.1:{port}/: "
    info += f"dial tcp 127.0.0.1:{port}: "
    assert info in logs[0] and "connection refused" in logs[0]
    assert logs[1].endswith(
        " Unable to get result for {Get /_coreos.com/fleet/machines}, retrying in 100ms"
    )
    assert " ERROR client.go:200: " in logs[1]
    version = [i for i, line in enumerate(logs) if "fleetctl.go:171" in line]
    assert len(version) == 1
    assert logs[version[0]].endswith(
        " ERROR fleetctl.go:171: error attempting to check latest fleet version in Registry: "
        "timeout reached"
    )
    assert version[0] < len(logs) - 1  # then the command itself retried


def test_unreachable_endpoint(fleet):
    port = free_port()
    t0 = time.monotonic()
    r = fleet.raw(
        "--endpoint", f"http://127.0.0.1:{port}", "--request-timeout", "0.3", "list-machines"
    )
    assert time.monotonic() - t0 < 3
    _check_unreachable(r, port, "Error retrieving list of active machines: timeout reached")


def test_unreachable_endpoint_units(fleet):
    port = free_port()
    env = {"FLEETCTL_REQUEST_TIMEOUT": "0.3", "FLEETCTL_ENDPOINT": f"http://127.0.0.1:{port}"}
    t0 = time.monotonic()
    r = fleet.raw("list-unit-files", env=env)
    assert time.monotonic() - t0 < 3
    _check_unreachable(r, port, "Error retrieving list of units from repository: timeout reached")
    assert "{Get /_coreos.com/fleet/job}" in r.stderr


def test_version_banner(fleet):
    fleetfake.register_machine(fleet.url, MID, "127.0.0.1", {"region": "local"}, version="0.9.0")
    fleetfake.register_machine(fleet.url, MID2, "10.0.0.2", {}, version="garbage")
    r = fleet("list-machines", "--no-legend")
    ok(r, "2c1f1a0e...\t127.0.0.1\tregion=local\n9f8e7d6c...\t10.0.0.2\t-\n", BANNER)
    fails(fleet("cat", "nosuch.service"), BANNER + "Unit nosuch.service not found\n")
    ok(fleet("version"), "fleetctl version 0.8.1\n")
    assert fleet("help").stderr == ""


def test_no_banner_for_same_or_older(fleet):
    fleetfake.register_machine(fleet.url, MID, "127.0.0.1", {}, version="0.8.1")
    fleetfake.register_machine(fleet.url, MID2, "127.0.0.2", {}, version="0.7.1+git")
    assert fleet("list-machines").stderr == ""


# --------------------------------------------------------------------------- status/journal/ssh


def test_status_journal_ssh_errors(fleet):
    ok(fleet("submit", "hello.service"))
    fails(fleet("status", "hello.service"), "Unit hello.service does not appear to be loaded.\n")
    fails(fleet("journal", "hello.service"), "Unit hello.service does not appear to be running.\n")
    fails(fleet("journal"), "One unit file must be provided.\n")
    fails(fleet("journal", "nosuch.service"), "Unit nosuch.service does not exist.\n")
    fails(fleet("cat"), "One unit file must be provided\n")
    fails(fleet("ssh", "nosuch"), "Unable to proceed: could not find matching unit or machine\n")
    fleetfake.register_machine(fleet.url, MID, "127.0.0.1", {})
    fleetfake.register_machine(fleet.url, "2c1f1a0e00000000000000000000ffff", "127.0.0.2", {})
    fails(fleet("ssh", "2c1f"), "Unable to proceed: could not find matching unit or machine\n")
    fails(fleet("ssh", "--machine", "2c1f"), "Unable to proceed: found more than one machine\n")


@pytest.fixture
def fake_ssh(tmp_path):
    script = tmp_path / "fake-ssh"
    script.write_text('#!/bin/sh\necho "ssh $*"\nexit 3\n')
    script.chmod(0o755)
    return {"FLEETCTL_STANDIN_SSH": str(script)}


@standin_only
def test_remote_commands_through_hook(fleet, fake_ssh):
    ok(fleet("submit", "hello.service"))
    scheduled(fleet, launched=True)
    r = fleet("status", "hello.service", env=fake_ssh)
    assert (r.returncode, r.stdout, r.stderr) == (
        3,
        "ssh core@127.0.0.1 systemctl status -l hello.service\n",
        "",
    )
    r = fleet("journal", "--lines", "5", "-f", "hello", env=fake_ssh)
    assert (r.returncode, r.stdout) == (
        3,
        "ssh core@127.0.0.1 journalctl --unit hello.service --no-pager -n 5 -f\n",
    )
    r = fleet("ssh", "-A", "2c1f1a", "--", "uptime", "-p", env=fake_ssh)
    assert (r.returncode, r.stdout) == (3, "ssh -A core@127.0.0.1 uptime -p\n")
    r = fleet("ssh", "--unit", "hello.service", env=fake_ssh)
    assert (r.returncode, r.stdout) == (3, "ssh core@127.0.0.1\n")
    r = fleet("status", "hello.service", env={"SSH_AUTH_SOCK": ""})
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.startswith("Error running remote command: SSH_AUTH_SOCK")


# --------------------------------------------------------------------------- internals


def _load_standin():
    loader = importlib.machinery.SourceFileLoader("fleetctl_standin", str(STANDIN))
    spec = importlib.util.spec_from_loader("fleetctl_standin", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_tabwriter_examples():
    tw = _load_standin().tabwrite
    cases = [
        ["MACHINE\tIP\tMETADATA"],
        ["MACHINE\t\tIP\t\tMETADATA", "2c1f1a0e...\t127.0.0.1\tregion=local"],
        ["MACHINE\t\t\t\t\tIP\t\tMETADATA", f"{MID}\t127.0.0.1\tregion=local"],
        [
            "UNIT\t\tMACHINE\t\t\tACTIVE\tSUB",
            "hello.service\t2c1f1a0e.../127.0.0.1\tactive\trunning",
        ],
        [
            "UNIT\t\tHASH\tDSTATE\t\tSTATE\t\tTARGET",
            "hello.service\t9d0ffa4\tinactive\tinactive\t-",
        ],
        [
            "UNIT\t\tHASH\tDSTATE\t\tSTATE\tTARGET",
            "hello.service\t9d0ffa4\tlaunched\tloaded\t2c1f1a0e.../127.0.0.1",
        ],
    ]
    for lines in cases:
        expected = "\n".join(lines) + "\n"
        plain = "\n".join(re.sub("\t+", "\t", line) for line in lines) + "\n"
        assert tw(plain) == expected
    # a line without tabs ends the column block; empty cells are padded too
    assert tw("a\tb\nno tabs\nlonger cell\tc\n\tx\n") == "a\tb\nno tabs\nlonger cell\tc\n\t\tx\n"


def test_unit_file_round_trip():
    m = _load_standin()
    messy = (
        "# comment\n[Unit]\n  Description = Hello World  \n\n\n"
        "[Service]\nExecStart=/bin/a \\\n  b\n"
    )
    uf = m.UnitFile.parse(messy)
    assert uf.text == "[Unit]\nDescription=Hello World\n\n[Service]\nExecStart=/bin/a    b\n"
    assert m.UnitFile.parse(HELLO).hex == HELLO_HASH
    assert m.go_json({"Raw": 'a<b>&"\n'}) == '{"Raw":"a\\u003cb\\u003e\\u0026\\"\\n"}'
    assert m.validate_name("foo bar.service") == "invalid character ' ' in unit name"
    assert m.validate_name("@x.service") == 'unit name cannot start in "@"'
    assert m.validate_name("x.bogus") == 'invalid unit type: "bogus"'
