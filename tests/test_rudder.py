"""rudder plugin: network config, leases, units, checks — against a real etcd and etcdctl."""

from __future__ import annotations

import configparser
import io
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from ipaddress import IPv4Address

import pytest
from conftest import real_etcdctl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kshell_plugins.rudder import netconf, units

from kshell.dispatch import execute
from kshell.host import PluginHost
from kshell.sandbox import free_port
from kshell.session import open_session

CONFIG = "/coreos.com/network/config"


class Shell:
    """A session with the rudder plugin and the etcd plugin, which points etcdctl at the
    context's etcd.endpoint; ``run(line)`` → (status, stdout, stderr)."""

    def __init__(self, plugins: str = "etcd,rudder") -> None:
        self.out, self.err = io.StringIO(), io.StringIO()
        host = PluginHost().load(only=plugins)
        self.session = open_session(host=host, out=self.out, err=self.err)

    def run(self, line: str) -> tuple[int, str, str]:
        for buf in (self.out, self.err):
            buf.seek(0)
            buf.truncate()
        status = execute(self.session, line)
        return status, self.out.getvalue(), self.err.getvalue()


def write_config(home, endpoint: str) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.yaml").write_text(
        json.dumps(  # JSON is YAML
            {
                "contexts": {"default": {"etcd.endpoint": endpoint}},
                "binaries": {"etcdctl": real_etcdctl()},
            }
        )
    )


@pytest.fixture(autouse=True)
def _no_etcdctl_env(monkeypatch):
    """Only the context (through the etcd plugin) tells etcdctl where etcd is."""
    for name in list(os.environ):
        if name.startswith("ETCDCTL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def shell(etcd, home):
    write_config(home, etcd.url)
    return Shell()


def put(etcd, key: str, value: str, ttl: int | None = None) -> None:
    form = {"value": value} | ({"ttl": str(ttl)} if ttl else {})
    req = urllib.request.Request(
        f"{etcd.url}/v2/keys{key}", data=urllib.parse.urlencode(form).encode(), method="PUT"
    )
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    urllib.request.urlopen(req, timeout=5).read()


def stored(etcd, key: str = CONFIG) -> str | None:
    try:
        with urllib.request.urlopen(f"{etcd.url}/v2/keys{key}", timeout=5) as r:
            return json.load(r)["node"]["value"]
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


# -- rudder config / config set -----------------------------------------------------------


def test_missing_config_is_one_line_with_the_fix(shell):
    status, out, err = shell.run("rudder config")
    assert status == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "no rudder network config" in err and "rudder config set --network" in err


def test_set_creates_then_is_idempotent_refuses_and_forces(shell, etcd):
    status, out, err = shell.run("rudder config set --network 10.0.0.0/16")
    assert (status, err) == (0, "")
    assert stored(etcd) == '{"Network":"10.0.0.0/16"}'  # exactly what the seed wrote

    # Identical, and equivalent (the default made explicit): no write.
    for line in (
        "rudder config set --network 10.0.0.0/16",
        "rudder config set --network 10.0.0.0/16 --subnet-len 24 --backend udp",
    ):
        status, out, err = shell.run(line)
        assert status == 0 and "unchanged" in out
    assert stored(etcd) == '{"Network":"10.0.0.0/16"}'

    status, out, err = shell.run("rudder config set --network 10.1.0.0/16 --subnet-len 25")
    assert status == 1
    assert '{"Network":"10.0.0.0/16"}' in err and '"Network":"10.1.0.0/16","SubnetLen":25' in err
    assert "--force" in err
    assert stored(etcd) == '{"Network":"10.0.0.0/16"}'

    status, out, err = shell.run("rudder config set --network 10.1.0.0/16 --subnet-len 25 --force")
    assert status == 0, err
    assert stored(etcd) == '{"Network":"10.1.0.0/16","SubnetLen":25}'

    status, out, err = shell.run("rudder config")
    assert status == 0
    assert "10.1.0.0/16" in out and "/25" in out and "10.1.0.128" in out and "udp" in out


def test_the_seeds_own_config_is_read(shell, etcd):
    put(etcd, CONFIG, '{"Network":"10.0.0.0/16"}')
    status, out, _ = shell.run("rudder config --json")
    data = json.loads(out)
    assert status == 0
    assert data["network"] == "10.0.0.0/16" and data["subnet_len"] == 24
    assert (data["subnet_min"], data["subnet_max"]) == ("10.0.1.0", "10.0.255.0")
    assert data["backend"] == "udp" and data["problems"] == []


@pytest.mark.parametrize(
    "flags, problem",
    [
        (
            "--network 10.0.0.1/16",
            "Network 10.0.0.1/16 has host bits set; did you mean 10.0.0.0/16?",
        ),
        ("--network 10.0.0.0", "Network '10.0.0.0' is not an IPv4 CIDR like 10.0.0.0/16"),
        (
            "--network 10.0.0.0/255.255.0.0",
            "Network '10.0.0.0/255.255.0.0' is not an IPv4 CIDR like 10.0.0.0/16",
        ),
        ("--network 300.0.0.0/8", "Network '300.0.0.0/8' is not an IPv4 CIDR like 10.0.0.0/16"),
        ("--network 10.0.0.0/33", "Network '10.0.0.0/33' is not an IPv4 CIDR like 10.0.0.0/16"),
        (
            "--network 10.0.0.0/16 --subnet-len 16",
            "SubnetLen 16 must be longer than the network's /16",
        ),
        (
            "--network 10.0.0.0/16 --subnet-len 31",
            "SubnetLen 31 is out of range: at most 30, or no addresses are left for containers",
        ),
        (
            "--network 10.0.0.0/30",
            "SubnetLen 31 (the default) is out of range: at most 30, "
            "or no addresses are left for containers",
        ),
        (
            "--network 10.0.0.0/16 --subnet-min 10.1.0.0",
            "SubnetMin 10.1.0.0 is outside the network 10.0.0.0/16",
        ),
        (
            "--network 10.0.0.0/16 --subnet-max 10.0.3.7",
            "SubnetMax 10.0.3.7 does not start a /24 subnet (10.0.3.0 does)",
        ),
        (
            "--network 10.0.0.0/16 --subnet-min 10.0.9.0 --subnet-max 10.0.2.0",
            "SubnetMin 10.0.9.0 is above SubnetMax 10.0.2.0",
        ),
    ],
)
def test_set_rejects_invalid_settings_and_writes_nothing(shell, etcd, flags, problem):
    """The one line says what is wrong with the value (not a usage line naming CIDR)."""
    status, out, err = shell.run(f"rudder config set {flags}")
    assert (status, out, err) == (2, "", f"rudder config set: {problem}\n")
    assert stored(etcd) is None


def test_set_detects_a_change_of_any_key(shell, etcd):
    """SubnetMin, SubnetMax, SubnetLen, Backend: each one changes what rudder does."""
    put(etcd, CONFIG, '{"Network":"10.0.0.0/16"}')
    for flags in (
        "--subnet-min 10.0.5.0",
        "--subnet-max 10.0.200.0",
        "--subnet-len 25",
        "--subnet-min 10.0.1.0 --subnet-max 10.0.254.0",
    ):
        status, out, err = shell.run(f"rudder config set --network 10.0.0.0/16 {flags}")
        assert status == 1, flags
        assert "holds a different config" in err and "--force" in err, flags
        assert stored(etcd) == '{"Network":"10.0.0.0/16"}'
    # The defaults made explicit are the same config: nothing to change.
    status, out, _ = shell.run(
        "rudder config set --network 10.0.0.0/16 --subnet-min 10.0.1.0 --subnet-max 10.0.255.0"
    )
    assert status == 0 and out.startswith("unchanged:")
    put(etcd, CONFIG, '{"Network":"10.0.0.0/16","SubnetMin":"10.0.5.0","SubnetMax":"10.0.9.0"}')
    assert shell.run("rudder config set --network 10.0.0.0/16")[0] == 1
    status, out, _ = shell.run(
        "rudder config set --network 10.0.0.0/16 --subnet-min 10.0.5.0 --subnet-max 10.0.9.0"
    )
    assert status == 0 and out.startswith("unchanged:")


def test_backend_is_a_choice(shell):
    status, _, err = shell.run("rudder config set --network 10.0.0.0/16 --backend vxlan")
    assert status == 2 and "invalid choice" in err


def test_invalid_stored_config_lists_problems(shell, etcd):
    put(etcd, CONFIG, '{"Network":"10.0.0.0/16","SubnetLen":8,"Backend":{"Type":"vxlan"}}')
    status, out, _ = shell.run("rudder config")
    assert status == 1
    problems = [line for line in out.splitlines() if line.startswith("problem:")]
    assert len(problems) == 2 and "SubnetLen 8" in problems[0] and "vxlan" in problems[1]
    status, out, _ = shell.run("rudder config --json")
    assert status == 1 and len(json.loads(out)["problems"]) == 2
    # A different config is replaced only with --force, even over a broken one.
    assert shell.run("rudder config set --network 10.0.0.0/16")[0] == 1
    assert shell.run("rudder config set --network 10.0.0.0/16 --force")[0] == 0
    assert stored(etcd) == '{"Network":"10.0.0.0/16"}'


def test_unreachable_etcd_is_one_line(home):
    dead = f"http://127.0.0.1:{free_port()}"
    write_config(home, dead)
    status, out, err = Shell().run("rudder config")
    assert status == 1
    assert err.strip().count("\n") == 0
    assert "unreachable" in err and dead in err


def test_etcd_plugin_supplies_the_endpoint(etcd, home):
    """The context alone points etcdctl at etcd: no ETCDCTL_* in the environment."""
    write_config(home, etcd.url)
    s = Shell(plugins="etcd,rudder")
    assert "etcd.endpoint" in s.session.host.settings
    assert not [name for name in os.environ if name.startswith("ETCDCTL_")]
    assert s.run("rudder config set --network 10.0.0.0/16")[0] == 0
    assert stored(etcd) == '{"Network":"10.0.0.0/16"}'


# -- the validator ---------------------------------------------------------------------------


def _octets(text: str, count: int) -> int | None:
    """Independent oracle: ``count`` dot-separated decimal octets, no leading zeros."""
    parts = text.split(".")
    if len(parts) != count:
        return None
    value = 0
    for part in parts:
        if not part or any(c not in "0123456789" for c in part) or (part[0] == "0" and part != "0"):
            return None
        if int(part) > 255:
            return None
        value = value * 256 + int(part)
    return value


def oracle(network, subnet_len, smin, smax, backend):
    """What the settings should give: (network int, prefix, len, min, max) or None."""
    if not isinstance(network, str) or network.count("/") != 1:
        return None
    addr, plen = network.split("/")
    base = _octets(addr, 4)
    if base is None or not plen or any(c not in "0123456789" for c in plen):
        return None
    if (plen[0] == "0" and plen != "0") or int(plen) > 32:
        return None
    prefix = int(plen)
    span = 2 ** (32 - prefix)
    if base % span:
        return None
    length = subnet_len if subnet_len is not None else (24 if prefix < 24 else prefix + 1)
    if not prefix < length <= 30:
        return None
    size = 2 ** (32 - length)
    bounds = []
    for value_in, default in ((smin, base + size), (smax, base + span - size)):
        if value_in is None:
            bounds.append(default)
            continue
        value = _octets(value_in, 4) if isinstance(value_in, str) else None
        if value is None or not base <= value < base + span or value % size:
            return None
        bounds.append(value)
    if bounds[0] > bounds[1] or (backend is not None and backend.lower() != "udp"):
        return None
    return base, prefix, length, bounds[0], bounds[1]


def _cidr(draw_int, prefix, aligned):
    mask = (2**32 - 2 ** (32 - prefix)) if aligned else 2**32 - 1
    return f"{IPv4Address(draw_int & mask)}/{prefix}"


networks = st.one_of(
    st.builds(_cidr, st.integers(0, 2**32 - 1), st.integers(0, 32), st.just(True)),
    st.builds(_cidr, st.integers(0, 2**32 - 1), st.integers(0, 32), st.booleans()),
    st.builds(
        lambda o, p: ".".join(map(str, o)) + p,
        st.lists(
            st.integers(0, 300) | st.sampled_from(["00", "01", "1e1", "-1", " 1"]),
            min_size=3,
            max_size=5,
        ),
        st.sampled_from(["/8", "/16", "/016", "/24", "/33", "/", "", "/255.0.0.0", "/1 "]),
    ),
    st.text(max_size=24),
)
addresses = st.one_of(
    st.none(),
    st.builds(lambda n: str(IPv4Address(n)), st.integers(0, 2**32 - 1)),
    st.builds(lambda n: str(IPv4Address(n << 8)), st.integers(0x0A0000, 0x0A00FF)),
    st.text(max_size=16),
)


@settings(max_examples=600, deadline=None)
@given(
    networks,
    st.none() | st.integers(-5, 40),
    addresses,
    addresses,
    st.none() | st.sampled_from(["udp", "UDP", "vxlan", ""]),
)
def test_validator_accepts_exactly_the_valid_settings(network, subnet_len, smin, smax, backend):
    check_against_oracle(network, subnet_len, smin, smax, backend)


def check_against_oracle(network, subnet_len, smin, smax, backend):
    expected = oracle(network, subnet_len, smin, smax, backend)
    try:
        cfg = netconf.build_config(network, subnet_len, smin, smax, backend)
    except netconf.NetConfigError as e:
        assert expected is None, f"rejected a valid config: {e.problems}"
        assert e.problems and all(isinstance(p, str) and p for p in e.problems)
        return
    assert expected is not None, f"accepted an invalid config: {cfg}"
    base, prefix, length, low, high = expected
    assert (int(cfg.network.network_address), cfg.network.prefixlen) == (base, prefix)
    assert (cfg.subnet_len, int(cfg.subnet_min), int(cfg.subnet_max)) == (length, low, high)
    # What is stored reads back as the same config.
    assert netconf.parse_config(cfg.to_json()).effective() == cfg.effective()


@st.composite
def near_valid(draw):
    """Settings around a real network: bounds inside or outside, aligned or not."""
    prefix = draw(st.integers(4, 29))
    base = draw(st.integers(0, 2**32 - 1)) >> (32 - prefix) << (32 - prefix)
    length = draw(st.none() | st.integers(prefix - 1, 31))
    span = 2 ** (32 - prefix)

    def bound():
        if not draw(st.booleans()):
            return None
        offset = draw(st.integers(0, span - 1) | st.integers(-span, 2 * span))
        if length is not None and length <= 32 and draw(st.integers(0, 3)):
            offset = offset >> (32 - length) << (32 - length)
        return str(IPv4Address((base + offset) % 2**32))

    return f"{IPv4Address(base)}/{prefix}", length, bound(), bound(), None


@settings(max_examples=400, deadline=None)
@given(near_valid())
def test_validator_bounds_against_the_oracle(args):
    check_against_oracle(*args)


def test_validator_on_the_seed_and_its_neighbours():
    cfg = netconf.build_config("10.0.0.0/16")
    assert cfg.to_json() == '{"Network":"10.0.0.0/16"}'
    assert cfg.subnet_count == 255
    assert netconf.build_config("10.0.0.0/24").subnet_len == 25  # rudder: half a /24
    with pytest.raises(netconf.NetConfigError):
        netconf.build_config("10.0.0.0/16", True)  # a bool is not a length


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
config_dicts = st.dictionaries(
    st.sampled_from(
        ["Network", "network", "SubnetLen", "SubnetMin", "SubnetMax", "Backend", "backend", "Other"]
    ),
    json_values | st.sampled_from(["10.0.0.0/16", "10.0.1.0", {"Type": "udp"}, 24]),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), config_dicts.map(json.dumps), json_values.map(json.dumps)))
def test_parsing_stored_json_raises_only_its_own_error(text):
    try:
        cfg = netconf.parse_config(text)
    except netconf.NetConfigError as e:
        assert e.problems
    else:
        assert isinstance(cfg, netconf.NetConfig)


def test_stored_json_is_read_like_go_did():
    cfg = netconf.parse_config('{"network":"10.0.0.0/16","backend":{"type":"UDP"},"Typo":1}')
    assert str(cfg.network) == "10.0.0.0/16" and cfg.backend == "udp"
    assert cfg.notes == ("unknown key 'Typo' (rudder ignores it)",)
    seed = '{"Network":"10.0.0.0/16"'
    for bad in ("", "[]", '{"Network":16}', '{"SubnetLen":24}', seed + ',"Backend":"udp"}'):
        with pytest.raises(netconf.NetConfigError):
            netconf.parse_config(bad)


# -- rudder subnets -----------------------------------------------------------------------


def test_subnets_lists_leases_with_time_left(shell, etcd):
    status, out, _ = shell.run("rudder subnets")
    assert status == 0 and "no leases" in out
    put(etcd, CONFIG, '{"Network":"10.0.0.0/16"}')
    put(etcd, "/coreos.com/network/subnets/10.0.77.0-24", '{"PublicIP":"10.1.0.77"}', ttl=86400)
    put(etcd, "/coreos.com/network/subnets/10.0.5.0-24", '{"PublicIP":"10.1.1.180"}', ttl=90)
    put(etcd, "/coreos.com/network/subnets/10.0.27.0-24", '{"PublicIP":"10.1.1.27"}')
    status, out, _ = shell.run("rudder subnets")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["SUBNET", "PUBLIC", "IP", "EXPIRES", "IN"]
    rows = [line.split() for line in lines[1:]]
    assert [r[:2] for r in rows] == [
        ["10.0.5.0/24", "10.1.1.180"],
        ["10.0.27.0/24", "10.1.1.27"],
        ["10.0.77.0/24", "10.1.0.77"],
    ]  # numeric order, not text order
    assert rows[0][2] in ("1m30s", "1m29s", "1m28s")
    assert rows[1][2] == "never"
    assert rows[2][2] in ("24h00m", "23h59m")
    status, out, _ = shell.run("rudder subnets --json")
    data = json.loads(out)
    assert [d["public_ip"] for d in data] == ["10.1.1.180", "10.1.1.27", "10.1.0.77"]
    assert 85 <= data[0]["ttl"] <= 90 and data[1]["ttl"] is None


def test_etcd_046_json_is_understood_too():
    # §2.4: 0.4.6 sends no "nodes"/"prevNode" nulls; a lease carries ttl and expiration.
    from kshell import EtcdNode

    data = json.loads(
        '{"key":"/coreos.com/network/subnets/10.0.5.0-24",'
        '"value":"{\\"PublicIP\\":\\"10.1.1.180\\"}","expiration":"2099-01-01T00:00:00.123456789Z",'
        '"ttl":86399,"modifiedIndex":9,"createdIndex":9}'
    )
    node = EtcdNode.from_json(data)
    assert node.ttl == 86399 and node.nodes == ()
    assert netconf.lease_public_ip(node.value) == "10.1.1.180"
    # Without ttl, the expiration gives the time left.
    del data["ttl"]
    assert EtcdNode.from_json(data).ttl > 10**8
    assert netconf.lease_subnet("/coreos.com/network/subnets/10.0.5.0-24").prefixlen == 24
    assert netconf.lease_subnet("/coreos.com/network/subnets/garbage") is None


# -- rudder units ------------------------------------------------------------------------------


def unit(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(text)
    return parser


def test_units_for_fleet_are_written_atomically_and_parse(shell, tmp_path):
    out_dir = tmp_path / "units"
    line = f"rudder units --etcd http://10.1.1.245:4001 --format fleet --output {out_dir}"
    status, out, _ = shell.run(line)
    assert status == 0 and out.count("wrote") == 2
    assert sorted(p.name for p in out_dir.iterdir()) == ["docker.service", "rudder.service"]
    rudder = unit((out_dir / "rudder.service").read_text())
    assert rudder["Service"]["ExecStart"] == "/opt/bin/rudder -etcd-endpoint http://10.1.1.245:4001"
    assert rudder["X-Fleet"]["Global"] == "true"
    assert rudder["X-Fleet"]["MachineMetadata"] == "role=kubernetes"
    docker = unit((out_dir / "docker.service").read_text())
    assert docker["Service"]["EnvironmentFile"] == "/run/rudder/subnet.env"
    assert "--bip=${RUDDER_SUBNET}" in docker["Service"]["ExecStart"]
    assert docker["Unit"]["After"] == "rudder.service"
    status, out, _ = shell.run(line)
    assert status == 0 and out.count("unchanged") == 2


def test_units_as_cloud_config_parse_as_yaml_with_the_context_endpoint(shell, etcd):
    import yaml

    status, out, err = shell.run("rudder units")
    assert status == 0
    assert "loopback" in err  # the fixture's etcd is 127.0.0.1: said, not refused
    doc = yaml.safe_load(out)
    assert out.startswith("#cloud-config\n")
    listed = {u["name"]: u for u in doc["coreos"]["units"]}
    assert list(listed) == ["rudder.service", "docker.service"]
    assert all(u["command"] == "start" for u in listed.values())
    rudder = unit(listed["rudder.service"]["content"])
    assert rudder["Service"]["ExecStart"].endswith(f"-etcd-endpoint {etcd.url}")
    assert listed["docker.service"]["content"] == units.DOCKER_UNIT


def test_units_refuse_bad_endpoints(shell):
    for bad in (
        "'http://a b:4001'",
        "http://10.1.1.245:4001,http://10.1.1.246:4001",
        "ftp://10.1.1.245",
        "http://10.1.1.245:99999",
        "'http://h/%n'",
    ):
        status, _, err = shell.run(f"rudder units --etcd {bad}")
        assert status == 2, bad
        assert err.count("\n") == 1


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,8}){0,3}", fullmatch=True),
    st.none() | st.integers(1, 65535),
    st.sampled_from(["http", "https"]),
)
def test_any_endpoint_lands_in_every_rendering(host, port, scheme):
    url = f"{scheme}://{host}" + (f":{port}" if port else "")
    etcd = units.normalise_endpoint(url)
    assert etcd == url
    for text in units.unit_files(etcd).values():
        unit(text)
    rudder = unit(units.unit_files(etcd)["rudder.service"])
    assert rudder["Service"]["ExecStart"].split()[-1] == url


@given(st.text(max_size=40))
def test_endpoint_check_never_lets_unit_syntax_through(text):
    try:
        etcd = units.normalise_endpoint(text)
    except ValueError:
        return
    assert not any(c in etcd for c in " \t\n%$\\\"'")


# -- doctor and status -------------------------------------------------------------------------


def test_checks_compare_leases_with_fleet_machines(shell, etcd):
    put(etcd, CONFIG, '{"Network":"10.1.0.0/16"}')  # overlaps the hosts below
    machines = {"07914a50aa": "10.1.0.77", "46bdac0cbb": "10.1.1.180", "bb805b88cc": "10.1.1.27"}
    for mid, ip in machines.items():
        put(
            etcd,
            f"/_coreos.com/fleet/machines/{mid}/object",
            json.dumps({"ID": mid, "PublicIP": ip, "Metadata": {"role": "kubernetes"}}),
        )
    put(etcd, "/coreos.com/network/subnets/10.1.5.0-24", '{"PublicIP":"10.1.0.77"}', ttl=600)
    put(etcd, "/coreos.com/network/subnets/10.1.6.0-24", '{"PublicIP":"10.1.1.180"}', ttl=600)
    put(etcd, "/coreos.com/network/subnets/10.1.9.0-24", '{"PublicIP":"10.9.9.9"}', ttl=600)
    status, out, _ = shell.run("doctor")
    lines = out.splitlines()
    assert "[ok  ] rudder: network config: 10.1.0.0/16, /24 subnets" in lines
    warns = [line for line in lines if line.startswith("[WARN]")]
    assert any(
        "no lease for fleet machine" in w and "bb805b88" in w and "10.1.1.27" in w for w in warns
    )
    assert any("no fleet machine" in w and "10.1.9.0/24 (10.9.9.9)" in w for w in warns)
    assert any("overlaps the machines' own addresses" in w for w in warns)
    assert "fix: rudder config set --network 10.0.0.0/16 --force" in out
    assert status == 0  # warnings do not fail doctor

    status, out, _ = shell.run("status")
    assert "rudder: network 10.1.0.0/16, 3 leases" in out


def test_checks_all_clear_on_the_seed_layout(shell, etcd):
    put(etcd, CONFIG, '{"Network":"10.0.0.0/16"}')
    put(etcd, "/_coreos.com/fleet/machines/07914a50aa/object", '{"PublicIP":"10.1.0.77"}')
    put(etcd, "/coreos.com/network/subnets/10.0.5.0-24", '{"PublicIP":"10.1.0.77"}', ttl=600)
    status, out, _ = shell.run("doctor")
    rudder = [line for line in out.splitlines() if "rudder:" in line]
    assert rudder and all(line.startswith("[ok  ]") for line in rudder), out
    assert status == 0


def test_checks_read_fleet_machines_under_a_custom_key_prefix(shell, etcd):
    """fleet.etcd-key-prefix (fleetctl's --etcd-key-prefix) moves fleet's registry."""
    put(etcd, CONFIG, '{"Network":"10.0.0.0/16"}')
    put(etcd, "/coreos.com/network/subnets/10.0.5.0-24", '{"PublicIP":"10.1.0.77"}', ttl=600)
    put(etcd, "/_coreos.com/fleet/machines/0000default/object", '{"PublicIP":"10.1.9.9"}')
    put(etcd, "/custom/fleet/machines/07914a50aa/object", '{"PublicIP":"10.1.0.77"}')
    put(etcd, "/custom/fleet/machines/46bdac0cbb/object", '{"PublicIP":"10.1.1.180"}')
    s = Shell(plugins="etcd,fleet,rudder")
    assert s.run("context set fleet.etcd-key-prefix /custom/fleet")[0] == 0
    status, out, _ = s.run("doctor")
    lines = [line for line in out.splitlines() if "rudder:" in line]
    assert any("no lease for fleet machine(s) 46bdac0c... (10.1.1.180)" in line for line in lines)
    assert not any("10.1.9.9" in line for line in lines), lines  # the default prefix's machine
    assert not any("no fleet machine" in line for line in lines), lines


def test_checks_and_status_without_config_or_etcd(shell, home):
    status, out, _ = shell.run("doctor")
    assert "[FAIL] rudder: network config: /coreos.com/network/config is missing" in out
    assert "fix: rudder config set --network 10.0.0.0/16" in out
    assert status == 1
    assert "rudder: no network config" in shell.run("status")[1]

    dead = f"http://127.0.0.1:{free_port()}"
    write_config(home, dead)
    s = Shell()
    status, out, _ = s.run("doctor")
    rudder = [line for line in out.splitlines() if line.startswith("[FAIL] rudder")]
    assert len(rudder) == 1 and "unreachable" in rudder[0]
    # The fix is a command that works when pasted: no backticks around it.
    assert "       fix: context set etcd.endpoint URL\n" in out
    status, out, _ = s.run("status")
    assert "rudder: cannot read /coreos.com/network/config: etcd at" in out


# -- the plugin itself ----------------------------------------------------------------------------


def test_plugin_loads_without_heavy_imports():
    code = (
        "import sys, kshell_plugins.rudder;"
        "print(sorted(m for m in ('requests', 'yaml', 'sh') if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


def test_plugin_imports_only_the_public_api():
    from pathlib import Path

    import kshell_plugins.rudder as plugin

    for path in Path(plugin.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "from kshell." not in text and "import kshell." not in text, path.name


def test_dry_run_prints_the_write(etcd, home):
    write_config(home, etcd.url)
    s = Shell()
    s.session.dry_run = True
    status, out, _ = s.run("rudder config set --network 10.0.0.0/16")
    assert status == 0
    assert "mk /coreos.com/network/config" in out
    assert stored(etcd) is None


def test_config_key_that_is_a_directory_is_one_line(shell, etcd):
    put(etcd, CONFIG + "/oops", "x")
    status, out, err = shell.run("rudder config")
    assert status == 1 and out == ""
    assert err.strip() == "rudder config: /coreos.com/network/config is a directory, not a value"


def test_completion_offers_backends_and_formats(shell):
    completion = pytest.importorskip("kshell.completion")

    def texts(line):
        return [s.text.strip() for s in completion.complete(shell.session, line)]

    assert texts("rudder ") == ["config", "subnets", "units"]
    assert texts("rudder config set --backend ") == ["udp"]
    assert texts("rudder units --format ") == ["cloud-config", "fleet"]
    assert texts("rudder units --etcd ") == [shell.session.context.get("etcd.endpoint")]
