"""The shipped recipes of the Kubernetes and IDCF parts of the procedure, run for real.

- kubernetes-fleet.ksh: against the real test etcd, fleetctl (the stand-in, or the real
  0.8.1 with $KSHELL_TEST_FLEETCTL), the ``apiserver`` and ``scheduler`` fixtures and the ssh
  stand-in; tests/fleetagent.py plays fleetd (machines with role=kubernetes, units
  scheduled and launched when fleetctl asks for it).
- guestbook.ksh: against the ``apiserver`` fixture (the real v0.3 one with
  $KSHELL_TEST_APISERVER) and the scheduler.
- idcf-machines.ksh (the IDCF part of idcf-coreos-cluster.ksh): against the CloudStack
  stand-in.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from pathlib import Path

import yaml
from conftest import STANDINS, real_etcdctl
from fleetagent import FleetAgent
from kshell_plugins.kube import tunnel
from kubefixtures import MINIONS, KubeShell, kubecfg_binary
from test_recipes_run import FLEETCTL, kshell

RECIPES = Path(__file__).parent.parent / "recipes"
SSH = str(STANDINS / "ssh")
UNREACHABLE = "http://127.0.0.1:1"  # kube.master: only the tunnel can answer
MASTER_UNITS = ("kube-apiserver.service", "kube-scheduler.service",
                "kube-controller-manager.service", "kube-register.service")  # fmt: skip
GLOBAL_UNITS = ("kube-proxy.service", "kube-kubelet.service")
UNITS = GLOBAL_UNITS + MASTER_UNITS


def write_config(home: Path, context: dict[str, str]) -> None:
    cfg = home / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    binaries = {"fleetctl": FLEETCTL, "etcdctl": real_etcdctl(), "kubecfg": kubecfg_binary()}
    cfg.write_text(yaml.safe_dump({"contexts": {"default": context}, "binaries": binaries}))


def echoed(stderr: str, recipe: Path) -> list[int]:
    """The line numbers of ``recipe`` that the replay echoed, in order."""
    return [int(n) for n in re.findall(rf"^{re.escape(str(recipe))}:(\d+): ", stderr, re.M)]


def pid_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[-1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# -- kubernetes-fleet.ksh ------------------------------------------------------------------


def test_kubernetes_fleet_for_real(home, etcd, apiserver, scheduler, tmp_path):
    recipe = RECIPES / "kubernetes-fleet.ksh"
    write_config(home, {
        "etcd.endpoint": etcd.url, "fleet.endpoint": etcd.url, "kube.master": UNREACHABLE,
        "kube.tunnel.ssh": SSH, "kube.tunnel.remote-port": apiserver.url.rsplit(":", 1)[1],
    })  # fmt: skip
    # fleet's machines: the master's public address is loopback (the ssh stand-in's rule);
    # one per minion the API server knows (its -machines).
    machines = [(f"{i + 1:x}" * 32, ip, {"role": "kubernetes"}) for i, ip in enumerate(MINIONS)]
    apiserver.create_pod("hello-pod")  # for `kube pods` to list
    units = tmp_path / "units"
    flags = ["--var", f"ETCD={etcd.url}", "--var", f"UNITS={units}",
             "--var", f"NODES={len(MINIONS)}", "--var", "TIMEOUT=20"]  # fmt: skip
    with FleetAgent(etcd.url, machines) as agent:
        r = kshell(home, "run", str(recipe), *flags)
    out = r.stdout
    assert r.returncode == 0, (out, r.stderr, agent.errors)
    assert agent.errors == []
    # every command line ran, in order
    text = recipe.read_text().splitlines()
    commands = [i + 1 for i, t in enumerate(text) if t and not t.startswith(("#", " ", "set "))]
    assert echoed(r.stderr, recipe) == commands
    # the units, rendered for the given etcd, started by fleet where their [X-Fleet] says
    assert sorted(p.name for p in units.iterdir()) == sorted(UNITS)
    assert f"--etcd_servers={etcd.url}" in (units / "kube-apiserver.service").read_text()
    placed: dict[str, list[str]] = {}
    for unit, machine in agent.started:
        placed.setdefault(unit, []).append(machine)
    for unit in MASTER_UNITS:  # the apiserver's machine, the others beside it (MachineOf)
        assert placed[unit] == [machines[0][0]], unit
    for unit in GLOBAL_UNITS:
        assert sorted(placed[unit]) == [m[0] for m in machines], unit
        assert f"Triggered global unit {unit} start" in out
        assert f"{unit}: active on {len(machines)} machines" in out
    for unit in MASTER_UNITS:
        assert re.search(rf"^Unit {re.escape(unit)} launched", out, re.M), out
        assert f"{unit}: active on 1 machine" in out
    # the tunnel: found from fleet (the apiserver's machine), through the ssh stand-in
    assert f"the apiserver runs on {machines[0][1]} (fleet)" in out
    m = re.search(r"tunnel open: http://127\.0\.0\.1:(\d+) .*ssh pid (\d+)\)", out)
    assert m, out
    port, pid = int(m.group(1)), int(m.group(2))
    # the minions and pods, listed through it
    assert f"{len(MINIONS)} minion(s) registered" in out
    for minion in MINIONS:
        assert re.search(rf"^{re.escape(minion)}\s*$", out, re.M), out
    assert re.search(r"^hello-pod\s+busybox\s", out, re.M), out
    # kshell run has ended: so has the tunnel
    assert pid_gone(pid), f"ssh {pid} outlived kshell run"
    assert not port_open(port)
    assert tunnel.load("default") is None  # and its record


# -- guestbook.ksh ---------------------------------------------------------------------------


def test_guestbook_for_real(home, etcd, apiserver, scheduler):
    recipe = RECIPES / "guestbook.ksh"
    write_config(home, {
        "etcd.endpoint": etcd.url, "fleet.endpoint": etcd.url, "kube.master": UNREACHABLE,
        "kube.tunnel.ssh": SSH, "kube.tunnel.remote-port": apiserver.url.rsplit(":", 1)[1],
    })  # fmt: skip
    # No kubelet runs here: the pod gets a minion from the scheduler but stays Waiting, so
    # the wait for Running fails after TIMEOUT; --keep-going runs the listings after it.
    r = kshell(home, "run", str(recipe), "--keep-going", "--var", "TIMEOUT=2",
               "--var", "MASTER_SSH=core@127.0.0.1")  # fmt: skip
    lines = recipe.read_text().splitlines()
    wait_line = 1 + next(i for i, t in enumerate(lines) if t.startswith("kube wait pod"))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert f"kshell run: 1 line failed: {recipe}:{wait_line} `kube wait pod" in r.stderr, r.stderr
    assert re.search(r"pod redis-master-2 is Waiting on (127\.0\.0\.1|10\.0\.0\.5)\S*, not "
                     r"Running, after 2s", r.stderr), r.stderr  # fmt: skip
    # every object of recipes/guestbook/ is in the API server, as its JSON says
    made = {"pods": [], "services": [], "replicationControllers": []}
    for path in sorted((RECIPES / "guestbook").glob("*.json")):
        obj = json.loads(path.read_text())
        kind = {"Pod": "pods", "Service": "services",
                "ReplicationController": "replicationControllers"}[obj["kind"]]  # fmt: skip
        made[kind].append(obj["id"])
        got = apiserver.get(kind, obj["id"])
        assert (got.get("labels") or {}) == (obj.get("labels") or {}), path.name
        if kind == "services":
            assert got["port"] == obj["port"] and got["selector"] == obj["selector"]
            assert got.get("containerPort") == obj["containerPort"], path.name
        if kind == "replicationControllers":
            assert got["desiredState"]["replicas"] == obj["desiredState"]["replicas"]
    for kind, ids in made.items():
        assert set(ids) <= set(apiserver.ids(kind)), kind
        for ident in ids:  # the listings after the failed wait ran, through the tunnel
            assert re.search(rf"^{re.escape(ident)}\s", r.stdout, re.M), (ident, r.stdout)
    assert apiserver.pod_host("redis-master-2") in [f"{m}" for m in MINIONS]
    assert tunnel.load("default") is None


def test_at_the_prompt_the_recipes_tunnel_stays_for_the_session(home, etcd, apiserver, scheduler):
    context = {"kube.master": UNREACHABLE, "kube.tunnel.ssh": SSH,
               "kube.tunnel.remote-port": apiserver.url.rsplit(":", 1)[1]}  # fmt: skip
    sh = KubeShell(home, context)
    try:
        status, _, err = sh.run(f"run {RECIPES / 'guestbook.ksh'} --keep-going --var TIMEOUT=1 "
                                "--var MASTER_SSH=core@127.0.0.1")  # fmt: skip
        assert status == 1 and "1 line failed" in err, err  # the wait for Running, as above
        rec = tunnel.load("default")
        assert rec is not None and tunnel.alive(rec)
        status, out, _ = sh.run("kube services")  # later commands use it
        assert status == 0 and re.search(r"^frontend\s", out, re.M), out
    finally:
        sh.session.close()  # kshell exits
    assert pid_gone(rec.pid) and tunnel.load("default") is None


# -- idcf-machines.ksh (the IDCF part of idcf-coreos-cluster.ksh) ---------------------------


def run_on_cloudstack(home, tmp_path, recipe: Path, *more: str):
    """``kshell run recipe`` against a fresh CloudStack stand-in; (result, the stand-in)."""
    import base64

    from cloudstackfake import API_KEY, SECRET_KEY, CloudStackFake

    key = tmp_path / "op.pub"
    key.write_text("ssh-rsa " + base64.b64encode(b"\0\0\0\x07ssh-rsa kshell").decode() + " op\n")
    env = {"IDCF_COMPUTE_API_KEY": API_KEY, "IDCF_COMPUTE_SECRET_KEY": SECRET_KEY,
           "KSHELL_IDCF_POLL_INTERVAL": "0", "HOME": str(tmp_path),
           "no_proxy": "127.0.0.1", "NO_PROXY": "127.0.0.1"}  # fmt: skip
    flags = [f"--var={k}={v}" for k, v in {
        "ZONE": "tesla", "OFFERING": "standard.S4", "DISK_OFFERING": "100GB",
        "SSH_KEY": str(key), "ETCD_IP": "10.1.1.245", "CONFIGS": str(tmp_path / "configs"),
        "ISO_URL": ISO_URL,
    }.items()]  # fmt: skip
    fake = CloudStackFake().start()
    try:
        env["IDCF_COMPUTE_HOST"] = fake.url
        r = kshell(home, "run", str(recipe), *flags, *more, env=env)
    finally:
        fake.stop()
    assert API_KEY not in r.stdout + r.stderr and SECRET_KEY not in r.stdout + r.stderr
    return r, fake


ISO_URL = "http://127.0.0.1:9/coreos_production_iso_image.iso"  # only the cloud fetches it
MACHINES = ["k8s-etcd", "k8s-node1", "k8s-node2", "k8s-node3"]


def test_idcf_machines_for_real(home, tmp_path):
    r, fake = run_on_cloudstack(home, tmp_path, RECIPES / "idcf-machines.ksh")
    assert r.returncode == 0, (r.stdout, r.stderr)
    configs = tmp_path / "configs"
    # the ISO, registered in the zone from the URL, waited for until ready
    (iso,) = [i for i in fake.isos if i["name"] == "coreos-alpha"]
    assert iso["url"] == ISO_URL and iso["zonename"] == "tesla" and iso["isready"]
    # the cloud-configs: etcd on its fixed address, the nodes pointed at it
    etcd_yml, node_yml = (configs / "etcd.yml").read_text(), (configs / "node.yml").read_text()
    assert etcd_yml.startswith("#cloud-config") and "addr: 10.1.1.245:4001" in etcd_yml
    assert "http://10.1.1.245:4001" in node_yml and "role=kubernetes" in node_yml
    assert "ssh-rsa " in etcd_yml and "ssh-rsa " in node_yml
    # the VMs: etcd first, then three nodes, each from the ISO with its cloud-config, Running
    assert [v["name"] for v in fake.vms] == MACHINES
    for vm in fake.vms:
        assert vm["state"] == "Running" and vm["isoid"] == iso["id"], vm["name"]
        assert vm["serviceofferingname"] == "standard.S4" and vm["zonename"] == "tesla"
        want = etcd_yml if vm["name"] == "k8s-etcd" else node_yml
        # (newlines added by the plugin so the Base64 needs no `=` padding)
        assert fake.userdata[vm["id"]].rstrip("\n") == want.rstrip("\n"), vm["name"]
    seen = fake.commands_seen()
    assert seen.index("registerIso") < seen.index("deployVirtualMachine")
    for name in MACHINES:
        assert re.search(rf"^{name}\s", r.stdout, re.M), r.stdout  # `idcf vms` lists it


def test_idcf_coreos_cluster_for_real_until_the_machines_boot(home, tmp_path):
    """The whole recipe: the machines, the context, then the wait for etcd, which no VM here
    can answer (a closed loopback port stands for the etcd VM): it fails, says how to resume."""
    recipe = RECIPES / "idcf-coreos-cluster.ksh"
    r, fake = run_on_cloudstack(
        home, tmp_path, recipe, "--var=ETCD=http://127.0.0.1:1", "--var=BOOT_TIMEOUT=1"
    )
    assert r.returncode == 124, (r.stdout, r.stderr)
    assert [v["name"] for v in fake.vms] == MACHINES
    lines = recipe.read_text().splitlines()
    at = 1 + next(i for i, t in enumerate(lines) if t.startswith("wait ") and "etcd health" in t)
    assert f"{recipe}:{at}: `wait" in r.stderr and f"{recipe} --from {at}" in r.stderr, r.stderr
    config = yaml.safe_load((home / "config" / "config.yaml").read_text())
    assert config["contexts"]["idcf"]["etcd.endpoint"] == "http://127.0.0.1:1"
