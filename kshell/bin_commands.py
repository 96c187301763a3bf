"""The ``bin …`` commands: list, install, verify, locate, override and remove pinned tools.

A plugin module like any other (``kshell_commands``); the installer does the work
(:mod:`kshell.install`). Handlers use ``session.host.tools`` (every plugin's
:class:`kshell.Tool`), ``session.config`` (``binaries``, ``mirror``) and
``session.update_config``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from typing import Any

from kshell import Command, CommandError, Tool, format_table, hookimpl


def _tools(session: Any) -> Mapping[str, Tool]:
    return session.host.tools


def _binaries(session: Any) -> dict[str, str]:
    return dict(getattr(session.config, "binaries", None) or {})


def _mirror(session: Any) -> str | None:
    return getattr(session.config, "mirror", None)


def _tool(session: Any, name: str) -> Tool:
    tools = _tools(session)
    if name not in tools and hasattr(session.host, "tool"):
        session.host.tool(name)  # says so when a plugin that may pin it failed to load
    if name not in tools:
        known = ", ".join(sorted(tools)) or "none"
        raise CommandError(f"unknown tool {name!r} (known: {known})", 2)
    return tools[name]


def _complete_names(session: Any, prefix: str) -> list[str]:
    return sorted(n for n in _tools(session) if n.startswith(prefix))


def _dry(session: Any, text: str) -> bool:
    """In a dry run, say what would be done (``(dry run) …``) and return True: do nothing."""
    if not getattr(session, "dry_run", False):
        return False
    session.echo(f"(dry run) {text}")
    return True


def _would_install(session: Any, tool: Tool, force: bool) -> str:
    """What ``bin install`` would do for ``tool``; reads only local files."""
    from kshell.install import (
        effective_mirror,
        installed_path,
        mirror_url,
        platform_key,
        release_for,
        target_path,
    )

    found = installed_path(tool)
    if found and not force:
        return f"{tool.name} {tool.version}: already installed at {found}; nothing to do"
    release = release_for(tool, platform_key())  # ToolError: no release for this platform
    url = mirror_url(release.url, effective_mirror(_mirror(session)))
    return f"{tool.name} {tool.version}: would download {url} and install {target_path(tool)}"


def _short(digest: str | None) -> str | None:
    return digest[:12] if digest else None


# --- bin list ---------------------------------------------------------------------


def _list(session: Any, args: argparse.Namespace) -> int:
    from kshell.install import describe

    binaries = _binaries(session)
    infos = [describe(tool, binaries=binaries) for _, tool in sorted(_tools(session).items())]
    if args.json:
        session.echo(json.dumps(infos, indent=2))
        return 0
    rows = []
    for info in infos:
        if info["installed"]:
            installed = "yes"
        elif not info["available"]:
            installed = f"no ({info['platform']}: no release)"
        else:
            installed = "no"
        digest = info["archive_sha256"] or info["binary_sha256"]
        reports = info["reports"] or ("?" if info.get("error") else None)
        rows.append(
            [
                info["name"],
                info["pin"],
                installed,
                info["path"],
                _short(digest),
                info["verified"],
                reports,
            ]
        )
    headers = ["NAME", "PIN", "INSTALLED", "PATH", "SHA256", "VERIFIED", "REPORTS"]
    session.echo(format_table(headers, rows))
    for info in infos:
        if info.get("error"):
            session.warn(f"{info['name']}: {info['error']}")
    return 0


# --- bin install ------------------------------------------------------------------


def _install(session: Any, args: argparse.Namespace) -> int:
    from kshell.install import ToolError, install

    names = args.names or sorted(_tools(session))
    tools = [_tool(session, n) for n in names]
    binaries = _binaries(session)
    failures: list[str] = []
    for tool in tools:
        try:
            if getattr(session, "dry_run", False):
                _dry(session, _would_install(session, tool, args.force))
                continue
            result = install(tool, mirror=_mirror(session), force=args.force, log=session.warn)
        except ToolError as e:
            failures.append(e.message)
            if len(tools) > 1:
                session.warn(e.message)
            continue
        if result.downloaded:
            digest = result.archive_sha256 or ""
            session.echo(
                f"{tool.name} {tool.version}: installed {result.path} "
                f"({result.verified}: sha256 {digest})"
            )
        else:
            session.echo(f"{tool.name} {tool.version}: already installed at {result.path}")
        if tool.name in binaries:
            session.warn(
                f"{tool.name}: kshell runs {binaries[tool.name]} (set by `bin use`); "
                f"`bin remove {tool.name}` to run the installed copy instead"
            )
    if len(tools) == 1 and failures:
        raise CommandError(failures[0])
    return 1 if failures else 0


# --- bin verify -------------------------------------------------------------------


def _verify(session: Any, args: argparse.Namespace) -> int:
    from kshell.install import ToolError, verify_installed, verify_user_binary

    names = args.names or sorted(_tools(session))
    binaries = _binaries(session)
    status = 0
    for name in names:
        tool = _tool(session, name)
        try:
            if name in binaries:
                result = verify_user_binary(tool, binaries[name])
            else:
                result = verify_installed(tool)
        except (ToolError, OSError) as e:
            session.warn(f"{name}: cannot verify: {getattr(e, 'message', None) or e}")
            status = 1
            continue
        how = f" ({result.verified})" if result.verified else ""
        if result.status == "ok":
            session.echo(f"{name}: ok, binary sha256 {result.actual} matches the record{how}")
        elif result.status == "not installed":
            session.echo(f"{name}: not installed")
        elif result.status == "unrecorded":
            status = 1
            fix = (
                f"bin use {name} {result.path}"
                if name in binaries
                else f"bin install --force {name}"
            )
            session.warn(
                f"{name}: no recorded digest for {result.path} (sha256 {result.actual}); "
                f"run `{fix}` to record one"
            )
        else:
            status = 1
            session.warn(
                f"{name}: MISMATCH: {result.path} has sha256 {result.actual}, "
                f"recorded {result.expected}{how}"
            )
    return status


# --- bin path / use / remove / forget -----------------------------------------------


def _path(session: Any, args: argparse.Namespace) -> int:
    from kshell.install import installed_path, not_installed_message

    tool = _tool(session, args.name)
    path = installed_path(tool, binaries=_binaries(session))
    if path is None:
        explicit = _binaries(session).get(tool.name)
        if explicit:
            raise CommandError(f"{tool.name}: {explicit} (set by `bin use`) does not exist")
        raise CommandError(not_installed_message(tool))
    session.echo(str(path))
    return 0


def _set_binary(name: str, path: str | None) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        binaries = raw.get("binaries")
        if not isinstance(binaries, dict):
            binaries = raw["binaries"] = {}
        if path is None:
            binaries.pop(name, None)
            if not binaries:
                del raw["binaries"]
        else:
            binaries[name] = path

    return change


def _use(session: Any, args: argparse.Namespace) -> int:
    from kshell.install import ToolError, use_binary

    tool = _tool(session, args.name)
    if getattr(session, "dry_run", False):  # no probe, no digest recorded
        session.update_config(_set_binary(tool.name, args.path))
        _dry(session, f"{tool.name}: would check and use {args.path}")
        return 0
    try:
        path, version, digest = use_binary(tool, args.path, force=args.force)
    except ToolError as e:
        raise CommandError(e.message) from None
    session.update_config(_set_binary(tool.name, str(path)))
    reports = f"reports {version}" if version else "reports no version"
    session.echo(f"{tool.name}: using {path} ({reports}, sha256 {digest})")
    if version is None or version.lstrip("v") != tool.version.lstrip("v"):
        session.warn(f"{tool.name}: kshell is written for {tool.version}; output may differ")
    return 0


def _remove(session: Any, args: argparse.Namespace) -> int:
    from kshell.install import installed_path, remove

    tool = _tool(session, args.name)
    explicit = _binaries(session).get(tool.name)
    if explicit:
        session.update_config(_set_binary(tool.name, None))
        session.echo(f"{tool.name}: no longer using {explicit} (the file is left alone)")
    if getattr(session, "dry_run", False):
        found = installed_path(tool, binaries={})
        _dry(session, f"{tool.name} {tool.version}: would remove {found}" if found
             else f"{tool.name} {tool.version} is not installed; nothing to remove")  # fmt: skip
        return 0
    removed = remove(tool, log=session.warn)
    if removed:
        session.echo(f"{tool.name} {tool.version}: removed {removed} (recorded digest kept)")
    elif not explicit:
        session.echo(f"{tool.name} {tool.version} is not installed; nothing removed")
    return 0


def _forget(session: Any, args: argparse.Namespace) -> int:
    from kshell.install import forget, lock_path

    name = args.name
    if _dry(session, f"{name}: would forget its recorded digests in {lock_path()}"):
        return 0
    gone = forget(name)
    if not gone:
        session.echo(f"{name}: no recorded digest in {lock_path()}")
        return 0
    for key, record in gone:
        digest = record.get("archive_sha256") or record.get("sha256")
        what = record.get("archive") or record.get("path") or key
        session.echo(f"{name}: forgot sha256 {digest} of {what} ({key})")
    tool = _tools(session).get(name)
    if tool and any(r.sha256 for r in tool.releases.values()):
        session.echo(f"{name}: digests pinned in kshell's table still apply")
    else:
        session.echo(f"{name}: the next download is trusted on first use and recorded again")
    return 0


# --- registration -------------------------------------------------------------------


def _names(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME", help=help)


def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def _install_args(p: argparse.ArgumentParser) -> None:
    _names(p, "tools to install (all when none named)")
    p.add_argument(
        "--force", action="store_true", help="download again, replacing the installed copy"
    )


def _verify_args(p: argparse.ArgumentParser) -> None:
    _names(p, "tools to verify (all when none named)")


def _name_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME")


def _use_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME")
    p.add_argument("path", metavar="PATH", help="the binary to run for NAME")
    p.add_argument(
        "--force", action="store_true", help="use it even when it reports another version"
    )


COMMANDS = [
    Command(
        "bin list",
        "List pinned tools: installed or not, path, digest, how verified, version",
        _list,
        arguments=_list_args,
        read_only=True,
    ),
    Command(
        "bin install",
        "Download, verify and install pinned tools",
        _install,
        arguments=_install_args,
        completers={"names": _complete_names},
    ),
    Command(
        "bin verify",
        "Re-hash installed tools against their recorded digests",
        _verify,
        arguments=_verify_args,
        completers={"names": _complete_names},
        read_only=True,
    ),
    Command(
        "bin path",
        "Print the path of a tool's binary",
        _path,
        arguments=_name_arg,
        completers={"name": _complete_names},
        read_only=True,
    ),
    Command(
        "bin use",
        "Run your own binary for a tool (version-probed, recorded in the config)",
        _use,
        arguments=_use_args,
        completers={"name": _complete_names},
    ),
    Command(
        "bin remove",
        "Remove an installed tool (its recorded digest is kept)",
        _remove,
        arguments=_name_arg,
        completers={"name": _complete_names},
    ),
    Command(
        "bin forget",
        "Forget a tool's recorded digest (the next download is trusted on first use)",
        _forget,
        arguments=_name_arg,
        completers={"name": _complete_names},
    ),
]


@hookimpl
def kshell_commands(register: Callable[[Command], None]) -> None:
    for command in COMMANDS:
        register(command)
