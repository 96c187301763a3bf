"""The active context: stored settings, the plugins' defaults and environment overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping

from kshell import Setting


def check_value(setting: Setting, value: str) -> str:
    """The normalised value, or ``ValueError`` with the reason.

    The one check for a setting's value, wherever it comes from: ``context set``, the
    config file, an environment override.
    """
    if setting.choices and value not in setting.choices:
        raise ValueError(f"must be one of: {', '.join(setting.choices)}")
    if setting.validate:
        return setting.validate(value)
    return value


def value_shown(setting: Setting, value: str) -> str:
    """A value as a message may show it: a secret masked, a URL's password too."""
    if setting.secret:
        return "****"
    import re

    return re.sub(r"(://[^/@\s]*?:)[^/@\s]*@", r"\1****@", value)


def reason_shown(setting: Setting, value: str, error: ValueError) -> str:
    """A validator's reason as it may be shown: the value it quotes as :func:`value_shown`."""
    reason = str(error)
    return reason.replace(value, value_shown(setting, value)) if value else reason


def env_override(setting: Setting | None) -> str | None:
    """The setting's environment override when it is set and valid (normalised), else None."""
    if setting is None or not setting.env:
        return None
    value = os.environ.get(setting.env)
    if not value:
        return None
    try:
        return check_value(setting, value)
    except ValueError:
        return None


def env_problems(settings: Mapping[str, Setting]) -> list[str]:
    """One line per environment override that is set but not valid (it is not used)."""
    problems = []
    for key, setting in sorted(settings.items()):
        value = os.environ.get(setting.env) if setting.env else None
        if not value:
            continue
        try:
            check_value(setting, value)
        except ValueError as e:
            shown = value_shown(setting, value)
            problems.append(
                f"${setting.env}={shown} is not a valid {key}: {reason_shown(setting, value, e)}; "
                f"ignored, the context's "
                f"value applies (fix or unset ${setting.env})"
            )
    return problems


class ActiveContext:
    """Implements ``kshell.Context``: each setting's effective value and its source."""

    def __init__(self, name: str, stored: Mapping[str, str], settings: Mapping[str, Setting]):
        self.name = name
        self.stored = dict(stored)
        self.settings = settings

    def source(self, key: str) -> str:
        setting = self.settings.get(key)
        if env_override(setting) is not None:
            assert setting is not None and setting.env
            return f"env {setting.env}"
        if key in self.stored:
            return "context"
        if setting and setting.default is not None:
            return "default"
        return "unset"

    def get(self, key: str) -> str | None:
        setting = self.settings.get(key)
        value = env_override(setting)  # an invalid one was reported at start, and is not used
        if value is not None:
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
