"""The active context: stored settings, the plugins' defaults and environment overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping

from kshell import Setting


class ActiveContext:
    """Implements ``kshell.Context``: each setting's effective value and its source."""

    def __init__(self, name: str, stored: Mapping[str, str], settings: Mapping[str, Setting]):
        self.name = name
        self.stored = dict(stored)
        self.settings = settings

    def source(self, key: str) -> str:
        setting = self.settings.get(key)
        if setting and setting.env and os.environ.get(setting.env):
            return f"env {setting.env}"
        if key in self.stored:
            return "context"
        if setting and setting.default is not None:
            return "default"
        return "unset"

    def get(self, key: str) -> str | None:
        setting = self.settings.get(key)
        if setting and setting.env:
            value = os.environ.get(setting.env)
            if value:
                if setting.validate:
                    try:  # normalise like a stored value; an invalid one is left for doctor
                        return setting.validate(value)
                    except ValueError:
                        pass
                return value
        if key in self.stored:
            return self.stored[key]
        return setting.default if setting else None

    def shown(self, key: str) -> str:
        """The value as it may be displayed: secrets masked."""
        value = self.get(key)
        setting = self.settings.get(key)
        if value is None:
            return "-"
        if setting and setting.secret:
            return "****" if value else ""
        return value
