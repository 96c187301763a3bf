"""Every ``idcf`` command against the CloudStack stand-in on loopback, and its errors."""

from __future__ import annotations

import base64
import io
import json

import pytest
from cloudstackfake import CloudStackFake
from idcfshell import Shell, isolate, write_idcfrc

PUB = "ssh-rsa " + base64.b64encode(b"\0\0\0\x07ssh-rsa kshell test key").decode() + " op@work"
CORE_OS = "CoreOS stable 444.5.0"


@pytest.fixture
def fake():
    server = CloudStackFake().start()
    yield server
    server.stop()


@pytest.fixture
def home(monkeypatch, tmp_path, fake):
    home = isolate(monkeypatch, tmp_path)
    for var in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    monkeypatch.setenv("KSHELL_IDCF_POLL_INTERVAL", "0")
    write_idcfrc(home, fake.url)
    (home / "op.pub").write_text(PUB + "\n")
    return home


@pytest.fixture
def shell(home):
    s = Shell()
    yield s
    s.assert_no_keys()


def deploy(fake, shell, name: str, zone: str = "tesla") -> dict:
    shell.ok(f"idcf deploy {name} --template '{CORE_OS}' --offering light.S1 --zone {zone}")
    return fake.vms[-1]


# -- listings ------------------------------------------------------------------------------


def test_zones_offerings_disk_offerings(fake, shell):
    out = shell.ok("idcf zones")
    assert out.splitlines()[0].split() == ["NAME", "NETWORK", "STATE", "ID"]
    assert f"tesla    Advanced  Enabled  {fake.zone('tesla')['id']}" in out
    data = json.loads(shell.ok("idcf zones --json"))
    assert [z["name"] for z in data] == ["tesla", "augusta"]
    out = shell.ok("idcf offerings")
    assert "standard.S4   2     4096 MB" in out
    out = shell.ok("idcf disk-offerings")
    assert "Custom  custom (--size GB)" in out and "100GB   100 GB" in out


def test_templates_and_zone_filter(fake, shell):
    out = shell.ok("idcf templates")
    assert out.count(CORE_OS) == 2
    out = shell.ok("idcf templates --zone augusta")
    assert out.count(CORE_OS) == 1 and "CentOS" not in out
    assert [t["zonename"] for t in json.loads(shell.ok("idcf templates --json"))] == [
        "tesla", "augusta", "tesla"
    ]


def test_isos_own_and_all(fake, shell):
    assert shell.ok("idcf isos").strip() == "NAME  ZONE  READY  STATUS  ID"
    fake.add_iso("coreos-444")
    out = shell.ok("idcf isos")
    assert "coreos-444  tesla  yes    Download Complete" in out


def test_vms_show_name_state_zone_ips(fake, shell):
    deploy(fake, shell, "node1")
    deploy(fake, shell, "node2", zone="augusta")
    shell.ok("idcf stop node2")
    out = shell.ok("idcf vms")
    assert "node1  Running  tesla    10.1.0.10  light.S1" in out
    assert "node2  Stopped  augusta  10.1.0.11  light.S1" in out
    data = json.loads(shell.ok("idcf vms --json"))
    assert data[0] == {"name": "node1", "state": "Running", "zone": "tesla", "ips": ["10.1.0.10"],
                       "id": fake.vm("node1")["id"], "offering": "light.S1"}  # fmt: skip
    assert [v["name"] for v in json.loads(shell.ok("idcf vms --zone augusta --json"))] == ["node2"]


# -- ISO registration ---------------------------------------------------------------------


def test_iso_register_by_url_with_a_tilde_waits_until_ready(fake, shell):
    fake.iso_polls = 3
    url = "http://example.com/~core/coreos_production_iso_image.iso"
    out = shell.ok(f"idcf iso register coreos-444 {url} --zone tesla")
    iso = fake.isos[-1]
    assert (iso["name"], iso["url"], iso["zoneid"]) == ("coreos-444", url, fake.zone("tesla")["id"])
    assert iso["ostypeid"] == next(
        o["id"] for o in fake.ostypes if o["description"] == "Other Linux (64-bit)"
    )
    assert iso["bootable"] is True and iso["isready"] is True
    assert fake.commands_seen().count("listIsos") == 3
    assert out.splitlines() == [
        f"registered ISO coreos-444 ({iso['id']}) in tesla",
        "ISO coreos-444 is ready (Download Complete)",
    ]


def test_iso_register_errors(fake, shell):
    assert "is not an http:// or https:// URL" in shell.fails(
        "idcf iso register x ftp://example.com/x.iso", 2
    )
    assert fake.log == []
    err = shell.fails("idcf iso register x http://example.com/x.iso", 2)
    assert "which zone? (tesla, augusta)" in err
    err = shell.fails("idcf iso register x http://example.com/x.iso --zone tesla --ostype Plan9")
    assert "no OS type named `Plan9`" in err
    err = shell.fails("idcf iso register bad http://mirror.invalid/x.iso --zone tesla")
    assert err == "idcf iso register: ISO bad failed to download: Failed to download: Unknown host"


def test_iso_register_zone_from_the_context(fake, shell):
    shell.ok("context set idcf.zone augusta")
    shell.ok("idcf iso register y http://example.com/y.iso --no-wait")
    assert fake.isos[-1]["zonename"] == "augusta" and fake.isos[-1]["isready"] is False


# -- deploy -------------------------------------------------------------------------------


def test_an_iso_deploy_without_a_disk_offering_is_refused_before_any_call(fake, shell):
    fake.add_iso("coreos")
    err = shell.fails("idcf deploy etcd --iso coreos --offering light.S1 --zone tesla", 2)
    assert err == ("idcf deploy: an ISO deploy needs --disk-offering for the root disk "
                   "(`idcf disk-offerings` lists them)")  # fmt: skip
    assert fake.log == []


def test_deploy_from_an_iso_prints_the_vm_and_its_address(fake, shell):
    iso = fake.add_iso("coreos")
    out = shell.ok("idcf deploy etcd --iso coreos --offering light.S1 --disk-offering 100GB "
                   "--zone tesla")  # fmt: skip
    vm = fake.vm("etcd")
    assert vm["isoid"] == iso["id"] and vm["state"] == "Running"
    sent = next(p for _, c, p in fake.log if c == "deployVirtualMachine")
    assert sent["diskofferingid"] == fake.disk_offerings[1]["id"]
    assert sent["hypervisor"] == "VMware"
    assert out.splitlines()[-1] == "etcd  Running  10.1.0.10"
    assert fake.commands_seen().count("queryAsyncJobResult") == fake.job_polls + 1


def test_deploy_accepts_ids_and_a_custom_disk_needs_a_size(fake, shell):
    iso = fake.add_iso("coreos")
    custom = fake.disk_offerings[0]
    err = shell.fails(f"idcf deploy e --iso {iso['id']} --offering light.S1 "
                      f"--disk-offering {custom['id']} --zone tesla", 2)  # fmt: skip
    assert "disk offering Custom has a custom size: pass --size GB" in err
    shell.ok(f"idcf deploy e --iso {iso['id']} --offering {fake.offerings[0]['id']} "
             f"--disk-offering Custom --size 40 --zone {fake.zone('tesla')['id']}")  # fmt: skip
    assert fake.vm("e")["state"] == "Running"


def test_an_ambiguous_name_lists_the_matches(fake, shell):
    a = fake.add_iso("coreos")
    b = fake.add_iso("coreos")
    err = shell.fails("idcf deploy e --iso coreos --offering light.S1 --disk-offering 100GB "
                      "--zone tesla")  # fmt: skip
    assert err.startswith("idcf deploy: 2 ISOs are named `coreos`: ")
    assert a["id"] in err and b["id"] in err and err.endswith("give the id instead")
    assert "deployVirtualMachine" not in fake.commands_seen()
    err = shell.fails("idcf deploy e --template CoreOS --offering light.S1 --zone tesla")
    assert err == (f"idcf deploy: no template named `CoreOS`; did you mean: {CORE_OS}? "
                   "(`idcf templates` lists them)")  # fmt: skip


def test_deploy_with_cloud_config_userdata_and_a_keypair(fake, shell, home):
    shell.ok(f"idcf keypair register op {home / 'op.pub'}")
    shell.ok(f"idcf cloud-config node --etcd http://10.1.1.245:4001 --ssh-key {home / 'op.pub'} "
             f"--out {home / 'node.yml'}")  # fmt: skip
    text = (home / "node.yml").read_text()
    shell.ok(f"idcf deploy node1 --template '{CORE_OS}' --offering light.S1 --zone tesla "
             f"--userdata {home / 'node.yml'} --keypair op")  # fmt: skip
    method, _, sent = next(e for e in fake.log if e[1] == "deployVirtualMachine")
    assert method == "POST" and sent["keypair"] == "op"
    assert "=" not in sent["userdata"] and "\n" not in sent["userdata"]
    got = fake.userdata[fake.vm("node1")["id"]]
    assert got.rstrip("\n") == text.rstrip("\n") and len(got.encode()) % 3 == 0
    assert base64.b64decode(sent["userdata"]).decode() == got


def test_userdata_errors_are_caught_before_the_api(fake, shell, home):
    (home / "big.yml").write_text("#cloud-config\nwrite_files: []\n" + "#" * 30000 + "\n")
    err = shell.fails(f"idcf deploy n --template x --offering o --userdata {home / 'big.yml'}", 2)
    assert "bytes in Base64; the API takes at most 32768 (32 KB)" in err
    (home / "bad.yml").write_text("#cloud-config\ncoreos: [unclosed\n")
    err = shell.fails(f"idcf deploy n --template x --offering o --userdata {home / 'bad.yml'}", 2)
    assert err.endswith("bad.yml is not valid YAML (line 3); fix it first")
    err = shell.fails(f"idcf deploy n --template x --offering o --userdata {home / 'none'}", 2)
    assert "cannot read userdata" in err and "No such file" in err
    assert fake.log == []


def test_deploy_failures_from_the_api(fake, shell):
    err = shell.fails(f"idcf deploy big --template '{CORE_OS}' --offering highmem.L128 "
                      "--zone tesla")  # fmt: skip
    assert err == ("idcf deploy: deploy big: insufficient capacity (533): Unable to create a "
                   "deployment for VM[User|big]")  # fmt: skip
    fake.vm_limit = 1
    err = shell.fails(f"idcf deploy n2 --template '{CORE_OS}' --offering light.S1 --zone tesla")
    assert "quota exceeded (532): Maximum number of resources of type 'user_vm'" in err
    assert "free resources or ask IDCF to raise the limit" in err
    err = shell.fails(f"idcf deploy n --template '{CORE_OS}' --offering light.S1 --zone tesla "
                      "--keypair nokey")  # fmt: skip
    assert err.startswith("idcf deploy: no key pair named `nokey`")


# -- VM actions -----------------------------------------------------------------------------


def test_stop_start_reboot_by_name_or_id(fake, shell):
    vm = deploy(fake, shell, "node1")
    assert shell.ok("idcf stop node1") == "node1: Stopped\n"
    assert vm["state"] == "Stopped"
    assert shell.ok(f"idcf start {vm['id']}") == "node1: Running\n"
    assert shell.ok("idcf reboot node1") == "node1: Running\n"
    err = shell.fails("idcf start node1")
    assert "VM node1 is Running; StartVM needs it Stopped" in err
    err = shell.fails("idcf stop nosuch")
    assert err == "idcf stop: no VM named `nosuch` (`idcf vms` lists them)"


def test_destroy_refuses_without_a_terminal_and_yes_skips_the_question(fake, shell):
    vm = deploy(fake, shell, "node1")
    err = shell.fails("idcf destroy node1", 2)
    assert err == "idcf destroy: refusing to destroy node1 without --yes (no terminal to ask)"
    assert vm["state"] == "Running" and "destroyVirtualMachine" not in fake.commands_seen()
    assert shell.ok("idcf destroy node1 --yes") == "node1: Destroyed\n"
    assert vm["state"] == "Destroyed"
    assert "node1" not in shell.ok("idcf vms")


def test_destroy_asks_on_a_terminal(fake, home, monkeypatch):
    s = Shell(interactive=True)
    deploy(fake, s, "node1")
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    status, out, _ = s.run("idcf destroy node1")
    assert status == 1 and "not destroyed" in out and fake.vm("node1")["state"] == "Running"
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert s.ok("idcf destroy node1") == "node1: Destroyed\n"


def test_ambiguous_vm_names(fake, shell):
    a = deploy(fake, shell, "web")
    b = deploy(fake, shell, "web", zone="augusta")
    err = shell.fails("idcf stop web")
    assert err.startswith("idcf stop: 2 VMs are named `web`: ")
    assert f"web ({a['id']}, zone tesla, Running)" in err and b["id"] in err
    shell.ok(f"idcf stop {b['id']}")
    assert (a["state"], b["state"]) == ("Running", "Stopped")


# -- public addresses and port forwarding ---------------------------------------------------


def test_forward_opens_the_firewall_and_forwards_on_the_zones_address(fake, shell):
    vm = deploy(fake, shell, "etcd")
    out = shell.ok("idcf forward etcd 22 --public-port 2222 --cidr 192.0.2.0/24")
    assert out.splitlines() == [
        "203.0.113.10:2222 -> etcd:22 (tcp, from 192.0.2.0/24)",
        "ssh -p 2222 core@203.0.113.10",
    ]
    [fw] = fake.firewall_rules
    assert (fw["protocol"], fw["startport"], fw["endport"], fw["cidrlist"]) == (
        "tcp", 2222, 2222, "192.0.2.0/24"
    )
    [pf] = fake.pf_rules
    assert (pf["publicport"], pf["privateport"], pf["virtualmachineid"]) == ("2222", "22", vm["id"])
    sent = next(p for _, c, p in fake.log if c == "createPortForwardingRule")
    assert sent["openfirewall"] == "false"
    out = shell.ok("idcf ips")
    assert "203.0.113.10   tesla    yes        -          2222->etcd:22" in out
    err = shell.fails("idcf forward etcd 22 --public-port 2222 --cidr 192.0.2.0/24")
    assert "network rule conflict (537): The range specified, 2222-2222, conflicts" in err
    assert err.endswith("--public-port picks another port")
    assert len(fake.firewall_rules) == 1  # the covering rule was reused, not duplicated


def test_forward_defaults_and_errors(fake, shell):
    deploy(fake, shell, "web", zone="augusta")
    out = shell.ok("idcf forward web 80")
    assert out == "198.51.100.20:80 -> web:80 (tcp, from 0.0.0.0/0)\n"
    assert "70000 is not a port" in shell.fails("idcf forward web 22 --public-port 70000", 2)


# -- key pairs --------------------------------------------------------------------------------


def test_keypair_register_and_list(fake, shell, home):
    assert shell.ok("idcf keypair list").strip() == "NAME  FINGERPRINT"
    out = shell.ok(f"idcf keypair register op {home / 'op.pub'}")
    fp = fake.keypairs[0]["fingerprint"]
    assert out == f"registered key pair op ({fp})\n"
    assert shell.ok("idcf keypair list").splitlines()[1].split() == ["op", fp]
    assert json.loads(shell.ok("idcf keypair list --json")) == [{"name": "op", "fingerprint": fp}]
    err = shell.fails(f"idcf keypair register op {home / 'op.pub'}")
    assert "A key pair with name 'op' already exists." in err
    (home / "id_rsa").write_text("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n")
    err = shell.fails(f"idcf keypair register k2 {home / 'id_rsa'}", 2)
    assert err.endswith("is a private key; pass the public one (" + str(home / "id_rsa") + ".pub)")


# -- transport and account errors ----------------------------------------------------------------


def test_wrong_keys_unreachable_and_not_cloudstack_are_one_line(fake, shell, home, monkeypatch):
    monkeypatch.setenv("IDCF_COMPUTE_SECRET_KEY", "z" * 86)
    err = shell.fails("idcf zones")
    assert err == ("idcf zones: listZones: the API refused the keys (401): unable to verify user "
                   "credentials and/or request signature; check the keys (`idcf credentials` says "
                   "where they come from)")  # fmt: skip
    assert "z" * 86 not in err
    monkeypatch.delenv("IDCF_COMPUTE_SECRET_KEY")
    fake.mode = "html"
    err = shell.fails("idcf vms", 69)
    assert "did not answer like a CloudStack API (HTTP 502, text/html)" in err
    fake.stop()
    err = shell.fails("idcf vms", 69)
    assert err.startswith(f"idcf vms: cannot reach the compute API at {fake.url} (")


def test_status_and_doctor(fake, shell, home):
    deploy(fake, shell, "node1")
    out = shell.ok("status")
    assert f"idcf: {fake.url}: 1 VM(s), 1 running" in out
    out = shell.ok("doctor")
    assert f"[ok  ] idcf: credentials: {fake.url} (from ~/.idcfrc [account] host)" in out
    assert "[ok  ] idcf: compute API: 2 zone(s): tesla, augusta" in out
    (home / ".idcfrc").chmod(0o644)
    status, out, _ = shell.run("doctor")
    assert status == 1
    assert "[FAIL] idcf: credentials: ~/.idcfrc holds API keys and is open to group/others" in out
    assert f"fix: chmod 600 {home / '.idcfrc'}" in out


def test_nothing_configured_keeps_status_and_doctor_quiet(monkeypatch, tmp_path):
    isolate(monkeypatch, tmp_path)
    s = Shell()
    assert "idcf" not in s.ok("status") and "idcf" not in s.ok("doctor")
    err = s.fails("idcf zones", 78)
    assert err.startswith("idcf zones: no compute API endpoint")


def test_job_command(fake, shell):
    deploy(fake, shell, "n")
    jobid = next(iter(fake.jobs))
    out = shell.ok(f"idcf job {jobid}")
    assert out.startswith(f"job {jobid}: succeeded (org.apache.cloudstack.api.command.user.vm.")
    assert '"state": "Running"' in out


def test_a_dry_run_checks_arguments_and_sends_nothing_that_changes(fake, shell, home):
    shell.session.dry_run = True
    fake.add_iso("coreos")
    assert "needs --disk-offering" in shell.fails("idcf deploy e --iso coreos --offering o", 2)
    for line, said in (
        ("idcf deploy e --iso coreos --offering o --disk-offering d", "deploy e"),
        ("idcf iso register x http://e.com/x.iso", "register ISO x from http://e.com/x.iso"),
        ("idcf destroy web", "destroy web"),
        ("idcf forward web 22 --public-port 2201", "forward port 2201 to web:22"),
        (f"idcf keypair register op {home / 'op.pub'}", "register key pair op"),
    ):
        assert shell.ok(line) == f"dry run: would {said} (nothing sent to the API)\n"
    assert fake.log == []


def test_a_dry_run_without_an_endpoint_stops_where_a_real_run_would(fake, shell, home):
    # Writes said "would deploy" without keys, then the first read failed, lines later.
    (home / ".idcfrc").unlink()
    shell.session.dry_run = True
    for line in ("idcf deploy e --template x --offering o", "idcf destroy web", "idcf vms"):
        assert shell.fails(line, 78).endswith("or $IDCF_COMPUTE_HOST"), line
    assert fake.log == []


def test_a_template_by_id_and_a_key_pair_by_fingerprint(fake, shell, home):
    shell.ok(f"idcf keypair register op {home / 'op.pub'}")
    tpl = fake.templates[2]
    shell.ok(f"idcf deploy c1 --template {tpl['id']} --offering highcpu.M4 --zone tesla "
             f"--keypair {fake.keypairs[0]['fingerprint']}")  # fmt: skip
    vm = fake.vm("c1")
    assert (vm["templateid"], vm["keypair"], vm["serviceofferingname"]) == (
        tpl["id"], "op", "highcpu.M4"
    )


def test_a_bad_poll_interval_is_one_line(fake, shell, monkeypatch):
    monkeypatch.setenv("KSHELL_IDCF_POLL_INTERVAL", "soon")
    err = shell.fails("idcf vms", 2)
    assert err == "idcf vms: $KSHELL_IDCF_POLL_INTERVAL='soon' is not a number of seconds"
    for endless in ("nan", "inf", "3601"):
        monkeypatch.setenv("KSHELL_IDCF_POLL_INTERVAL", endless)
        err = shell.fails("idcf vms", 2)
        expected = f"$KSHELL_IDCF_POLL_INTERVAL='{endless}': poll at least once an hour"
        assert err == f"idcf vms: {expected}"
