"""Fetch, verify and install the pinned tools (fleetctl, etcdctl, kubecfg) on demand.

``installed_path`` is cheap (no hashing, no network); ``ensure_tool`` installs
when allowed or asked; ``install`` does the work. Failures raise :class:`ToolError`
(a :class:`kshell.CommandError` with a one-line ``.message``). Modules: ``platforms``
(platform key, release lookup), ``download`` (HTTP and ``file://``, retries, mirror
URLs), ``progress`` (the terminal bar), ``verify`` (digests and ``tools.lock.json``),
``extract`` (one member out of tar.gz/zip), ``probe`` (version report), ``installer``.
"""

from __future__ import annotations

from .download import effective_mirror, mirror_url
from .errors import ToolError
from .installer import (
    InstallResult,
    VerifyResult,
    describe,
    ensure_tool,
    install,
    install_dir,
    installed_path,
    not_installed_message,
    remove,
    target_path,
    use_binary,
    verify_installed,
    verify_user_binary,
)
from .platforms import platform_key, release_for
from .verify import forget, lock_path

__all__ = [
    "InstallResult",
    "ToolError",
    "VerifyResult",
    "describe",
    "effective_mirror",
    "ensure_tool",
    "forget",
    "install",
    "install_dir",
    "installed_path",
    "lock_path",
    "mirror_url",
    "not_installed_message",
    "platform_key",
    "release_for",
    "remove",
    "target_path",
    "use_binary",
    "verify_installed",
    "verify_user_binary",
]
