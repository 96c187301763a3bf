"""Where the compute API endpoint and the keys come from, and the checks on them.

Precedence (the legacy tools' own, with kshell's context in front of the files):

- endpoint: ``$IDCF_COMPUTE_HOST`` (the full URL), the context's ``idcf.endpoint``, its
  ``idcf.region``, then the credentials file (``host=`` of ``~/.idcfrc``, ``region=``
  of an idcfcloud-cli profile);
- keys: ``$IDCF_COMPUTE_API_KEY`` / ``$IDCF_COMPUTE_SECRET_KEY``, then the file.

The file is ``idcf.config`` when set, else ``~/.idcfrc`` (``[account]``), else
``~/.idcfcloud/config.ini`` (profile ``idcf.profile`` over ``[default]``). It is read
only when something is still missing, and refused when group or others may read it.
The secret key is never part of a message, a ``repr`` or a source description.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kshell import CommandError

REGIONS = ("jp-east", "jp-east-2", "jp-east-3", "jp-west")
ENV_HOST = "IDCF_COMPUTE_HOST"
ENV_API_KEY = "IDCF_COMPUTE_API_KEY"
ENV_SECRET_KEY = "IDCF_COMPUTE_SECRET_KEY"
IDCFRC = ".idcfrc"
IDCFCLOUD_INI = ".idcfcloud/config.ini"
DEFAULT_PROFILE = "default"

_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{86}")
CONFIG_STATUS = 78  # EX_CONFIG: what kshell answers for a bad configuration


class CredentialsError(CommandError):
    def __init__(self, message: str) -> None:
        super().__init__(message, CONFIG_STATUS)


def region_endpoint(region: str) -> str:
    return f"https://compute.{region}.idcfcloud.com/client/api"


def validate_region(value: str) -> str:
    value = value.strip()
    if value not in REGIONS:
        raise ValueError(f"unknown region `{value}` (one of {', '.join(REGIONS)})")
    return value


def validate_endpoint(value: str) -> str:
    """``https://host/client/api``; a bare host gets https and ``/client/api``."""
    from urllib.parse import urlsplit

    value = value.strip()
    if not value:
        raise ValueError("empty endpoint")
    if "://" not in value:
        if "/" in value:
            raise ValueError(f"`{value}` is neither a host name nor an http(s) URL")
        value = f"https://{value}"
    try:
        url = urlsplit(value)
        url.port  # noqa: B018 -- raises on a bad port
    except ValueError as e:
        raise ValueError(f"`{value}` is not a URL ({e})") from None
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"`{value}` must be an http:// or https:// URL with a host")
    if url.username or url.password or url.query or url.fragment:
        raise ValueError(f"`{value}` must be scheme://host[:port]/path only")
    path = url.path.rstrip("/") or "/client/api"
    return f"{url.scheme}://{url.netloc}{path}"


def validate_profile(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
        raise ValueError(f"`{value}` is not a profile name")
    return value


def validate_config_path(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("empty path")
    return value


@dataclass(frozen=True)
class Credentials:
    endpoint: str
    api_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    sources: Mapping[str, str] = field(default_factory=dict)
    """``endpoint``, ``api key``, ``secret key`` → where each came from."""

    @property
    def api_key_shown(self) -> str:
        return mask_key(self.api_key)


def mask_key(key: str) -> str:
    """The start of an API key, enough to tell two apart (never used for the secret)."""
    return f"{key[:6]}… ({len(key)} characters)" if len(key) > 6 else "****"


def home() -> Path:
    return Path(os.path.expanduser("~"))


@dataclass
class _FileValues:
    path: Path
    kind: str  # "idcfrc" | "idcfcloud"
    values: dict[str, tuple[str, str]]  # key -> (value, "[section] key")


def _shown_path(path: Path) -> str:
    try:
        return "~/" + str(path.relative_to(home()))
    except ValueError:
        return str(path)


def check_permissions(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise CredentialsError(
            f"{_shown_path(path)} holds API keys and is open to group/others (mode {mode:04o}); "
            f"run: chmod 600 {path}"
        )


def candidate_files(context) -> list[Path]:
    explicit = context.get("idcf.config")
    if explicit:
        return [Path(os.path.expanduser(explicit))]
    return [home() / IDCFRC, home() / IDCFCLOUD_INI]


def _read_file(context) -> _FileValues | None:
    import configparser

    files = candidate_files(context)
    path = next((p for p in files if p.exists()), None)
    if path is None:
        if context.get("idcf.config"):
            raise CredentialsError(
                f"{files[0]} (idcf.config) does not exist; `context unset idcf.config` or fix it"
            )
        return None
    check_permissions(path)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, UnicodeDecodeError, configparser.Error) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CredentialsError(f"cannot read {_shown_path(path)}: {first}") from None
    values: dict[str, tuple[str, str]] = {}
    if parser.has_section("account"):  # the legacy ~/.idcfrc
        for key in ("host", "api_key", "secret_key"):
            if parser.get("account", key, fallback=""):
                values[key] = (parser.get("account", key).strip(), f"[account] {key}")
        return _FileValues(path, "idcfrc", values)
    profile = context.get("idcf.profile") or DEFAULT_PROFILE
    sections = [s for s in (DEFAULT_PROFILE, profile) if parser.has_section(s)]
    if profile not in sections:
        known = ", ".join(parser.sections()) or "none"
        raise CredentialsError(
            f"no profile [{profile}] in {_shown_path(path)} (profiles: {known}); "
            "`context set idcf.profile NAME`"
        )
    for section in sections:  # the chosen profile overrides [default]
        for key in ("region", "api_key", "secret_key"):
            value = parser.get(section, key, fallback="").strip()
            if value:
                values[key] = (value, f"[{section}] {key}")
    return _FileValues(path, "idcfcloud", values)


def resolve(context, environ: Mapping[str, str] | None = None) -> Credentials:
    """The endpoint and keys for ``context``, or one-line ``CredentialsError``."""
    env = os.environ if environ is None else environ
    sources: dict[str, str] = {}
    endpoint = _endpoint_from_context(context, sources)
    api_key = env.get(ENV_API_KEY) or None
    secret = env.get(ENV_SECRET_KEY) or None
    if api_key:
        sources["api key"] = f"env {ENV_API_KEY}"
    if secret:
        sources["secret key"] = f"env {ENV_SECRET_KEY}"
    if not (endpoint and api_key and secret):
        found = _read_file(context)
        if found is not None:
            where = _shown_path(found.path)
            vals = found.values
            if not endpoint and "host" in vals:
                origin = f"{where} {vals['host'][1]}"
                endpoint = _checked(validate_endpoint, vals["host"][0], origin)
                sources["endpoint"] = origin
            if not endpoint and "region" in vals:
                origin = f"{where} {vals['region'][1]}"
                region = _checked(validate_region, vals["region"][0], origin)
                endpoint = region_endpoint(region)
                sources["endpoint"] = f"{origin} = {region}"
            if not api_key and "api_key" in vals:
                api_key = vals["api_key"][0]
                sources["api key"] = f"{where} {vals['api_key'][1]}"
            if not secret and "secret_key" in vals:
                secret = vals["secret_key"][0]
                sources["secret key"] = f"{where} {vals['secret_key'][1]}"
    if not endpoint:
        raise CredentialsError(
            "no compute API endpoint: `context set idcf.region jp-east` (or idcf.endpoint URL), "
            f"host= in ~/{IDCFRC}, or ${ENV_HOST}"
        )
    for what, value, env_name in (
        ("API key", api_key, ENV_API_KEY),
        ("secret key", secret, ENV_SECRET_KEY),
    ):
        if not value:
            raise CredentialsError(
                f"no {what}: put it in ~/{IDCFRC} ([account] api_key/secret_key, chmod 600) "
                f"or ~/{IDCFCLOUD_INI}, or set ${env_name}"
            )
        if not _KEY_SHAPE.fullmatch(value):
            origin = sources["api key" if what == "API key" else "secret key"]
            raise CredentialsError(
                f"the {what} from {origin} is not an IDCF key "
                f"(86 characters of A-Z a-z 0-9 _ -; it has {len(value)})"
            )
    assert api_key and secret
    return Credentials(endpoint, api_key, secret, sources)


def _checked(validate, value: str, origin: str) -> str:
    try:
        return validate(value)
    except ValueError as e:
        raise CredentialsError(f"invalid value in {origin}: {e}") from None


def _endpoint_from_context(context, sources: dict[str, str]) -> str | None:
    raw = context.get("idcf.endpoint")
    if raw:
        where = context.source("idcf.endpoint")
        where = where if where.startswith("env ") else "context idcf.endpoint"
        sources["endpoint"] = where
        return _checked(validate_endpoint, raw, where)
    region = context.get("idcf.region")
    if region:
        sources["endpoint"] = f"context idcf.region = {region}"
        return region_endpoint(_checked(validate_region, region, "context idcf.region"))
    return None
