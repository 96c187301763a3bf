"""The shell's own commands: help, context, use, env, plugins, status, doctor, history, exit."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from kshell import Candidate, Check, Command, CommandError, Tool, format_table, hookimpl

if TYPE_CHECKING:
    from kshell.session import ShellSession


# -- help ----------------------------------------------------------------------


def _help(session: ShellSession, args: argparse.Namespace) -> int:
    table = session.host.commands
    if args.command:
        entry = table.get(" ".join(args.command))
        if entry is not None:
            if entry.command.passthrough:
                session.echo(f"{entry.command.name} ARGS...  {entry.command.help}")
            else:
                from kshell.dispatch import subcommands

                session.echo(table.parser(entry).format_help().rstrip())
                more = subcommands(table, tuple(args.command))
                if more:
                    session.echo(more)
            return 0
        children = table.children(tuple(args.command))
        if not children:
            raise CommandError(f"no command `{' '.join(args.command)}`; type `help`", 2)
        rows = [(f"{' '.join(args.command)} {w}", h) for w, h in sorted(children.items())]
        session.echo(format_table(["COMMAND", "DESCRIPTION"], rows))
        return 0
    rows = [(e.command.name, e.command.help) for e in table]
    session.echo(format_table(["COMMAND", "DESCRIPTION"], rows))
    session.echo("\n`help COMMAND` or `COMMAND --help` for its arguments.")
    return 0


def _complete_command(session: ShellSession, prefix: str):
    return [
        Candidate(w, h)
        for w, h in sorted(session.host.commands.children(()).items())
        if w.startswith(prefix)
    ]


# -- contexts --------------------------------------------------------------------


def _context_show(session: ShellSession, args: argparse.Namespace) -> int:
    ctx = session.context
    rows = []
    for key in sorted(set(session.host.settings) | set(ctx.stored)):
        source = ctx.source(key)
        rows.append((key, ctx.shown(key), source))
    for _, extra in session.host.call_each("kshell_context_sources", session=session):
        rows += [tuple(str(c) for c in row[:3]) for row in extra or ()]
    where = (
        "this session only, never saved"
        if session.config.session_only(ctx.name)
        else f"config: {session.config.path}"
    )
    session.echo(f"context: {ctx.name}  ({where})")
    session.echo(format_table(["SETTING", "VALUE", "FROM"], rows))
    for key in sorted(session.host.settings):
        if ctx.source(key).startswith("env ") and key in ctx.stored:
            env = session.host.settings[key].env
            session.echo(f"note: {env} overrides the stored {key}; unset it to use the context")
    for key, reason in sorted(session.config.invalid.get(ctx.name, {}).items()):
        session.echo(f"note: the stored {key} is not used: {reason}; `context set {key} VALUE`")
    from kshell.context import env_problems

    for problem in env_problems(session.host.settings):
        session.echo(f"note: {problem}")
    return 0


def _context_list(session: ShellSession, args: argparse.Namespace) -> int:
    for name in sorted(session.config.contexts):
        mark = "*" if name == session.context.name else " "
        note = "  (this session only)" if session.config.session_only(name) else ""
        session.echo(f"{mark} {name}{note}")
    return 0


def _validated(session: ShellSession, key: str, value: str) -> str:
    from kshell.context import check_value, reason_shown

    setting = session.host.settings.get(key)
    if setting is None:
        known = ", ".join(sorted(session.host.settings)) or "none (no plugins loaded)"
        raise CommandError(f"unknown setting `{key}`; known settings: {known}", 2)
    try:
        return check_value(setting, value)
    except ValueError as e:
        raise CommandError(f"invalid {key}: {reason_shown(setting, value, e)}", 2) from e


def _change_context(session: ShellSession, name: str, change) -> None:
    """Apply ``change`` to context ``name``'s settings (a dict), changing nothing else.

    A session-only context (the sandbox's) changes in memory only: it is never written
    into the user's config file.
    """
    from kshell.context import ActiveContext

    config = session.config
    if config.session_only(name):
        change(config.session_contexts[name])
        if session.dry_run:  # marked `(dry run)` like a change to the file's contexts
            session._dry_changed = True
        if session.context.name == name:
            session.context = ActiveContext(name, config.contexts[name], session.host.settings)
        return

    def mutate(raw: dict) -> None:
        contexts = raw.get("contexts")
        if not isinstance(contexts, dict):
            contexts = raw["contexts"] = {}
        settings = contexts.get(name)
        if not isinstance(settings, dict):
            settings = contexts[name] = {}
        change(settings)

    session.update_config(mutate)


def _context_set(session: ShellSession, args: argparse.Namespace) -> int:
    name = args.context or session.context.name
    if name not in session.config.contexts:
        raise CommandError(f"no context named `{name}`; `context add {name}` creates it", 2)
    value = _validated(session, args.key, args.value)
    _change_context(session, name, lambda settings: settings.__setitem__(args.key, value))
    setting = session.host.settings[args.key]
    shown = "****" if setting.secret else value
    session.echo(f"{name}: {args.key} = {shown}")
    return 0


def _context_unset(session: ShellSession, args: argparse.Namespace) -> int:
    name = session.context.name
    held = {"found": False}

    def change(settings: dict) -> None:
        held["found"] = args.key in settings
        settings.pop(args.key, None)

    # What the context holds: its settings, and values left out as invalid (still in the file).
    holds = set(session.config.contexts.get(name, {})) | set(session.config.invalid.get(name, {}))
    if args.key in holds:
        _change_context(session, name, change)
    if not held["found"]:
        source = session.context.source(args.key)
        comes = f" (its value comes from {source})" if source != "unset" else ""
        raise CommandError(f"context `{name}` does not set `{args.key}`{comes}; nothing unset", 1)
    session.echo(f"{name}: {args.key} unset ({_now_from(session, args.key)})")
    return 0


def _now_from(session: ShellSession, key: str) -> str:
    value = session.context.shown(key)
    source = session.context.source(key)
    return "no value now" if source == "unset" else f"now {value} from {source}"


def _context_add(session: ShellSession, args: argparse.Namespace) -> int:
    if args.name in session.config.contexts:
        raise CommandError(f"context `{args.name}` exists; `use {args.name}` switches to it", 1)
    values = {}
    for pair in args.set or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise CommandError(f"--set takes KEY=VALUE, not `{pair}`", 2)
        values[key] = _validated(session, key, value)

    def mutate(raw: dict) -> None:
        raw["contexts"] = raw.get("contexts") or {}
        raw["contexts"][args.name] = values

    session.update_config(mutate)
    session.echo(f"added context {args.name}; `use {args.name}` switches to it")
    return 0


def _context_delete(session: ShellSession, args: argparse.Namespace) -> int:
    if args.name == session.context.name:
        raise CommandError("cannot delete the current context; `use` another one first", 1)
    if args.name not in session.config.contexts:
        raise CommandError(f"no context named `{args.name}`", 1)
    if session.config.session_only(args.name):
        raise CommandError(f"context `{args.name}` is this session's only; nothing to delete", 1)
    session.update_config(lambda raw: (raw.get("contexts") or {}).pop(args.name, None))
    return 0


def _use(session: ShellSession, args: argparse.Namespace) -> int:
    session.use(args.name)
    session.echo(f"now using context {args.name}")
    return 0


def _complete_context(session: ShellSession, prefix: str):
    return [n for n in sorted(session.config.contexts) if n.startswith(prefix)]


def _complete_setting(session: ShellSession, prefix: str):
    return [
        Candidate(k, s.help)
        for k, s in sorted(session.host.settings.items())
        if k.startswith(prefix)
    ]


# -- env -------------------------------------------------------------------------


def _env(session: ShellSession, args: argparse.Namespace) -> int:
    import os

    names = args.tool or sorted(session.host.tools)
    unknown = [n for n in names if n not in session.host.tools]
    if unknown:
        known = ", ".join(sorted(session.host.tools)) or "none (no plugins loaded)"
        raise CommandError(f"no tool named `{unknown[0]}`; known tools: {known}", 2)
    settings = session.host.settings.values()
    secret_envs = {s.env for s in settings if s.secret and s.env}
    secrets = {session.context.get(s.name) for s in settings if s.secret} - {None, ""}

    def shown(key: str, value: str) -> str:
        if key in secret_envs or value in secrets:
            return "****"
        for secret in secrets:
            value = value.replace(secret, "****")  # type: ignore[arg-type]
        return value

    for name in names:
        toolenv = session.host.tool_env(name, session.context)
        session.echo(f"{name}:")
        for key, value in sorted(toolenv.env.items()):
            session.echo(f"  {key}={shown(key, value)}")
        if toolenv.args:
            session.echo(f"  flags: {' '.join(shown('', a) for a in toolenv.args)}")
        # The tool reads these itself, and they reach it from the shell kshell runs in. A
        # setting's own variable (KUBERNETES_MASTER) is not one: kshell applied it above.
        prefixes = tuple(session.host.tools[name].env_prefixes) or (f"{name.upper()}_",)
        applied = set(toolenv.env) | {s.env for s in settings if s.env}
        inherited = sorted(
            (k, v) for k, v in os.environ.items() if k.startswith(prefixes) and k not in applied
        )
        for key, value in inherited:
            session.echo(f"  {key}={shown(key, value)}  (inherited from your shell)")
        if not toolenv.env and not toolenv.args and not inherited:
            session.echo("  (nothing from the context)")
    return 0


def _complete_tool(session: ShellSession, prefix: str):
    return [
        Candidate(n, t.help) for n, t in sorted(session.host.tools.items()) if n.startswith(prefix)
    ]


# -- plugins, status, doctor -------------------------------------------------------


def _plugin_state(p) -> str:
    failures = [f"{m} ({n}x)" if n > 1 else m for m, n in p.failures.items()]
    return "; ".join([*p.errors, *failures]) or "ok"


def _plugins(session: ShellSession, args: argparse.Namespace) -> int:
    infos = [p for p in session.host.plugins.values() if args.all or not p.core]
    if args.json:
        data = [
            {
                "name": p.name,
                "version": p.version,
                "distribution": p.distribution,
                "module": p.package,
                "core": p.core,
                "hooks": p.hooks,
                "errors": p.errors,
                "failures": p.failures,
            }
            for p in infos
        ]
        session.echo(json.dumps(data, indent=2))
        return 0
    rows = [
        (p.name, p.version or "-", ",".join(h.removeprefix("kshell_") for h in p.hooks) or "-",
         _plugin_state(p))
        for p in infos
    ]  # fmt: skip
    session.echo(format_table(["PLUGIN", "VERSION", "HOOKS", "STATE"], rows))
    if any(p.failures for p in infos):
        from kshell.logfile import log_path

        session.echo(f"tracebacks of the failures: {log_path()}")
    return 0


def _hook_results(session: ShellSession, hook: str):
    session.hooks_running = True  # never stop to ask the user, never install
    try:
        return session.host.call_all(hook, session=session)
    finally:
        session.hooks_running = False


def _missing_tools(session: ShellSession) -> list[tuple[str, Tool]]:
    """(owner, tool) for each pinned tool that is nowhere to run from."""
    host = session.host
    return [
        (host.tool_owners.get(name, "kshell"), tool)
        for name, tool in sorted(host.tools.items())
        if session.runner.locate(name) is None
    ]


def _failure_text(session: ShellSession, hook: str, error: BaseException) -> str:
    from kshell.logfile import log_path
    from kshell.runner import ToolMissing

    if isinstance(error, ToolMissing):
        return f"not checked: {error.tool} is not installed"
    if isinstance(error, CommandError):
        return error.message
    return f"{hook} failed: {type(error).__name__}: {error} (details in {log_path()})"


def _status(session: ShellSession, args: argparse.Namespace) -> int:
    if session.dry("status: each plugin's status lines (they ask the cluster)"):
        return 0
    session.echo(f"context: {session.context.name}")
    for owner, tool in _missing_tools(session):
        session.echo(
            f"{owner}: {tool.name} {tool.version} is not installed; `bin install {tool.name}`"
        )
    for result in _hook_results(session, "kshell_status"):
        if result.error is not None:
            text = _failure_text(session, "kshell_status", result.error)
            session.echo(f"{result.plugin}: {text}")
            continue
        for line in result.value or ():
            session.echo(f"{result.plugin}: {line}")
    for problem in session.host.load_errors():
        session.echo(problem)
    return 0


def _doctor(session: ShellSession, args: argparse.Namespace) -> int:
    if session.dry("doctor: each plugin's checks (they ask the cluster)"):
        return 0

    from kshell.runner import ToolMissing

    found: list[tuple[str, Check]] = []
    for owner, tool in _missing_tools(session):
        found.append((owner, Check(
            tool.name, "warn", f"the pinned {tool.name} {tool.version} is not installed",
            f"bin install {tool.name}",
        )))  # fmt: skip
    for result in _hook_results(session, "kshell_checks"):
        error = result.error
        if error is None:
            found += [(result.plugin, check) for check in result.value or ()]
        elif isinstance(error, ToolMissing):
            continue  # said once above, with its fix
        else:
            fix = (
                "`context` shows the settings it used; correct the one the line names"
                if isinstance(error, CommandError)
                else f"`plugins` shows it; update or remove the plugin {result.plugin}"
            )
            text = _failure_text(session, "kshell_checks", error)
            found.append((result.plugin, Check("checks", "fail", text, fix)))
    worst = 0
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    for owner, check in found:
        line = f"[{marks.get(check.status, check.status)}] {owner}: {check.name}"
        if check.detail:
            line += f": {check.detail}"
        session.echo(line)
        if check.status != "ok" and check.fix:
            session.echo(f"       fix: {check.fix}")
        worst = max(worst, {"ok": 0, "warn": 0, "fail": 1}.get(check.status, 0))
    for problem in session.host.load_errors():
        session.echo(f"[FAIL] {problem}")
        session.echo("       fix: `plugins` shows it; update or remove that plugin")
        worst = 1
    return worst


# -- history, exit -------------------------------------------------------------------


def _history(session: ShellSession, args: argparse.Namespace) -> int:
    from kshell.history import read_history

    entries = read_history()
    for n, line in enumerate(entries[-args.n :] if args.n else entries, 1):
        session.echo(f"{n:5}  {line}")
    return 0


def _exit(session: ShellSession, args: argparse.Namespace) -> int:
    session.exit_requested = True
    return 0


@hookimpl
def kshell_commands(register) -> None:
    register(Command(
        "help", "Show the commands, or one command's arguments", _help,
        arguments=lambda p: p.add_argument("command", nargs="*", help="command name"),
        completers={"command": _complete_command}, read_only=True,
    ))  # fmt: skip
    register(
        Command(
            "context", "Show the current context (secrets masked)", _context_show, read_only=True
        )
    )
    register(Command("context list", "List the contexts", _context_list, read_only=True))

    def set_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("key", help="setting name, e.g. etcd.endpoint")
        p.add_argument("value", help="new value")
        p.add_argument("--context", help="change this context instead of the current one")

    register(Command(
        "context set", "Change a setting of the current context (validated)", _context_set,
        arguments=set_args, completers={"key": _complete_setting, "context": _complete_context},
    ))  # fmt: skip
    register(Command(
        "context unset", "Remove a setting from the current context (back to its default)",
        _context_unset, arguments=lambda p: p.add_argument("key"),
        completers={"key": _complete_setting},
    ))  # fmt: skip

    def add_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("name")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="initial setting")

    register(Command("context add", "Create a context", _context_add, arguments=add_args))
    register(Command(
        "context delete", "Delete a context", _context_delete,
        arguments=lambda p: p.add_argument("name"), completers={"name": _complete_context},
    ))  # fmt: skip
    register(Command(
        "use", "Switch to another context", _use,
        arguments=lambda p: p.add_argument("name"), completers={"name": _complete_context},
    ))  # fmt: skip
    register(Command(
        "env", "Show exactly the environment and flags each wrapped tool gets", _env,
        arguments=lambda p: p.add_argument("tool", nargs="*"),
        completers={"tool": _complete_tool}, read_only=True,
    ))  # fmt: skip

    def plugin_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--all", action="store_true", help="include the core's own plugins")

    register(
        Command(
            "plugins",
            "List plugins, their hooks and load errors",
            _plugins,
            arguments=plugin_args,
            read_only=True,
        )
    )
    register(Command("status", "One screen on the current cluster", _status, read_only=True))
    register(
        Command(
            "doctor", "Check the setup and the cluster; says how to fix", _doctor, read_only=True
        )
    )
    register(Command(
        "history", "Show the command history", _history, read_only=True,
        arguments=lambda p: p.add_argument("-n", type=int, default=0, help="last N only"),
    ))  # fmt: skip
    register(Command("exit", "Leave the shell (Ctrl-D does too)", _exit, read_only=True))
