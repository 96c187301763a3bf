"""The one YAML config file: contexts, the current one, explicit binaries, a mirror.

::

    current: default
    contexts:
      default:
        etcd.endpoint: http://127.0.0.1:4001
    binaries:
      fleetctl: /opt/fleet/fleetctl
    mirror: http://mirror.example/base

A malformed file is reported with its path and line and never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kshell import paths

DEFAULT_CONTEXT = "default"


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
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}: malformed YAML: {problem} (fix or move the file)") from e
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
    )


def read_raw(path: Path | None = None) -> dict[str, Any]:
    """The file's mapping as written (for dry runs, which change a copy in memory)."""
    return _read_raw(path or paths.config_file())


def parse(raw: dict[str, Any], path: Path | None = None) -> Config:
    return _parse(raw, path or paths.config_file())


def update_config(mutate: Callable[[dict[str, Any]], None], path: Path | None = None) -> Config:
    """Apply ``mutate`` to the raw mapping under a lock and write it back atomically."""
    path = path or paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with FileLock(str(path) + ".lock", timeout=10):
        raw = _read_raw(path)  # raises on a malformed file: never overwrite it
        mutate(raw)
        import yaml

        from kshell.atomic import write_atomic

        write_atomic(path, yaml.safe_dump(raw, sort_keys=False, default_flow_style=False), 0o600)
    return _parse(raw, path)
