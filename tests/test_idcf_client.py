"""The CloudStack client against the stand-in on loopback: paging, jobs, errors, POST."""

from __future__ import annotations

import socket

import pytest
from cloudstackfake import API_KEY, SECRET_KEY, CloudStackFake
from kshell_plugins.idcf.client import ApiError, Client, JobTimeout, NotCloudStack, Unreachable


class FakeTime:
    """An injected clock: ``sleep`` advances it, nothing really waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake():
    server = CloudStackFake().start()
    yield server
    server.stop()


def make(fake, secret: str = SECRET_KEY, **kw) -> tuple[Client, FakeTime]:
    t = FakeTime()
    kw.setdefault("poll_interval", 2.0)
    return Client(fake.url, API_KEY, secret, sleep=t.sleep, clock=t.clock, **kw), t


def no_secrets(text: str) -> None:
    for secret in (SECRET_KEY, API_KEY, "signature=", "apikey="):
        assert secret not in text


def test_pages_are_gathered_until_count(fake):
    fake.page_cap = 2
    for n in range(5):
        fake.add_iso(f"iso{n}")
    api, _ = make(fake)
    found = api.list("listIsos", "iso", isofilter="self")
    assert [i["name"] for i in found] == [f"iso{n}" for n in range(5)]
    pages = [p["page"] for m, c, p in fake.log if c == "listIsos"]
    assert pages == ["1", "2", "3"]


def test_an_empty_list_is_an_empty_envelope(fake):
    api, _ = make(fake)
    assert api.call("listSSHKeyPairs") == {}
    assert api.list("listSSHKeyPairs", "sshkeypair") == []


def test_bad_keys_are_one_line_with_the_apis_text_and_no_secret(fake):
    api, _ = make(fake, secret="x" * 86)
    with pytest.raises(ApiError) as e:
        api.call("listZones")
    assert e.value.code == 401
    assert e.value.message.startswith(
        "listZones: the API refused the keys (401): unable to verify user credentials and/or "
        "request signature"
    )
    assert "\n" not in e.value.message
    no_secrets(e.value.message)
    assert "x" * 86 not in e.value.message


def test_missing_parameter_and_not_found_and_unknown_command(fake):
    api, _ = make(fake)
    with pytest.raises(ApiError) as e:
        api.call("listTemplates")
    assert (e.value.code, e.value.text) == (
        431, "Unable to execute API command listtemplates due to missing parameter templatefilter"
    )
    with pytest.raises(ApiError) as e:
        api.call("startVirtualMachine", id="0b9e8a1c-no-such-vm")
    assert e.value.code == 431 and "entity does not exist" in e.value.text
    assert "parameter error (431)" in e.value.message
    with pytest.raises(ApiError) as e:
        api.call("launchRockets")
    assert e.value.code == 432 and "not available to this account" in e.value.message


def test_quota_is_reported_with_the_apis_text(fake):
    fake.vm_limit = 1
    api, _ = make(fake)
    zone, tpl = fake.zone("tesla"), fake.templates[0]
    args = {"zoneid": zone["id"], "templateid": tpl["id"],
            "serviceofferingid": fake.offerings[0]["id"]}  # fmt: skip
    api.run_async("deployVirtualMachine", "deploy", name="a", **args)
    with pytest.raises(ApiError) as e:
        api.run_async("deployVirtualMachine", "deploy", name="b", **args)
    assert e.value.code == 532
    assert "quota exceeded (532): Maximum number of resources of type 'user_vm'" in e.value.message


def test_unreachable_endpoint_is_one_line_without_the_signed_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = Client(f"http://127.0.0.1:{port}/client/api", API_KEY, SECRET_KEY, timeout=2)
    with pytest.raises(Unreachable) as e:
        api.call("listZones", keyword="x")
    assert e.value.status == 69
    assert e.value.message == (
        f"cannot reach the compute API at http://127.0.0.1:{port}/client/api (connection "
        "refused); check the network and `idcf credentials`"
    )


def test_a_non_cloudstack_answer_is_said_so(fake):
    fake.mode = "html"
    api, _ = make(fake)
    with pytest.raises(NotCloudStack) as e:
        api.call("listZones")
    assert "did not answer like a CloudStack API (HTTP 502, text/html)" in e.value.message
    no_secrets(e.value.message)


def test_rate_limit_is_retried_after_a_pause(fake):
    fake.rate_limited = 2
    api, t = make(fake)
    assert len(api.list("listZones", "zone")) == 2
    assert t.sleeps == [2.0, 4.0]


def test_userdata_goes_by_post_and_the_rest_by_get(fake):
    api, _ = make(fake)
    zone, tpl = fake.zone("tesla"), fake.templates[0]
    api.run_async("deployVirtualMachine", "deploy", name="u", zoneid=zone["id"],
                  templateid=tpl["id"], serviceofferingid=fake.offerings[0]["id"],
                  userdata="I2Nsb3VkLWNvbmZpZwoK")  # fmt: skip
    methods = {c: m for m, c, _ in fake.log}
    assert methods["deployVirtualMachine"] == "POST"
    assert methods["queryAsyncJobResult"] == "GET"
    assert fake.userdata[fake.vm("u")["id"]] == "#cloud-config\n\n"


def test_a_job_is_polled_until_it_succeeds(fake):
    api, t = make(fake, poll_interval=5.0)
    zone, tpl = fake.zone("tesla"), fake.templates[0]
    fake.job_polls = 0
    api.run_async("deployVirtualMachine", "deploy", name="j", zoneid=zone["id"],
                  templateid=tpl["id"], serviceofferingid=fake.offerings[0]["id"])  # fmt: skip
    fake.job_polls = 3
    t.sleeps.clear()
    fake.log.clear()
    result = api.run_async("stopVirtualMachine", "stop j", id=fake.vm("j")["id"])
    assert result["virtualmachine"]["state"] == "Stopped"
    assert fake.commands_seen() == ["stopVirtualMachine"] + ["queryAsyncJobResult"] * 4
    assert t.sleeps == [5.0, 5.0, 5.0]


def test_a_failed_job_raises_its_error(fake):
    api, _ = make(fake)
    zone, tpl = fake.zone("tesla"), fake.templates[0]
    with pytest.raises(ApiError) as e:
        api.run_async("deployVirtualMachine", "deploy big", name="big", zoneid=zone["id"],
                      templateid=tpl["id"], serviceofferingid=fake.offerings[-1]["id"])  # fmt: skip
    assert e.value.message == (
        "deploy big: insufficient capacity (533): Unable to create a deployment for VM[User|big]"
    )
    assert fake.vm("big")["state"] == "Error"


def test_a_job_that_never_ends_times_out_with_its_id(fake):
    fake.job_polls = 10_000
    api, t = make(fake, poll_interval=3.0, job_timeout=30.0)
    zone, tpl = fake.zone("tesla"), fake.templates[0]
    started = api.call("deployVirtualMachine", name="slow", zoneid=zone["id"],
                       templateid=tpl["id"], serviceofferingid=fake.offerings[0]["id"])  # fmt: skip
    with pytest.raises(JobTimeout) as e:
        api.wait(started["jobid"], "deploy slow")
    assert e.value.status == 124
    assert started["jobid"] in e.value.message and "after 30s" in e.value.message
    assert t.now == 30.0 and len(t.sleeps) == 10


def test_repr_holds_no_keys(fake):
    api, _ = make(fake)
    no_secrets(repr(api))


def test_an_iso_that_never_gets_ready_times_out_with_its_last_status(fake, monkeypatch, tmp_path):
    from idcfshell import Shell, isolate
    from kshell_plugins.idcf import commands

    from kshell import CommandError

    isolate(monkeypatch, tmp_path)
    api, t = make(fake, poll_interval=10.0, job_timeout=60.0)
    seen = []

    def status() -> str:
        seen.append(t.now)
        return "42% Downloaded"

    with pytest.raises(CommandError) as e:
        commands._wait_until(Shell().session, api, "ISO x downloading", status)
    assert e.value.status == 124
    assert e.value.message == ("ISO x downloading: not done after 60s (last status: 42% "
                               "Downloaded); raise idcf.timeout or look again later")  # fmt: skip
    assert seen == [0, 10, 20, 30, 40, 50, 60]


def test_ctrl_c_while_waiting_leaves_the_job_and_says_so(fake, monkeypatch, tmp_path):
    from idcfshell import Shell, isolate
    from kshell_plugins.idcf import commands

    from kshell import CommandError

    isolate(monkeypatch, tmp_path)
    api, _ = make(fake)

    def interrupted(jobid: str, what: str):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "wait", interrupted)
    with pytest.raises(CommandError) as e:
        commands._wait(Shell().session, api, "j-1", "deploy n", "deploying n")
    assert e.value.status == 130
    assert e.value.message == "interrupted; deploy n goes on in the cloud (`idcf job j-1` shows it)"
