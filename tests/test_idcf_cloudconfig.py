"""``idcf cloud-config etcd|node``: the seed's two cloud-configs, parsed back field by field."""

from __future__ import annotations

import base64
import os

import pytest
import yaml
from idcfshell import Shell, isolate

KEY = "ssh-rsa " + base64.b64encode(b"\0\0\0\x07ssh-rsa kshell").decode() + " op@work"
KEY2 = "ssh-ed25519 " + base64.b64encode(b"\0\0\0\x0bssh-ed25519 x").decode() + " a #b: c"

# The node cloud-config of the seed article, as printed there (a trailing space and all).
SEED_NODE = """\
#cloud-config

coreos:
  fleet:
    etcd_servers: http://10.1.1.245:4001
    metadata: role=kubernetes
  units:
    - name: etcd.service
      mask: true
    - name: fleet.service
      command: start
    - name: rudder.service
      command: start
      content: |
        [Unit]
        After=network-online.target 
        Wants=network-online.target
        Description=Rudder is an etcd backed overlay network for containers

        [Service]
        ExecStartPre=-/usr/bin/mkdir -p /opt/bin
        ExecStartPre=/usr/bin/wget -N -P /opt/bin https://storage.googleapis.com/rudder/rudder
        ExecStartPre=/usr/bin/chmod +x /opt/bin/rudder
        ExecStart=/opt/bin/rudder -etcd-endpoint http://10.1.1.245:4001
    - name: docker.service
      command: start
      content: |
        [Unit]
        After=rudder.service
        Wants=rudder.service
        Description=Docker Application Container Engine
        Documentation=http://docs.docker.io

        [Service]
        EnvironmentFile=/run/rudder/subnet.env
        ExecStartPre=/bin/mount --make-rprivate /
        ExecStart=/usr/bin/docker -d --bip=${RUDDER_SUBNET} --mtu=${RUDDER_MTU} -s=btrfs -H fd:// --iptables=false

        [Install]
        WantedBy=multi-user.target
    - name: setup-network-environment.service
      command: start
      content: |
        [Unit]
        Description=Setup Network Environment
        Documentation=https://github.com/kelseyhightower/setup-network-environment
        Requires=network-online.target
        After=network-online.target

        [Service]
        ExecStartPre=-/usr/bin/mkdir -p /opt/bin
        ExecStartPre=/usr/bin/wget -N -P /opt/bin http://storage.googleapis.com/snenv/setup-network-environment 
        ExecStartPre=/usr/bin/chmod +x /opt/bin/setup-network-environment
        ExecStart=/opt/bin/setup-network-environment
        RemainAfterExit=yes
        Type=oneshot
  update:
    group: alpha
    reboot-strategy: off
ssh_authorized_keys:
    - ssh-rsa AAAAB3Nz...
"""  # noqa: W291, E501


@pytest.fixture
def home(monkeypatch, tmp_path):
    home = isolate(monkeypatch, tmp_path)
    (home / "op.pub").write_text(KEY + "\n")
    (home / "two.pub").write_text(f"# my keys\n{KEY}\n\n{KEY2}\n")
    return home


def render(line: str) -> tuple[str, dict]:
    text = Shell().ok(line)
    assert text.startswith("#cloud-config\n")
    return text, yaml.safe_load(text)


def _normalised(doc: dict) -> dict:
    """Trailing spaces in unit lines dropped; YAML 1.1's bare `off` (False) as "off"."""
    for unit in doc["coreos"]["units"]:
        if "content" in unit:
            unit["content"] = "\n".join(line.rstrip() for line in unit["content"].split("\n"))
    if doc["coreos"]["update"]["reboot-strategy"] is False:
        doc["coreos"]["update"]["reboot-strategy"] = "off"
    return doc


def test_node_matches_the_seed_field_by_field(home):
    _, doc = render(f"idcf cloud-config node --etcd http://10.1.1.245:4001 --ssh-key "
                    f"{home / 'op.pub'}")  # fmt: skip
    seed = _normalised(yaml.safe_load(SEED_NODE))
    assert doc["coreos"]["fleet"] == {"etcd_servers": "http://10.1.1.245:4001",
                                      "metadata": "role=kubernetes"}  # fmt: skip
    assert [(u["name"], u.get("command"), u.get("mask")) for u in doc["coreos"]["units"]] == [
        ("etcd.service", None, True),
        ("fleet.service", "start", None),
        ("rudder.service", "start", None),
        ("docker.service", "start", None),
        ("setup-network-environment.service", "start", None),
    ]
    for mine, theirs in zip(doc["coreos"]["units"], seed["coreos"]["units"]):
        assert mine == theirs
    assert doc["coreos"]["update"] == {"group": "alpha", "reboot-strategy": "off"}
    assert doc["ssh_authorized_keys"] == [KEY]
    rudder = doc["coreos"]["units"][2]["content"]
    assert "ExecStart=/opt/bin/rudder -etcd-endpoint http://10.1.1.245:4001\n" in rudder
    docker = doc["coreos"]["units"][3]["content"]
    assert "EnvironmentFile=/run/rudder/subnet.env" in docker
    assert "--bip=${RUDDER_SUBNET} --mtu=${RUDDER_MTU}" in docker
    assert set(doc) == {"coreos", "ssh_authorized_keys"}


def test_node_options(home):
    _, doc = render(f"idcf cloud-config node --etcd 10.1.1.9:4001 --ssh-key {home / 'two.pub'} "
                    "--metadata role=kubernetes,disk=ssd --channel beta")  # fmt: skip
    assert doc["coreos"]["fleet"] == {"etcd_servers": "http://10.1.1.9:4001",
                                      "metadata": "role=kubernetes,disk=ssd"}  # fmt: skip
    assert doc["coreos"]["update"]["group"] == "beta"
    assert doc["ssh_authorized_keys"] == [KEY, KEY2]  # a ` #` in a comment stays in the key


def test_etcd_host_field_by_field(home):
    _, doc = render(f"idcf cloud-config etcd --ip 10.1.1.245 --ssh-key {home / 'op.pub'}")
    assert doc == {
        "hostname": "etcd",
        "coreos": {
            "fleet": {"etcd_servers": "http://127.0.0.1:4001", "metadata": "role=etcd"},
            "etcd": {
                "name": "etcd", "addr": "10.1.1.245:4001", "bind-addr": "0.0.0.0",
                "peer-addr": "10.1.1.245:7001", "cluster-active-size": 1, "snapshot": True,
            },
            "units": [
                {"name": "etcd.service", "command": "start"},
                {"name": "fleet.service", "command": "start"},
                {"name": "docker.service", "mask": True},
            ],
            "update": {"group": "alpha", "reboot-strategy": "off"},
        },
        "ssh_authorized_keys": [KEY],
    }  # fmt: skip


@pytest.mark.parametrize(
    "line, message",
    [
        ("etcd --ip 10.1.1.300 --ssh-key {k}", "`10.1.1.300` is not an IPv4 address"),
        ("etcd --ip 10.1.1.1 --hostname Bad_Name --ssh-key {k}", "is not a host name"),
        ("node --etcd 'http://a:1,http://b:2' --ssh-key {k}", "is not one etcd URL"),
        ("node --etcd 'http://x y' --ssh-key {k}", "is not one etcd URL"),
        ("node --etcd http://x:4001 --metadata 'role: x' --ssh-key {k}", "is not fleet metadata"),
        ("node --etcd http://x:4001 --ssh-key {priv}", "is a private key; pass the public one"),
        ("node --etcd http://x:4001 --ssh-key {junk}", "holds no OpenSSH public key"),
        ("node --etcd http://x:4001 --ssh-key {none}", "cannot read SSH key file"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(home, line, message):
    (home / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n")
    (home / "junk").write_text("hello: world\n")
    line = line.format(k=home / "op.pub", priv=home / "id_rsa", junk=home / "junk",
                       none=home / "missing.pub")  # fmt: skip
    err = Shell().fails(f"idcf cloud-config {line}", 2)
    assert message in err


def test_out_writes_atomically_and_never_overwrites_a_different_file(home):
    shell = Shell()
    out = home / "cc" / "etcd.yml"
    base = f"idcf cloud-config etcd --ssh-key {home / 'op.pub'} --out {out}"
    assert shell.ok(f"{base} --ip 10.1.1.245").startswith(f"{out}: written (etcd cloud-config")
    first = out.read_text()
    assert yaml.safe_load(first)["coreos"]["etcd"]["addr"] == "10.1.1.245:4001"
    assert oct(os.stat(out).st_mode & 0o777) == "0o644"
    assert shell.ok(f"{base} --ip 10.1.1.245").startswith(f"{out}: unchanged")
    err = shell.fails(f"{base} --ip 10.1.1.9")
    assert err == f"idcf cloud-config etcd: {out} exists and differs; --force replaces it"
    assert out.read_text() == first
    shell.ok(f"{base} --ip 10.1.1.9 --force")
    assert yaml.safe_load(out.read_text())["coreos"]["etcd"]["addr"] == "10.1.1.9:4001"
    assert sorted(p.name for p in out.parent.iterdir()) == ["etcd.yml"]  # no temp file left
    err = shell.fails(f"idcf cloud-config etcd --ip 10.1.1.9 --ssh-key {home / 'op.pub'} "
                      f"--out {home}", 2)  # fmt: skip
    assert "is a directory" in err


def test_dry_run_writes_nothing(home):
    shell = Shell()
    shell.session.dry_run = True
    out = home / "node.yml"
    text = shell.ok(f"idcf cloud-config node --etcd http://10.1.1.245:4001 "
                    f"--ssh-key {home / 'op.pub'} --out {out}")  # fmt: skip
    assert "would be written" in text and not out.exists()
