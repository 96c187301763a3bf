"""The plugin host: loads the ``kshell`` entry points and collects what each plugin offers.

Builtin plugins are entry points like any third-party one; the shell's own commands
are core plugins registered first. A plugin that fails to import or raises in a hook
is recorded in ``errors`` and skipped; the rest keep working.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pluggy

from kshell import Command, Setting, Tool, ToolEnv
from kshell.table import CommandTable

# Core plugins: the shell's own commands, registered before the entry points.
CORE_PLUGINS = ("kshell.shell_commands", "kshell.bin_commands", "kshell.recipe_commands")


@dataclass
class PluginInfo:
    name: str
    package: str = ""
    core: bool = False
    hooks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    distribution: str = ""

    @property
    def version(self) -> str:
        from kshell.entrypoints import dist_version

        return dist_version(self.distribution)


def _describe(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


class PluginHost:
    def __init__(self) -> None:
        from kshell import hookspecs

        self.pm = pluggy.PluginManager("kshell")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.commands = CommandTable()
        self.tools: dict[str, Tool] = {}
        self.settings: dict[str, Setting] = {}

    # -- loading -------------------------------------------------------------

    def load(self, only: str | None = None) -> PluginHost:
        """Register core plugins and the entry points (``only``: KSHELL_PLUGINS semantics)."""
        import importlib

        for modname in CORE_PLUGINS:
            info = PluginInfo(modname.rsplit(".", 1)[-1], package=modname, core=True)
            try:
                module = importlib.import_module(modname)
            except Exception as e:  # reported like any plugin's; the rest of the shell works
                info.errors.append(f"import failed: {_describe(e)}")
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
                info.errors.append(f"import failed: {_describe(e)}")
                self.plugins[ep.name] = info
                continue
            self._register(plugin, info)
        self._collect()
        return self

    def _register(self, plugin: object, info: PluginInfo) -> None:
        try:
            self.pm.register(plugin, name=info.name)
        except Exception as e:
            info.errors.append(f"registration failed: {_describe(e)}")
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

    def call_each(self, hook: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        """Call ``hook`` on each plugin separately; a raising plugin is recorded, not fatal."""
        caller = getattr(self.pm.hook, hook)
        for impl in caller.get_hookimpls():  # registration order
            try:
                yield impl.plugin_name, impl.function(**kwargs)
            except Exception as e:
                info = self.plugins.get(impl.plugin_name)
                message = f"{hook} failed: {_describe(e)}"
                if info is not None and message not in info.errors:
                    info.errors.append(message)

    def _collect(self) -> None:
        self.commands = CommandTable()
        self.tools = {}
        self.settings = {}

        for hook, sink in (
            ("kshell_settings", lambda owner: lambda s: self.settings.setdefault(s.name, s)),
            ("kshell_tools", lambda owner: lambda t: self.tools.setdefault(t.name, t)),
            ("kshell_commands", lambda owner: lambda c: self._add_command(c, owner)),
        ):
            caller = getattr(self.pm.hook, hook)
            for impl in caller.get_hookimpls():  # registration order: core first
                try:
                    impl.function(register=sink(impl.plugin_name))
                except Exception as e:
                    self.plugins[impl.plugin_name].errors.append(f"{hook} failed: {_describe(e)}")

    def _add_command(self, command: Command, owner: str) -> None:
        problem = self.commands.add(command, owner)
        if problem:
            self.plugins[owner].errors.append(problem)

    # -- what plugins offer --------------------------------------------------

    def tool_env(self, tool: str, context: Any) -> ToolEnv:
        env: dict[str, str] = {}
        args: list[str] = []
        for _, result in self.call_each("kshell_tool_env", tool=tool, context=context):
            if result:
                env.update(result.env)
                args.extend(result.args)
        return ToolEnv(env=env, args=tuple(args))

    def load_errors(self) -> list[str]:
        return [f"plugin {p.name}: {e}" for p in self.plugins.values() for e in p.errors]
