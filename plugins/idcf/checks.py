"""``status`` and ``doctor`` for idcf: where the keys come from, and whether the API answers."""

from __future__ import annotations

import os

from kshell import Check, CommandError, Session

from . import commands, credentials


def configured(session: Session) -> bool:
    """Anything points at IDCF: a setting, a variable or a credentials file."""
    ctx = session.context
    if ctx.get("idcf.region") or ctx.get("idcf.endpoint") or ctx.get("idcf.config"):
        return True
    if any(os.environ.get(v) for v in (credentials.ENV_API_KEY, credentials.ENV_SECRET_KEY)):
        return True
    return any(p.exists() for p in credentials.candidate_files(ctx))


def _fix(message: str) -> str:
    _, sep, fix = message.partition("; run: ")
    return fix if sep else "`idcf credentials` says where each value comes from"


def checks(session: Session) -> list[Check]:
    if not configured(session):
        return []
    try:
        creds = credentials.resolve(session.context)
    except CommandError as e:
        return [Check("credentials", "fail", e.message, _fix(e.message))]
    sources = creds.sources
    out = [Check("credentials", "ok", f"{creds.endpoint} (from {sources.get('endpoint')}); keys "
                 f"from {sources.get('api key')} / {sources.get('secret key')}")]  # fmt: skip
    try:
        zones = commands.client(session, http_timeout=10.0).list("listZones", "zone")
    except CommandError as e:
        out.append(Check("compute API", "fail", e.message,
                         "check the endpoint and the keys (`idcf credentials`)"))  # fmt: skip
        return out
    names = ", ".join(z.get("name", "?") for z in zones) or "none"
    out.append(Check("compute API", "ok", f"{len(zones)} zone(s): {names}"))
    return out


def status(session: Session) -> list[str]:
    if not configured(session):
        return []
    try:
        api = commands.client(session, http_timeout=5.0)
        vms = api.list("listVirtualMachines", "virtualmachine")
    except CommandError as e:
        return [e.message]
    running = sum(1 for v in vms if v.get("state") == "Running")
    return [f"{api.endpoint}: {len(vms)} VM(s), {running} running"]


def context_rows(session: Session) -> list[tuple[str, str, str]]:
    """For ``context``: the effective endpoint and keys, each with its source (masked)."""
    if not configured(session):
        return []
    try:
        creds = credentials.resolve(session.context)
    except CommandError as e:
        return [("idcf credentials", "unusable", e.message)]
    return [
        ("idcf endpoint (in use)", creds.endpoint, creds.sources.get("endpoint", "-")),
        ("idcf api key", creds.api_key_shown, creds.sources.get("api key", "-")),
        ("idcf secret key", "****", creds.sources.get("secret key", "-")),
    ]
