"""The plugin host: loads the ``kshell`` entry points and collects what each plugin offers.

Builtin plugins are entry points like any third-party one; the shell's own commands
are core plugins registered first. A plugin that fails to import or raises in a
registration hook is recorded in ``errors`` and skipped; the rest keep working.
A hook that raises later (status, checks) or a completer that raises is counted in
``failures`` (shown by ``plugins``) and logged with its traceback, but does not mark the
plugin failed: the next call may work. A hook whose answer a command depends on
(``kshell_tool_env``) stops that command instead (:class:`HookFailed`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pluggy

from kshell import Command, CommandError, Setting, Tool, ToolEnv
from kshell.table import CommandTable

# Core plugins: the shell's own commands, registered before the entry points.
CORE_PLUGINS = ("kshell.shell_commands", "kshell.bin_commands", "kshell.recipe_commands")


@dataclass
class PluginInfo:
    name: str
    package: str = ""
    core: bool = False
    hooks: list[str] = field(default_factory=list)
    loading: list[str] = field(default_factory=list)
    """Problems importing or registering the plugin (found once, at load)."""
    import_failed: bool = False
    collected: list[str] = field(default_factory=list)
    """Problems of the last collect of its registrations: a register hook that raised, a
    name collision (found afresh whenever plugins are collected again)."""
    failed_hooks: set[str] = field(default_factory=set)
    """The register hooks (``kshell_settings`` …) that raised in the last collect."""
    failures: dict[str, int] = field(default_factory=dict)
    """Run-time failures (a hook call, a completer) and how often each happened."""
    distribution: str = ""

    @property
    def errors(self) -> list[str]:
        """Load-time problems: import, registration, the register hooks, name collisions."""
        return [*self.loading, *self.collected]

    @property
    def version(self) -> str:
        from kshell.entrypoints import dist_version

        return dist_version(self.distribution)


def _describe(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


class HookFailed(CommandError):
    """A hook whose answer a command needs raised: the command stops (status 70)."""

    def __init__(self, plugin: str, hook: str, error: BaseException, log: str = "") -> None:
        where = f" (details in {log})" if log else ""
        super().__init__(
            f"plugin {plugin}: {hook} failed: {_describe(error)}; nothing was run{where}", 70
        )
        self.plugin = plugin
        self.hook = hook


@dataclass
class HookResult:
    """One plugin's answer to a hook call: ``value``, or the exception it raised."""

    plugin: str
    value: Any = None
    error: BaseException | None = None


# A setting is named after the plugin that registers it: ``etcd.endpoint``, ``fleet.tunnel``.
_SETTING_KEY = re.compile(r"[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+")


class _Manager(pluggy.PluginManager):
    """Looks at ``kshell_*`` names only, as pytest's manager looks at ``pytest_*``: pluggy
    otherwise inspects every name in every plugin module (getattr_static on each, a few ms
    at each start for the builtin plugins alone). Every hook is named ``kshell_*``."""

    def parse_hookimpl_opts(self, plugin: object, name: str):  # type: ignore[override]
        if not name.startswith("kshell_"):
            return None
        return super().parse_hookimpl_opts(plugin, name)


class PluginHost:
    def __init__(self) -> None:
        from kshell import hookspecs

        self.pm = _Manager("kshell")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.commands = CommandTable()
        self.tools: dict[str, Tool] = {}
        self.settings: dict[str, Setting] = {}
        self.tool_owners: dict[str, str] = {}
        self._setting_owners: dict[str, str] = {}
        self.mask: Callable[[str], str] = lambda text: text  # the session puts its own

    # -- loading -------------------------------------------------------------

    def load(self, only: str | None = None) -> PluginHost:
        """Register core plugins and the entry points (``only``: KSHELL_PLUGINS semantics)."""
        import importlib

        for modname in CORE_PLUGINS:
            info = PluginInfo(modname.rsplit(".", 1)[-1], package=modname, core=True)
            try:
                module = importlib.import_module(modname)
            except Exception as e:  # reported like any plugin's; the rest of the shell works
                info.import_failed = True
                info.loading.append(f"import failed: {_describe(e)}")
                self.plugins[info.name] = info
                continue
            self._register(module, info)
        only = os.environ.get("KSHELL_PLUGINS") if only is None else only
        wanted = None if only is None else {n.strip() for n in only.split(",") if n.strip()}
        from kshell import entrypoints

        for ep in entrypoints.kshell_entry_points():
            if ep.name in self.plugins or (wanted is not None and ep.name not in wanted):
                continue
            info = PluginInfo(ep.name, package=ep.value, distribution=ep.dist)
            try:
                plugin = entrypoints.load(ep)
            except BaseException as e:  # noqa: BLE001 - any import failure is the plugin's
                if isinstance(e, KeyboardInterrupt):
                    raise
                from kshell.logfile import log_exception

                log_exception(f"plugin {ep.name}: import", e, self.mask)
                info.import_failed = True
                info.loading.append(f"import failed: {_describe(e)}")
                self.plugins[ep.name] = info
                continue
            self._register(plugin, info)
        self._collect()
        return self

    def _register(self, plugin: object, info: PluginInfo) -> None:
        try:
            self.pm.register(plugin, name=info.name)
        except Exception as e:
            info.loading.append(f"registration failed: {_describe(e)}")
        else:
            info.hooks = sorted(
                {c.name for c in self.pm.get_hookcallers(plugin) or []}  # type: ignore[union-attr]
            )
        self.plugins[info.name] = info

    def register(self, plugin: object, name: str) -> None:
        """Register one more plugin object (tests, embedding) and re-collect."""
        self._register(plugin, PluginInfo(name, package=type(plugin).__module__))
        self._collect()

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self.plugins.pop(name, None)
        self._collect()

    # -- calling hooks safely -------------------------------------------------

    def failed(self, plugin: str, what: str, error: BaseException) -> str:
        """Record a run-time failure of ``plugin`` (counted, logged with its traceback);
        returns the log's path."""
        from kshell.logfile import log_exception

        message = f"{what} failed: {_describe(error)}"
        info = self.plugins.get(plugin)
        if info is not None:
            info.failures[message] = info.failures.get(message, 0) + 1
        return str(log_exception(f"plugin {plugin}: {what}", error, self.mask))

    def call_all(self, hook: str, **kwargs: Any) -> list[HookResult]:
        """Call ``hook`` on each plugin separately (registration order). An exception is
        that plugin's answer, not the caller's problem; failures other than
        ``CommandError`` (a one-line finding) are counted and logged."""
        caller = getattr(self.pm.hook, hook)
        results = []
        for impl in caller.get_hookimpls():
            try:
                results.append(HookResult(impl.plugin_name, impl.function(**kwargs)))
            except Exception as e:
                if not isinstance(e, CommandError):
                    self.failed(impl.plugin_name, hook, e)
                results.append(HookResult(impl.plugin_name, error=e))
        return results

    def call_each(self, hook: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        """The plugins' answers to ``hook``, skipping the ones that raised (recorded)."""
        for result in self.call_all(hook, **kwargs):
            if result.error is None:
                yield result.plugin, result.value

    def call_required(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """The plugins' answers to a hook a command depends on: the first plugin that
        raises stops the command with one line naming it (:class:`HookFailed`)."""
        caller = getattr(self.pm.hook, hook)
        answers = []
        for impl in caller.get_hookimpls():
            try:
                answers.append((impl.plugin_name, impl.function(**kwargs)))
            except CommandError as e:  # the plugin's own one-line refusal: say whose
                raise CommandError(f"plugin {impl.plugin_name}: {e.message}", e.status) from e
            except Exception as e:
                log = self.failed(impl.plugin_name, hook, e)
                raise HookFailed(impl.plugin_name, hook, e, log) from e
        return answers

    def _collect(self) -> None:
        self.commands = CommandTable()
        self.tools = {}
        self.settings = {}
        self.tool_owners = {}
        self._setting_owners = {}
        for info in self.plugins.values():  # collected afresh below
            info.collected = []
            info.failed_hooks = set()

        for hook, sink in (
            ("kshell_settings", lambda owner: lambda s: self._add_setting(s, owner)),
            ("kshell_tools", lambda owner: lambda t: self._add_tool(t, owner)),
            ("kshell_commands", lambda owner: lambda c: self._add_command(c, owner)),
        ):
            caller = getattr(self.pm.hook, hook)
            for impl in caller.get_hookimpls():  # registration order: core first
                try:
                    impl.function(register=sink(impl.plugin_name))
                except Exception as e:
                    from kshell.logfile import log_exception

                    log_exception(f"plugin {impl.plugin_name}: {hook}", e, self.mask)
                    info = self.plugins[impl.plugin_name]
                    info.failed_hooks.add(hook)
                    info.collected.append(f"{hook} failed: {_describe(e)}")

    def _add_setting(self, setting: Setting, owner: str) -> None:
        info = self.plugins[owner]
        if setting.name in self.settings:
            other = self._setting_owners[setting.name]
            info.collected.append(
                f"setting `{setting.name}` is already provided by {other}; skipped"
            )
            return
        if not _SETTING_KEY.fullmatch(setting.name) or (
            not info.core and setting.name.split(".", 1)[0] != owner
        ):
            info.collected.append(
                f"setting `{setting.name}` must be named `{owner}.NAME` (lowercase); skipped"
            )
            return
        self.settings[setting.name] = setting
        self._setting_owners[setting.name] = owner

    def _add_tool(self, tool: Tool, owner: str) -> None:
        if tool.name in self.tools:
            self.plugins[owner].collected.append(
                f"tool `{tool.name}` is already provided by {self.tool_owners[tool.name]}; skipped"
            )
            return
        self.tools[tool.name] = tool
        self.tool_owners[tool.name] = owner

    def _add_command(self, command: Command, owner: str) -> None:
        problem = self.commands.add(command, owner)
        if problem:
            self.plugins[owner].collected.append(problem)

    # -- what plugins offer --------------------------------------------------

    def tool_env(self, tool: str, context: Any) -> ToolEnv:
        """Every plugin's environment and leading flags for ``tool`` in ``context``.

        Raises :class:`HookFailed` when a plugin's ``kshell_tool_env`` raises: running
        the tool without what the context asked for could reach another cluster."""
        env: dict[str, str] = {}
        args: list[str] = []
        for plugin, result in self.call_required("kshell_tool_env", tool=tool, context=context):
            if not result:
                continue
            # Without its settings (defaults, environment overrides) a plugin's answer
            # could point the tool at the wrong place: refuse rather than guess.
            info = self.plugins.get(plugin)
            if info is not None and "kshell_settings" in info.failed_hooks:
                broken = [e for e in info.collected if e.startswith("kshell_settings failed")]
                raise CommandError(
                    f"plugin {plugin}: {broken[0]}; nothing was run "
                    "(`plugins` shows it; fix or remove that plugin)",
                    70,
                )
            env.update(result.env)
            args.extend(result.args)
        return ToolEnv(env=env, args=tuple(args))

    def tool(self, name: str) -> Tool | None:
        """The pinned tool ``name``; raises when a plugin that could have registered it
        failed to (its ``kshell_tools`` raised), so nothing runs unpinned by accident."""
        found = self.tools.get(name)
        if found is not None:
            return found
        broken = [
            f"plugin {p.name}: {e}"
            for p in self.plugins.values()
            if p.import_failed or "kshell_tools" in p.failed_hooks
            for e in p.errors
            if e.startswith(("kshell_tools failed", "import failed"))
        ]
        if broken:
            raise CommandError(
                f"{name}: unknown tool, and {'; '.join(broken)} (it may pin {name}); "
                "see `plugins`, fix or remove that plugin",
                70,
            )
        return None

    def load_errors(self) -> list[str]:
        return [f"plugin {p.name}: {e}" for p in self.plugins.values() for e in p.errors]
