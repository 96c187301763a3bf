"""The one YAML config file: contexts, the current one, explicit binaries, a mirror.

::

    current: default
    contexts:
      default:
        etcd.endpoint: http://127.0.0.1:4001
    binaries:
      fleetctl: /opt/fleet/fleetctl
    mirror: http://mirror.example/base

A malformed file is reported with its path and line and never overwritten. Stored
settings are checked when a session opens (:meth:`Config.checked`) with the validators
``context set`` uses: a bad value is reported once, with file:line, and not used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kshell import paths

if TYPE_CHECKING:
    from kshell import Setting

DEFAULT_CONTEXT = "default"
TOP_LEVEL = ("current", "contexts", "binaries", "mirror")


class ConfigError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Config:
    path: Path
    current: str = DEFAULT_CONTEXT
    contexts: dict[str, dict[str, str]] = field(default_factory=lambda: {DEFAULT_CONTEXT: {}})
    binaries: dict[str, str] = field(default_factory=dict)
    mirror: str | None = None
    unknown_keys: tuple[str, ...] = ()
    """Top-level keys kshell does not know (reported by :meth:`checked`)."""
    problems: list[str] = field(default_factory=list)
    """What :meth:`checked` found wrong in the file: one line each, with file:line."""
    invalid: dict[str, dict[str, str]] = field(default_factory=dict)
    """Stored values left out because they are not valid: context -> key -> reason."""
    session_contexts: dict[str, dict[str, str]] = field(default_factory=dict)
    """Contexts of this run only (the sandbox's): they shadow the file's, never written."""
    session_binaries: dict[str, str] = field(default_factory=dict)
    """Explicit binaries of this run only; a ``bin use`` path in the file wins over them."""
    settings: Mapping[str, Setting] | None = None
    """The settings :meth:`checked` validated against (kept for re-reads)."""

    def session_only(self, name: str) -> bool:
        return name in self.session_contexts

    def add_session_context(self, name: str, stored: dict[str, str]) -> None:
        self.session_contexts[name] = stored
        self.contexts[name] = stored

    def add_session_binary(self, tool: str, path: str) -> None:
        self.session_binaries[tool] = path
        self.binaries.setdefault(tool, path)

    def carry(self, old: Config) -> Config:
        """This freshly read config with ``old``'s session-only parts and checks; returns self."""
        if old.settings is not None:
            self.checked(old.settings, report=False)
        for name, stored in old.session_contexts.items():
            self.add_session_context(name, stored)
        for tool, path in old.session_binaries.items():
            self.add_session_binary(tool, path)
        return self

    def checked(self, settings: Mapping[str, Setting], *, report: bool = True) -> Config:
        """Validate every stored setting with the validators of ``context set``; returns self.

        A value that does not pass is left out of its context (the default applies) and
        recorded in ``invalid``; a key no loaded plugin reads stays (``context`` shows it,
        ``context unset`` removes it). With ``report``, ``problems`` says each once, with
        the file's line.
        """
        from kshell.context import check_value, reason_shown, value_shown

        self.settings = settings
        found: list[tuple[tuple[str, ...], str]] = []
        for name, stored in self.contexts.items():
            if name in self.session_contexts:
                continue
            for key, value in list(stored.items()):
                setting = settings.get(key)
                if setting is None:
                    found.append((("contexts", name, key), (
                        f"context `{name}`: unknown setting `{key}` (no loaded plugin reads it; "
                        f"`context unset {key}` removes it)"
                    )))  # fmt: skip
                    continue
                try:
                    stored[key] = check_value(setting, value)
                except ValueError as e:
                    del stored[key]
                    reason = reason_shown(setting, value, e)
                    self.invalid.setdefault(name, {})[key] = reason
                    shown = f"`{_one_line(value_shown(setting, value))}`"
                    what = f"{key}" if shown in reason else f"{key} {shown}"
                    found.append((("contexts", name, key), (
                        f"context `{name}`: invalid {what}: {reason}; not used "
                        f"(`context set {key} VALUE` or `context unset {key}` fixes it)"
                    )))  # fmt: skip
        for key in self.unknown_keys:
            found.append(((key,), f"unknown key `{key}` (known: {', '.join(TOP_LEVEL)}); ignored"))
        if report:
            where = _key_lines(self.path) if found else {}
            self.problems = [
                f"{self.path}:{where[k]}: {m}" if k in where else f"{self.path}: {m}"
                for k, m in found
            ]
        return self


def _one_line(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key_lines(path: Path) -> dict[tuple[str, ...], int]:
    """The line of each key in the file (top-level keys and contexts' settings).

    Only when something is wrong: it needs yaml, which an unchanged file never loads.
    """
    import yaml

    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    lines: dict[tuple[str, ...], int] = {}

    def pairs(node):
        return node.value if isinstance(node, yaml.MappingNode) else []

    for key, value in pairs(root):
        top = str(key.value)
        lines[(top,)] = key.start_mark.line + 1
        if top != "contexts":
            continue
        for name, settings in pairs(value):
            for setting, _ in pairs(settings):
                where = ("contexts", str(name.value), str(setting.value))
                lines[where] = setting.start_mark.line + 1
    return lines


def _yaml_problem(path: Path, e: Exception) -> str:
    """Where the broken construct begins and where the parser gave up, in one line."""
    problem_mark = getattr(e, "problem_mark", None)
    context_mark = getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    context = getattr(e, "context", None)
    if problem_mark is None:
        return f"{path}: malformed YAML: {problem} (fix or move the file)"
    gave_up = problem_mark.line + 1
    if context and context_mark is not None and context_mark.line + 1 != gave_up:
        begins = context_mark.line + 1
        return (
            f"{path}:{begins}: malformed YAML: {context} that begins at line {begins}, "
            f"{problem} at line {gave_up} (fix or move the file)"
        )
    if context:
        problem = f"{context}, {problem}"
    return f"{path}:{gave_up}: malformed YAML: {problem} (fix or move the file)"


def _read_raw(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the config file: {e}") from e
    if not text.strip():
        return {}
    cached = _cached_parse(text)
    if cached is not None:
        return cached
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(_yaml_problem(path, e)) from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the config file must be a mapping of settings")
    _remember_parse(text, data)
    return data


# Importing yaml costs ~20 ms at every start; the parsed file is kept as JSON in the
# cache directory beside the text it came from, so an unchanged file needs no yaml.


def _parse_cache() -> Path:
    return paths.cache_dir() / "config-parsed.json"


def _cached_parse(text: str) -> dict[str, Any] | None:
    import json

    try:
        entry = json.loads(_parse_cache().read_text(encoding="utf-8"))
        if entry.get("text") == text and isinstance(entry.get("data"), dict):
            return entry["data"]
    except (OSError, ValueError, AttributeError):
        pass
    return None


def _remember_parse(text: str, data: dict[str, Any]) -> None:
    import json

    from kshell.atomic import write_atomic

    try:
        payload = json.dumps({"text": text, "data": data})
        write_atomic(_parse_cache(), payload, 0o600)
    except (OSError, TypeError, ValueError):
        pass  # not JSON-shaped (dates…) or a read-only cache: parse with yaml next time


def _mapping(path: Path, data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: `{key}` must be a mapping")
    return value


def load_config(path: Path | None = None) -> Config:
    path = path or paths.config_file()
    return _parse(_read_raw(path), path)


def _parse(raw: dict[str, Any], path: Path) -> Config:
    contexts: dict[str, dict[str, str]] = {}
    for name, settings in _mapping(path, raw, "contexts").items():
        settings = settings or {}
        if not isinstance(settings, dict):
            raise ConfigError(f"{path}: context `{name}` must be a mapping of settings")
        contexts[str(name)] = {str(k): str(v) for k, v in settings.items() if v is not None}
    contexts.setdefault(DEFAULT_CONTEXT, {})
    binaries = {str(k): str(v) for k, v in _mapping(path, raw, "binaries").items()}
    mirror = raw.get("mirror")
    return Config(
        path=path,
        current=str(raw.get("current") or DEFAULT_CONTEXT),
        contexts=contexts,
        binaries=binaries,
        mirror=str(mirror) if mirror else None,
        unknown_keys=tuple(str(k) for k in raw if k not in TOP_LEVEL),
    )


def read_raw(path: Path | None = None) -> dict[str, Any]:
    """The file's mapping as written (for dry runs, which change a copy in memory)."""
    return _read_raw(path or paths.config_file())


def parse(raw: dict[str, Any], path: Path | None = None, keep: Config | None = None) -> Config:
    """``raw`` as a Config; ``keep``: the config it replaces (session-only parts, checks)."""
    config = _parse(raw, path or paths.config_file())
    return config.carry(keep) if keep is not None else config


def update_config(
    mutate: Callable[[dict[str, Any]], None], path: Path | None = None, keep: Config | None = None
) -> Config:
    """Apply ``mutate`` to the raw mapping under a lock and write it back atomically.

    ``keep``: the config this replaces; its session-only contexts and binaries (never in
    the file) and its checks carry over to the result."""
    path = path or paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with FileLock(str(path) + ".lock", timeout=10):
        raw = _read_raw(path)  # raises on a malformed file: never overwrite it
        mutate(raw)
        import yaml

        from kshell.atomic import write_atomic

        write_atomic(path, yaml.safe_dump(raw, sort_keys=False, default_flow_style=False), 0o600)
    return parse(raw, path, keep)
