"""The fleet plugin's pure parts: TAB tables, stderr, argv order, settings, versions.

The table texts are the exact bytes recorded in reference/tools-2014.md §1.4, §5.3.
"""

from __future__ import annotations

import pytest
from kshell_plugins.fleet import argv, messages, settings, tables, version

from kshell import tabwriter

# -- tables (§1.4 and §5.3, TABs as recorded) --------------------------------------

MACHINES = "MACHINE\t\tIP\t\tMETADATA\n2c1f1a0e...\t127.0.0.1\tregion=local\n"
MACHINES_FULL = (
    "MACHINE\t\t\t\t\tIP\t\tMETADATA\n2c1f1a0e4b7d4c3a9e5f6a7b8c9d0e1f\t127.0.0.1\tregion=local\n"
)
UNITS = "UNIT\t\tMACHINE\t\t\tACTIVE\tSUB\nhello.service\t2c1f1a0e.../127.0.0.1\tactive\trunning\n"
UNIT_FILES = (
    "UNIT\t\tHASH\tDSTATE\t\tSTATE\t\tTARGET\nhello.service\t9d0ffa4\tinactive\tinactive\t-\n"
)
UNIT_FILES_LOADED = (
    "UNIT\t\tHASH\tDSTATE\t\tSTATE\tTARGET\n"
    "hello.service\t9d0ffa4\tlaunched\tloaded\t2c1f1a0e.../127.0.0.1\n"
)
UNIT_FILES_FULL = (
    "UNIT\t\tHASH\t\t\t\t\t\tDSTATE\t\tSTATE\tTARGET\n"
    "hello.service\t9d0ffa4ff58a95af7edfe837e6172f9619814f7e\tlaunched\tloaded\t"
    "2c1f1a0e4b7d4c3a9e5f6a7b8c9d0e1f/127.0.0.1\n"
)
SEED_MACHINES = (
    "MACHINE\t\tIP\t\tMETADATA\n"
    "07914a50...\t10.1.0.77\trole=kubernetes\n"
    "46bdac0c...\t10.1.1.180\trole=kubernetes\n"
    "bb805b88...\t10.1.1.27\trole=kubernetes\n"
    "c31a7001...\t10.1.1.245\trole=etcd\n"
)


def test_columns_start_where_the_header_cells_start():
    assert tabwriter.columns("UNIT\t\tHASH\tDSTATE\t\tSTATE\t\tTARGET") == [
        ("unit", 0),
        ("hash", 16),
        ("dstate", 24),
        ("state", 40),
        ("target", 56),
    ]


# Observed with the real fleetctl 0.8.1 against etcd 0.4.6 (tools-2014.md §1.4): unit states
# whose load, active or sub are empty print empty cells, and an empty cell is one more TAB.
EMPTY_CELLS = (
    "UNIT\t\t\t\t\t\tMACHINE\t\t\tACTIVE\tSUB\n"
    "a.service\t\t\t\t\t2c1f1a0e.../127.0.0.1\t\t\n"
    "averyveryverylongunitname-with-stuff.service\t2c1f1a0e.../127.0.0.1\tactive\t\n"
    "b.service\t\t\t\t\t113f16a7...\t\t\tdead\n"
)


def test_empty_cells_keep_the_later_columns_in_place():
    a, long, b = tables.units(EMPTY_CELLS)
    assert (a.unit, a.machine, a.ip, a.active, a.sub) == (
        "a.service", "2c1f1a0e...", "127.0.0.1", None, None,
    )  # fmt: skip
    assert (long.active, long.sub) == ("active", None)
    assert (b.machine, b.ip, b.active, b.sub) == ("113f16a7...", None, None, "dead")
    assert b.row(full=False) == ("b.service", "113f16a7...", "-", "dead")


def test_empty_cells_in_the_reference_example():
    [u] = tables.units("UNIT\t\tMACHINE\t\t\tACTIVE\tSUB\na.service\t2c1f1a0e...\t\t\t\n")
    assert (u.unit, u.machine, u.active, u.sub) == ("a.service", "2c1f1a0e...", None, None)


def test_all_fields_with_empty_cells():
    text = (
        "UNIT\t\t\t\t\t\tLOAD\tACTIVE\tSUB\tHASH\tMACHINE\n"
        "a.service\t\t\t\t\t\t\t\t-\t2c1f1a0e.../127.0.0.1\n"
        "averyveryverylongunitname-with-stuff.service\tloaded\tactive\t\t-\t"
        "2c1f1a0e.../127.0.0.1\n"
    )
    a, long = tables.parse_table(text)
    assert a == {
        "unit": "a.service", "load": "", "active": "", "sub": "", "hash": "-",
        "machine": "2c1f1a0e.../127.0.0.1",
    }  # fmt: skip
    assert (long["load"], long["active"], long["sub"]) == ("loaded", "active", "")


def test_headers_only_give_no_rows():
    assert tables.machines("MACHINE\tIP\tMETADATA\n") == []
    assert tables.units("UNIT\tMACHINE\tACTIVE\tSUB\n") == []
    assert tables.unit_files("") == []


def test_machines():
    [m] = tables.machines(MACHINES)
    assert (m.machine, m.ip, m.metadata) == ("2c1f1a0e...", "127.0.0.1", {"region": "local"})
    [m] = tables.machines(MACHINES_FULL)
    assert m.machine == "2c1f1a0e4b7d4c3a9e5f6a7b8c9d0e1f"
    assert m.row(full=False) == ("2c1f1a0e...", "127.0.0.1", "region=local")
    assert m.to_json() == {
        "machine": "2c1f1a0e4b7d4c3a9e5f6a7b8c9d0e1f",
        "ip": "127.0.0.1",
        "metadata": {"region": "local"},
    }


def test_machines_missing_values():
    [m] = tables.machines("MACHINE\t\tIP\tMETADATA\nabcdef01...\t-\t-\n")
    assert m.ip is None and m.metadata == {}
    assert m.row(full=True) == ("abcdef01...", "-", "-")


def test_seed_machines_and_metadata_filters():
    found = tables.machines(SEED_MACHINES)
    assert [m.ip for m in found] == ["10.1.0.77", "10.1.1.180", "10.1.1.27", "10.1.1.245"]
    kube = [m for m in found if m.matches({"role": ["kubernetes"]})]
    assert len(kube) == 3
    either = [m for m in found if m.matches({"role": ["kubernetes", "etcd"]})]
    assert len(either) == 4
    assert not [m for m in found if m.matches({"role": ["etcd"], "zone": ["a"]})]


def test_metadata_cells():
    assert tables.parse_metadata("role=kubernetes,region=local") == {
        "role": "kubernetes",
        "region": "local",
    }
    assert tables.parse_metadata("-") == {}
    assert tables.format_metadata({"z": "1", "a": "2"}) == "a=2,z=1"
    assert tables.format_metadata({}) == "-"


def test_units():
    [u] = tables.units(UNITS)
    assert (u.unit, u.machine, u.ip, u.active, u.sub) == (
        "hello.service",
        "2c1f1a0e...",
        "127.0.0.1",
        "active",
        "running",
    )
    [u] = tables.units(
        "UNIT\t\tMACHINE\t\t\t\t\t\tACTIVE\tSUB\n"
        "hello.service\t2c1f1a0e4b7d4c3a9e5f6a7b8c9d0e1f/127.0.0.1\tactive\trunning\n"
    )
    assert u.machine == "2c1f1a0e4b7d4c3a9e5f6a7b8c9d0e1f"
    assert u.where() == "2c1f1a0e.../127.0.0.1"
    assert u.where(full=True) == "2c1f1a0e4b7d4c3a9e5f6a7b8c9d0e1f/127.0.0.1"


def test_units_seed_global_rows():
    text = (
        "UNIT\t\t\tMACHINE\t\t\tACTIVE\tSUB\n"
        "kube-kubelet.service\t07914a50.../10.1.0.77\tactive\trunning\n"
        "kube-kubelet.service\t46bdac0c.../10.1.1.180\tactive\trunning\n"
        "kube-proxy.service\t07914a50.../10.1.0.77\tactive\trunning\n"
    )
    rows = tables.units(text)
    assert [(r.unit, r.ip) for r in rows] == [
        ("kube-kubelet.service", "10.1.0.77"),
        ("kube-kubelet.service", "10.1.1.180"),
        ("kube-proxy.service", "10.1.0.77"),
    ]


def test_unit_files():
    [f] = tables.unit_files(UNIT_FILES)
    assert (f.unit, f.hash, f.desired, f.state, f.machine, f.ip) == (
        "hello.service",
        "9d0ffa4",
        "inactive",
        "inactive",
        None,
        None,
    )
    assert not f.is_global
    [f] = tables.unit_files(UNIT_FILES_LOADED)
    assert (f.desired, f.state, f.machine, f.ip) == (
        "launched",
        "loaded",
        "2c1f1a0e...",
        "127.0.0.1",
    )
    [f] = tables.unit_files(UNIT_FILES_FULL)
    assert f.hash == "9d0ffa4ff58a95af7edfe837e6172f9619814f7e"
    assert f.row(full=False) == (
        "hello.service",
        "9d0ffa4",
        "launched",
        "loaded",
        "2c1f1a0e.../127.0.0.1",
    )
    assert f.to_json()["target"] == {
        "machine": "2c1f1a0e4b7d4c3a9e5f6a7b8c9d0e1f",
        "ip": "127.0.0.1",
    }


def test_global_unit_file_has_no_state():
    [f] = tables.unit_files(
        "UNIT\t\t\tHASH\tDSTATE\t\tSTATE\tTARGET\nkube-proxy.service\tabcdef0\tlaunched\t-\t-\n"
    )
    assert f.is_global and f.machine is None


def _tabwrite():
    """The stand-in's port of Go's text/tabwriter (what fleetctl 0.8.1 writes with)."""
    import importlib.machinery
    import importlib.util

    from conftest import STANDINS

    loader = importlib.machinery.SourceFileLoader("fleetctl_standin", str(STANDINS / "fleetctl"))
    spec = importlib.util.spec_from_loader("fleetctl_standin", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod.tabwrite


@pytest.mark.parametrize(
    "text",
    [MACHINES, MACHINES_FULL, UNITS, UNIT_FILES, UNIT_FILES_LOADED, UNIT_FILES_FULL,
     SEED_MACHINES, EMPTY_CELLS],
)  # fmt: skip
def test_cells_written_back_by_tabwriter_give_the_same_bytes(text):
    """Parsing by column position recovers every cell, empty ones included: the cells,
    re-joined with one TAB each and laid out by tabwriter, are the table fleetctl printed."""
    rows = tables.parse_table(text)
    header = "\t".join(name.upper() for name in rows[0])
    lines = [header] + ["\t".join(row.values()) for row in rows]
    assert _tabwrite()("".join(line + "\n" for line in lines)) == text


@pytest.mark.parametrize(
    "word, unit",
    [
        ("hello.service", "hello.service"),
        ("units/foo", "foo.service"),
        ("units/kube-proxy.service", "kube-proxy.service"),
        ("web.socket", "web.socket"),
        ("a.b", "a.b.service"),
        ("foo@1.service", "foo@1.service"),
    ],
)
def test_unit_names_like_fleetctl(word, unit):
    assert tables.unit_name(word) == unit


# -- stderr ---------------------------------------------------------------------------

BANNER = (
    "####################################################################\n"
    "WARNING: fleetctl (0.8.1) is older than the latest registered\n"
    "version of fleet found in the cluster (0.9.0). You are strongly\n"
    "recommended to upgrade fleetctl to prevent incompatibility issues.\n"
    "####################################################################\n"
)
RETRIES = (
    "2014/09/22 12:25:32 INFO client.go:278: Failed getting response from "
    "http://127.0.0.1:4009/: dial tcp 127.0.0.1:4009: connect: connection refused\n"
    "2014/09/22 12:25:32 ERROR client.go:200: Unable to get result for "
    "{Get /_coreos.com/fleet/machines}, retrying in 100ms\n"
    "2014/09/22 12:25:35 ERROR fleetctl.go:171: error attempting to check latest fleet "
    "version in Registry: timeout reached\n"
)


def test_banner_becomes_a_version():
    err = messages.split_stderr(BANNER + "Unit hello.service not found\n")
    assert err.banner and err.cluster_version == "0.9.0"
    assert err.messages == ["Unit hello.service not found"]
    assert not err.unreachable


def test_seed_banner_with_a_build_suffix():
    text = BANNER.replace("(0.8.1)", "(0.7.1+git)").replace("(0.9.0)", "(0.8.1)")
    err = messages.split_stderr(text)
    assert err.banner and err.cluster_version == "0.8.1" and err.messages == []


def test_retry_logs_are_filtered_and_the_final_error_kept():
    final = "Error retrieving list of active machines: timeout reached\n"
    err = messages.split_stderr(RETRIES * 5 + final)
    assert err.messages == [final.strip()]
    assert len(err.logs) == 15
    assert err.unreachable


def test_plain_messages_are_not_logs():
    err = messages.split_stderr("Unable to stop unit hello2.service in state inactive\n")
    assert err.messages == ["Unable to stop unit hello2.service in state inactive"]
    assert not err.unreachable and not err.banner


def test_hash_lines_that_are_not_a_banner_stay():
    err = messages.split_stderr("##########\njust a line\n")
    assert err.messages == ["##########", "just a line"]


# -- argv --------------------------------------------------------------------------------


def test_state_change_puts_flags_before_units():
    assert argv.state_change("start", ["hello.service"], no_block=True) == [
        "start",
        "--no-block",
        "hello.service",
    ]
    assert argv.state_change("stop", ["a.service", "b.service"], timeout=30) == [
        "stop",
        "--block-attempts=60",
        "a.service",
        "b.service",
    ]


@pytest.mark.parametrize("timeout, attempts", [(30, 60), (0.1, 1), (1, 2), (1.2, 3), (0.5, 1)])
def test_block_attempts(timeout, attempts):
    assert argv.block_attempts(timeout) == attempts


def test_journal_and_ssh_argv():
    assert argv.journal("hello.service", 20, True) == [
        "journal",
        "--lines=20",
        "--follow",
        "hello.service",
    ]
    assert argv.journal("hello.service") == ["journal", "hello.service"]
    assert argv.ssh("2c1f1a0e", ["ls", "-l"], True) == ["ssh", "-A", "2c1f1a0e", "ls", "-l"]


# -- settings -------------------------------------------------------------------------------


class Ctx:
    name = "t"

    def __init__(self, **values):
        self.values = values

    def get(self, key):
        return self.values.get(key)


def test_one_endpoint():
    assert settings.one_endpoint("http://10.1.1.245:4001/") == "http://10.1.1.245:4001"
    assert settings.one_endpoint("10.1.1.245:4001") == "http://10.1.1.245:4001"
    for bad in ("http://a:4001,http://b:4001", "ftp://x", "http://x/v2/keys", "http://u@x:1"):
        with pytest.raises(ValueError):
            settings.one_endpoint(bad)


def test_endpoint_falls_back_to_the_first_etcd_endpoint():
    assert settings.endpoint(Ctx()) == "http://127.0.0.1:4001"
    ctx = Ctx(**{"etcd.endpoint": "http://10.1.1.245:4001,http://10.1.1.246:4001"})
    assert settings.endpoint(ctx) == "http://10.1.1.245:4001"
    ctx = Ctx(**{"etcd.endpoint": "http://a:4001", "fleet.endpoint": "http://b:4001"})
    assert settings.endpoint(ctx) == "http://b:4001"


def test_global_flags():
    ctx = Ctx(
        **{
            "fleet.endpoint": "http://10.1.1.245:4001",
            "fleet.tunnel": "10.1.1.245",
            "fleet.request-timeout": "0.5",
            "fleet.strict-host-key-checking": "false",
            "fleet.etcd-key-prefix": "/_coreos.com/fleet/",
        }
    )
    assert settings.global_flags(ctx) == [
        "--endpoint=http://10.1.1.245:4001",
        "--request-timeout=0.5",
        "--tunnel=10.1.1.245",
        "--strict-host-key-checking=false",
    ]
    assert settings.global_flags(Ctx()) == [
        "--endpoint=http://127.0.0.1:4001",
        "--request-timeout=3",
    ]


def test_setting_validators():
    assert settings.tunnel("10.1.1.245:2222") == "10.1.1.245:2222"
    with pytest.raises(ValueError):
        settings.tunnel("core@10.1.1.245")
    assert settings.key_prefix("/_coreos.com/fleet") == "/_coreos.com/fleet/"
    with pytest.raises(ValueError):
        settings.seconds("0")
    assert settings.boolean("no") == "false"


# -- versions --------------------------------------------------------------------------------


def test_versions():
    assert version.parse_version("0.9.0") > version.parse_version("0.8.1")
    assert version.parse_version("0.8.1") > version.parse_version("0.8.1-rc.1")
    assert version.parse_version("0.7.1+git") == version.parse_version("0.7.1")
    assert version.parse_version("garbage") is None
    assert version.newest(["0.8.1", "", "x", "0.10.0", "0.9.0"]) == "0.10.0"
    cmp = version.compare("0.8.1", ["0.8.1", "0.9.0", "0.8.1"])
    assert cmp.cluster_newer and cmp.newest == "0.9.0"
    assert cmp.summary() == "fleet 0.8.1 on 2 machines, 0.9.0 on 1 machine"
    assert not version.compare("0.8.1", ["0.8.1"]).cluster_newer
    assert version.compare("0.8.1", ["0.7.1"]).cluster_older
    line = version.newer_line("0.9.0", "0.8.1")
    assert line.startswith(
        "fleet: the cluster runs fleet 0.9.0, newer than the pinned fleetctl 0.8.1;"
    )
    assert "\n" not in line
