"""Where kshell keeps its files: config, state (history), cache (binaries).

``KSHELL_HOME`` puts all three under one directory (tests, portable installs);
otherwise the platform's user directories are used.
"""

from __future__ import annotations

import os
from pathlib import Path


def _base(kind: str) -> Path:
    home = os.environ.get("KSHELL_HOME")
    if home:
        return Path(home) / kind
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")("kshell", appauthor=False))


def config_dir() -> Path:
    return _base("config")


def state_dir() -> Path:
    return _base("state")


def cache_dir() -> Path:
    return _base("cache")


def config_file() -> Path:
    return config_dir() / "config.yaml"


def history_file() -> Path:
    return state_dir() / "history"
