"""Where the endpoint and keys come from: variables, context, ~/.idcfrc, idcfcloud profiles."""

from __future__ import annotations

import os

import pytest
from cloudstackfake import API_KEY, SECRET_KEY
from idcfshell import Shell, isolate, write_idcfcloud, write_idcfrc
from kshell_plugins.idcf import credentials
from kshell_plugins.idcf.credentials import CredentialsError, resolve

OTHER_KEY = "A" * 86
OTHER_SECRET = "b" * 86


@pytest.fixture
def home(monkeypatch, tmp_path):
    return isolate(monkeypatch, tmp_path)


def ctx(*settings: str):
    shell = Shell()
    for line in settings:
        shell.ok(f"context set {line}")
    return shell.session.context


def test_legacy_idcfrc_gives_all_three(home):
    write_idcfrc(home, "compute.jp-east.idcfcloud.com")
    c = resolve(ctx())
    assert c.endpoint == "https://compute.jp-east.idcfcloud.com/client/api"
    assert (c.api_key, c.secret_key) == (API_KEY, SECRET_KEY)
    assert c.sources == {
        "endpoint": "~/.idcfrc [account] host",
        "api key": "~/.idcfrc [account] api_key",
        "secret key": "~/.idcfrc [account] secret_key",
    }


def test_variables_override_the_file_one_by_one(home, monkeypatch):
    write_idcfrc(home, "https://compute.jp-west.idcfcloud.com/client/api")
    monkeypatch.setenv("IDCF_COMPUTE_API_KEY", OTHER_KEY)
    c = resolve(ctx())
    assert (c.api_key, c.secret_key) == (OTHER_KEY, SECRET_KEY)
    assert c.sources["api key"] == "env IDCF_COMPUTE_API_KEY"
    assert c.sources["secret key"] == "~/.idcfrc [account] secret_key"
    monkeypatch.setenv("IDCF_COMPUTE_SECRET_KEY", OTHER_SECRET)
    monkeypatch.setenv("IDCF_COMPUTE_HOST", "https://cloud.example.com/client/api")
    c = resolve(ctx())
    assert c.endpoint == "https://cloud.example.com/client/api"
    assert c.sources == {"endpoint": "env IDCF_COMPUTE_HOST", "api key":
                         "env IDCF_COMPUTE_API_KEY", "secret key": "env IDCF_COMPUTE_SECRET_KEY"}


def test_variables_alone_need_no_file_even_an_open_one(home, monkeypatch):
    write_idcfrc(home, "x.example.com", mode=0o644)
    monkeypatch.setenv("IDCF_COMPUTE_HOST", "https://cloud.example.com/client/api")
    monkeypatch.setenv("IDCF_COMPUTE_API_KEY", OTHER_KEY)
    monkeypatch.setenv("IDCF_COMPUTE_SECRET_KEY", OTHER_SECRET)
    assert resolve(ctx()).api_key == OTHER_KEY


def test_context_region_and_endpoint_come_before_the_file(home, monkeypatch):
    write_idcfrc(home, "compute.jp-east.idcfcloud.com")
    c = resolve(ctx("idcf.region jp-east-3"))
    assert c.endpoint == "https://compute.jp-east-3.idcfcloud.com/client/api"
    assert c.sources["endpoint"] == "context idcf.region = jp-east-3"
    c = resolve(ctx("idcf.endpoint https://cloud.example.com:8443"))
    assert c.endpoint == "https://cloud.example.com:8443/client/api"
    assert c.sources["endpoint"] == "context idcf.endpoint"
    monkeypatch.setenv("IDCF_COMPUTE_HOST", "https://env.example.com/client/api")
    assert resolve(ctx()).sources["endpoint"] == "env IDCF_COMPUTE_HOST"


def test_idcfcloud_profile_over_default(home):
    write_idcfcloud(
        home,
        f"[default]\napi_key={API_KEY}\nsecret_key={SECRET_KEY}\nregion=jp-east\n\n"
        f"[west]\nregion=jp-west\napi_key={OTHER_KEY}\n",
    )
    c = resolve(ctx())
    assert c.endpoint == "https://compute.jp-east.idcfcloud.com/client/api"
    assert c.sources["endpoint"] == "~/.idcfcloud/config.ini [default] region = jp-east"
    c = resolve(ctx("idcf.profile west"))
    assert c.endpoint == "https://compute.jp-west.idcfcloud.com/client/api"
    assert c.api_key == OTHER_KEY and c.secret_key == SECRET_KEY
    assert c.sources["api key"] == "~/.idcfcloud/config.ini [west] api_key"
    assert c.sources["secret key"] == "~/.idcfcloud/config.ini [default] secret_key"
    with pytest.raises(CredentialsError) as e:
        resolve(ctx("idcf.profile prod"))
    assert e.value.message == (
        "no profile [prod] in ~/.idcfcloud/config.ini (profiles: default, west); "
        "`context set idcf.profile NAME`"
    )


def test_idcfrc_comes_before_idcfcloud_and_idcf_config_picks_a_file(home, tmp_path):
    write_idcfrc(home, "compute.jp-west.idcfcloud.com")
    write_idcfcloud(home, f"[default]\napi_key={OTHER_KEY}\nsecret_key={OTHER_SECRET}\n"
                          "region=jp-east\n")  # fmt: skip
    assert resolve(ctx()).api_key == API_KEY
    chosen = str(home / ".idcfcloud" / "config.ini")
    assert resolve(ctx(f"idcf.config {chosen}")).api_key == OTHER_KEY
    with pytest.raises(CredentialsError) as e:
        resolve(ctx(f"idcf.config {tmp_path}/nope.ini"))
    assert "nope.ini (idcf.config) does not exist" in e.value.message


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_open_to_others_is_refused_with_the_chmod_to_run(home, mode):
    path = write_idcfrc(home, "compute.jp-east.idcfcloud.com", mode=mode)
    with pytest.raises(CredentialsError) as e:
        resolve(ctx())
    assert e.value.status == 78
    assert e.value.message.endswith(f"; run: chmod 600 {path}")
    assert f"(mode {mode:04o})" in e.value.message
    os.chmod(path, 0o600)
    assert resolve(ctx()).api_key == API_KEY


def test_keys_of_the_wrong_shape_are_refused_without_being_shown(home):
    write_idcfrc(home, "compute.jp-east.idcfcloud.com", secret="s3cr3t-too-short")
    with pytest.raises(CredentialsError) as e:
        resolve(ctx())
    assert e.value.message == (
        "the secret key from ~/.idcfrc [account] secret_key is not an IDCF key "
        "(86 characters of A-Z a-z 0-9 _ -; it has 16)"
    )


def test_nothing_configured_says_what_to_do(home):
    with pytest.raises(CredentialsError) as e:
        resolve(ctx())
    assert e.value.message.startswith("no compute API endpoint: `context set idcf.region")
    write_idcfcloud(home, "[default]\nregion=jp-east\n")
    with pytest.raises(CredentialsError) as e:
        resolve(ctx())
    assert e.value.message.startswith("no API key: put it in ~/.idcfrc")


def test_bad_values_are_refused(home):
    shell = Shell()
    err = shell.fails("context set idcf.region jp-south", 2)
    assert "invalid idcf.region: must be one of: jp-east, jp-east-2, jp-east-3, jp-west" in err
    assert "must be an http:// or https:// URL" in shell.fails(
        "context set idcf.endpoint ftp://x.example.com", 2
    )
    assert "must be a number of seconds" in shell.fails("context set idcf.timeout soon", 2)
    assert "must be more than 0 seconds" in shell.fails("context set idcf.timeout 0", 2)
    assert "must be more than 0 seconds" in shell.fails("context set idcf.timeout nan", 2)
    for endless in ("inf", "1e999", "86401"):
        err = shell.fails(f"context set idcf.timeout {endless}", 2)
        assert "must be at most 86400 seconds (a day)" in err
    shell.ok("context set idcf.timeout 90.0")
    assert shell.session.context.get("idcf.timeout") == "90"
    write_idcfcloud(home, f"[default]\nregion=us-east\napi_key={API_KEY}\nsecret_key={SECRET_KEY}")
    with pytest.raises(CredentialsError) as e:
        resolve(ctx())
    assert "invalid value in ~/.idcfcloud/config.ini [default] region" in e.value.message


def test_endpoint_normalisation():
    v = credentials.validate_endpoint
    assert v("compute.jp-east.idcfcloud.com") == "https://compute.jp-east.idcfcloud.com/client/api"
    assert v("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/client/api"
    assert v("https://h/portal/client/api") == "https://h/portal/client/api"
    for bad in ("https://u:p@h/client/api", "h/x", "https://h/client/api?x=1"):
        with pytest.raises(ValueError):
            v(bad)


def test_credentials_command_and_context_show_sources_never_the_secret(home, monkeypatch):
    write_idcfrc(home, "compute.jp-east.idcfcloud.com")
    monkeypatch.setenv("IDCF_COMPUTE_HOST", "https://env.example.com/client/api")
    shell = Shell()
    out = shell.ok("idcf credentials")
    assert "https://env.example.com/client/api  env IDCF_COMPUTE_HOST" in out
    assert f"{API_KEY[:6]}… (86 characters)" in out
    assert "~/.idcfrc [account] api_key" in out
    assert "**** (set)" in out and "~/.idcfrc [account] secret_key" in out
    out = shell.ok("context")
    rows = {line.split("  ")[0]: line for line in out.splitlines()}
    assert rows["idcf.endpoint"].split() == [
        "idcf.endpoint", "https://env.example.com/client/api", "env", "IDCF_COMPUTE_HOST"
    ]
    assert rows["idcf endpoint (in use)"].split()[-3:] == [
        "https://env.example.com/client/api", "env", "IDCF_COMPUTE_HOST"
    ]
    assert rows["idcf api key"].split()[3:] == [
        f"{API_KEY[:6]}…", "(86", "characters)", "~/.idcfrc", "[account]", "api_key"
    ]
    assert rows["idcf secret key"].split() == [
        "idcf", "secret", "key", "****", "~/.idcfrc", "[account]", "secret_key"
    ]
    shown = repr(resolve(shell.session.context))
    assert API_KEY not in shown and SECRET_KEY not in shown
    (home / ".idcfrc").chmod(0o604)
    out = shell.ok("context")
    [line] = [x for x in out.splitlines() if x.startswith("idcf credentials")]
    assert line.split()[2:5] == ["unusable", "~/.idcfrc", "holds"]
    assert line.endswith(f"run: chmod 600 {home / '.idcfrc'}")
    shell.assert_no_keys()


def test_an_open_file_is_one_line_for_every_command(home):
    path = write_idcfrc(home, "compute.jp-east.idcfcloud.com", mode=0o644)
    shell = Shell()
    for line in ("idcf zones", "idcf vms", "idcf credentials"):
        err = shell.fails(line, 78)
        assert err.endswith(f"run: chmod 600 {path}")
    shell.assert_no_keys()


def test_the_plugins_own_copies_of_the_regions_and_host_variable_agree():
    # __init__ keeps them so that loading the plugin does not import .credentials
    import kshell_plugins.idcf as idcf
    from kshell_plugins.idcf import credentials

    assert (idcf.REGIONS, idcf.ENV_HOST) == (credentials.REGIONS, credentials.ENV_HOST)
    assert credentials.DEFAULT_PROFILE == "default"
