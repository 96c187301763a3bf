"""kube units render: the Kubernetes-on-fleet unit set, parsed back as systemd units."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import STANDINS
from kshell_plugins.kube import units
from kubefixtures import KubeShell

ETCD = "http://10.1.1.245:4001"
MACHINE = "07914a50e1d34a4f9f0b3d2c1a0e9f8d"
FLEETCTL = os.environ.get("KSHELL_TEST_FLEETCTL") or str(STANDINS / "fleetctl")

# The three units the seed quotes, with its etcd address edited in (seed/, Part5).
SEED = {
    "kube-proxy.service": """\
[Unit]
Description=Kubernetes Proxy
Documentation=https://github.com/GoogleCloudPlatform/kubernetes

[Service]
ExecStartPre=/usr/bin/wget -N -P /opt/bin http://storage.googleapis.com/kubernetes/proxy
ExecStartPre=/usr/bin/chmod +x /opt/bin/proxy
ExecStart=/opt/bin/proxy --etcd_servers=http://10.1.1.245:4001 --logtostderr=true
Restart=always
RestartSec=10

[X-Fleet]
Global=true
MachineMetadata=role=kubernetes
""",
    "kube-kubelet.service": """\
[Unit]
Description=Kubernetes Kubelet
Documentation=https://github.com/GoogleCloudPlatform/kubernetes
Requires=setup-network-environment.service
After=setup-network-environment.service

[Service]
EnvironmentFile=/etc/network-environment
ExecStartPre=/usr/bin/wget -N -P /opt/bin http://storage.googleapis.com/kubernetes/kubelet
ExecStartPre=/usr/bin/chmod +x /opt/bin/kubelet
ExecStart=/opt/bin/kubelet \\
--address=0.0.0.0 \\
--port=10250 \\
--hostname_override=${DEFAULT_IPV4} \\
--etcd_servers=http://10.1.1.245:4001 \\
--logtostderr=true
Restart=always
RestartSec=10

[X-Fleet]
Global=true
MachineMetadata=role=kubernetes
""",
    "kube-apiserver.service": """\
[Unit]
Description=Kubernetes API Server
Documentation=https://github.com/GoogleCloudPlatform/kubernetes

[Service]
ExecStartPre=/usr/bin/wget -N -P /opt/bin http://storage.googleapis.com/kubernetes/apiserver
ExecStartPre=/usr/bin/chmod +x /opt/bin/apiserver
ExecStart=/opt/bin/apiserver \\
--address=0.0.0.0 \\
--port=8080 \\
--etcd_servers=http://10.1.1.245:4001 \\
--logtostderr=true
Restart=always
RestartSec=10

[X-Fleet]
MachineMetadata=role=kubernetes
""",
}


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file: sections of keys with every value (keys repeat), continuation
    lines (a trailing backslash) joined with a space, comments skipped. Raises on anything
    systemd would not read as an assignment."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    pending = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = pending + raw.strip() if pending else raw.strip()
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        pending = ""
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep and key.strip(), f"line {number}: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    assert not pending, "a continuation at the end of the file"
    return sections


def flags(exec_start: str) -> dict[str, str]:
    return dict(w.lstrip("-").split("=", 1) for w in exec_start.split()[1:] if "=" in w)


@pytest.fixture
def rendered():
    return {name: parse_unit(text) for name, text in units.render(ETCD).items()}


def test_the_six_units_in_the_tutorial_s_order():
    assert list(units.render(ETCD)) == [
        "kube-proxy.service", "kube-kubelet.service", "kube-apiserver.service",
        "kube-scheduler.service", "kube-controller-manager.service", "kube-register.service",
    ]  # fmt: skip


def test_the_seed_s_units_exactly():
    out = units.render(ETCD)
    for name, text in SEED.items():
        assert out[name] == text, name


def test_every_unit_is_a_service_that_downloads_its_binary(rendered):
    for name, unit in rendered.items():
        assert set(unit) == {"Unit", "Service", "X-Fleet"}, name
        service = unit["Service"]
        assert service["Restart"] == ["always"] and service["RestartSec"] == ["10"]
        binary = service["ExecStart"][0].split()[0]
        assert binary.startswith("/opt/bin/")
        wget = service["ExecStartPre"][0].split()
        assert wget[:4] == ["/usr/bin/wget", "-N", "-P", "/opt/bin"]
        assert wget[4].startswith("http://storage.googleapis.com/kubernetes/")
        assert f"/usr/bin/chmod +x {binary}" in service["ExecStartPre"]


def test_placement(rendered):
    assert rendered["kube-apiserver.service"]["X-Fleet"] == {"MachineMetadata": ["role=kubernetes"]}
    for name in ("kube-scheduler.service", "kube-controller-manager.service",
                 "kube-register.service"):  # fmt: skip
        assert rendered[name]["X-Fleet"] == {"MachineOf": ["kube-apiserver.service"]}, name
    for name in ("kube-kubelet.service", "kube-proxy.service"):
        assert rendered[name]["X-Fleet"] == {
            "Global": ["true"],
            "MachineMetadata": ["role=kubernetes"],
        }, name

    by_id = units.render(ETCD, master_machine=MACHINE.upper())["kube-apiserver.service"]
    by_id = parse_unit(by_id)
    assert by_id["X-Fleet"] == {"MachineID": [MACHINE]}
    by_role = units.render(ETCD, master_metadata="role=master")["kube-apiserver.service"]
    by_role = parse_unit(by_role)
    assert by_role["X-Fleet"] == {"MachineMetadata": ["role=master"]}


def test_exec_start_flags(rendered):
    def exec_flags(name):
        return flags(rendered[name]["Service"]["ExecStart"][0])

    assert exec_flags("kube-apiserver.service") == {
        "address": "0.0.0.0", "port": "8080", "etcd_servers": ETCD, "logtostderr": "true",
    }  # fmt: skip
    assert exec_flags("kube-scheduler.service") == {"master": "127.0.0.1:8080"}
    assert exec_flags("kube-controller-manager.service") == {"master": "127.0.0.1:8080"}
    assert exec_flags("kube-kubelet.service")["etcd_servers"] == ETCD
    assert exec_flags("kube-kubelet.service")["hostname_override"] == "${DEFAULT_IPV4}"
    assert exec_flags("kube-proxy.service")["etcd_servers"] == ETCD
    assert exec_flags("kube-register.service") == {
        "metadata": "role=kubernetes",
        "fleet-endpoint": "unix:///var/run/fleet.sock",
        "api-endpoint": "http://127.0.0.1:8080",
    }


def test_options_reach_the_units():
    out = units.render(
        "10.1.1.245:4001,http://10.1.1.246:4001", node_metadata="k8s=node",
        base="http://mirror.local/k8s/", register_url="http://mirror.local/kr/kube-register-0.0.2",
    )  # fmt: skip
    proxy = parse_unit(out["kube-proxy.service"])
    assert flags(proxy["Service"]["ExecStart"][0])["etcd_servers"] == (
        "http://10.1.1.245:4001,http://10.1.1.246:4001"
    )
    assert proxy["X-Fleet"]["MachineMetadata"] == ["k8s=node"]
    assert "http://mirror.local/k8s/proxy" in proxy["Service"]["ExecStartPre"][0]
    register = parse_unit(out["kube-register.service"])["Service"]
    assert register["ExecStartPre"][:2] == [
        "/usr/bin/wget -N -P /opt/bin http://mirror.local/kr/kube-register-0.0.2",
        "/usr/bin/mv -f /opt/bin/kube-register-0.0.2 /opt/bin/kube-register",
    ]
    assert flags(register["ExecStart"][0])["metadata"] == "k8s=node"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"etcd": "http://10.1.1.245:4001/v2"}, "not an etcd URL"),
        ({"etcd": "http://a b:4001"}, "not an etcd URL"),
        ({"etcd": ETCD, "master_machine": "07914a50"}, "full fleet machine ID"),
        ({"etcd": ETCD, "master_metadata": "role"}, "not fleet metadata"),
        ({"etcd": ETCD, "node_metadata": "role=a b"}, "not fleet metadata"),
        ({"etcd": ETCD, "version": "v0.4"}, "no download URLs known for v0.4"),
        ({"etcd": ETCD, "base": "ftp://x"}, "not a download URL"),
        ({"etcd": ETCD, "master_machine": MACHINE, "master_metadata": "a=b"}, "not both"),
    ],
)
def test_bad_values_are_refused(kwargs, message):
    etcd = kwargs.pop("etcd")
    with pytest.raises(ValueError, match=message):
        units.render(etcd, **kwargs)


# -- the command -----------------------------------------------------------------------------


@pytest.fixture
def shell(home, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return KubeShell(home, {"etcd.endpoint": ETCD})


def test_render_prints_without_out(shell):
    status, out, _ = shell.run("kube units render")
    assert status == 0
    assert "# kube-scheduler.service" in out and f"--etcd_servers={ETCD}" in out


def test_render_writes_then_leaves_alone_then_refuses(shell, tmp_path):
    status, out, _ = shell.run(f"kube units render --etcd {ETCD} --out kube-units")
    assert status == 0
    d = tmp_path / "kube-units"
    assert sorted(p.name for p in d.iterdir()) == sorted(units.ORDER)
    for name in units.ORDER:
        assert f"wrote kube-units/{name}" in out
        parse_unit((d / name).read_text())
    assert "fleet start kube-units/kube-proxy.service" in out and "kube-scheduler.service" in out

    status, out, _ = shell.run(f"kube units render --etcd {ETCD} --out kube-units")
    assert status == 0 and out.count("unchanged") == 6

    # The user edited one unit and removed another: nothing is written without --force.
    edited = d / "kube-apiserver.service"
    edited.write_text(edited.read_text().replace("--port=8080", "--port=9090"))
    (d / "kube-proxy.service").unlink()
    status, out, err = shell.run("kube units render --etcd http://10.1.1.9:4001 --out kube-units")
    assert status == 1
    assert "kube-apiserver.service" in err and "--force" in err and len(err.splitlines()) == 1
    assert "--port=9090" in edited.read_text()
    assert not (d / "kube-proxy.service").exists()

    status, out, _ = shell.run("kube units render --etcd http://10.1.1.9:4001 --out kube-units "
                               "--force")  # fmt: skip
    assert status == 0
    assert "replaced kube-units/kube-apiserver.service" in out
    assert "wrote kube-units/kube-proxy.service" in out
    assert "--etcd_servers=http://10.1.1.9:4001" in edited.read_text()
    assert not [p for p in d.iterdir() if p.name.startswith(".")]  # no temp files left


def test_a_symlinked_unit_is_replaced_not_edited_through(shell, tmp_path):
    d = tmp_path / "kube-units"
    d.mkdir()
    original = tmp_path / "mine.service"
    original.write_text("[Unit]\nDescription=mine\n")
    (d / "kube-scheduler.service").symlink_to(original)
    assert shell.run("kube units render --out kube-units --force")[0] == 0
    assert original.read_text() == "[Unit]\nDescription=mine\n"
    assert not (d / "kube-scheduler.service").is_symlink()


def test_bad_arguments_are_one_line(shell, tmp_path):
    status, _, err = shell.run("kube units render --etcd 'http://x y' --out d")
    assert status == 2 and len(err.splitlines()) == 1 and "not an etcd URL" in err
    status, _, err = shell.run(f"kube units render --master-machine {MACHINE} "
                               "--master-metadata role=x")  # fmt: skip
    assert status == 2 and "not allowed with" in err
    (tmp_path / "afile").write_text("x")
    status, _, err = shell.run("kube units render --out afile")
    assert status == 2 and "not a directory" in err
    bare = KubeShell(shell.session.config.path.parent.parent, {})
    status, out, err = bare.run("kube units render")  # etcd.endpoint's default: loopback
    assert status == 0 and "each machine's own loopback" in err and "--etcd" in err


def test_fleet_takes_the_rendered_units(shell, etcd, tmp_path):
    """fleetctl (the stand-in, or the real 0.8.1) submits and lists all six."""
    assert shell.run("kube units render --out kube-units")[0] == 0
    d = tmp_path / "kube-units"
    argv = [FLEETCTL, f"--endpoint={etcd.url}", "submit", *(str(d / n) for n in units.ORDER)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(
        [FLEETCTL, f"--endpoint={etcd.url}", "list-unit-files"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert listed.returncode == 0
    assert sorted(line.split("\t")[0] for line in listed.stdout.splitlines()[1:]) == sorted(
        units.ORDER
    )
    cat = subprocess.run([FLEETCTL, f"--endpoint={etcd.url}", "cat", "kube-scheduler.service"],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert parse_unit(cat.stdout)["X-Fleet"] == {"MachineOf": ["kube-apiserver.service"]}
