"""Ask a binary for its version (``Tool.version_args``) and compare it with the pin."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import time
from pathlib import Path

from kshell import Tool

from .errors import ToolError

TIMEOUT = 10.0


def _normal(version: str) -> str:
    return version.strip().lstrip("vV")


def reported_version(tool: Tool, binary: Path, *, timeout: float = TIMEOUT) -> str:
    """The version ``binary`` reports, by ``tool.version_pattern``; ToolError when none."""
    argv = [str(binary), *tool.version_args]
    for attempt in range(5):
        try:
            result = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                env={**os.environ, **tool.version_env},
                timeout=timeout,
                check=False,
            )
            break
        except OSError as e:
            # A file just written may still be open for writing in a child another
            # thread forked a moment ago (ETXTBSY): wait for that child's exec.
            if e.errno == errno.ETXTBSY and attempt < 4:
                time.sleep(0.05 * (attempt + 1))
                continue
            raise ToolError(f"cannot run {binary}: {e.strerror or e}") from None
        except subprocess.TimeoutExpired:
            raise ToolError(
                f"`{' '.join(argv)}` did not answer within {timeout:g}s; is it {tool.name}?"
            ) from None
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    match = re.search(tool.version_pattern, output)
    if not match:
        first = output.strip().splitlines()[0][:120] if output.strip() else "no output"
        raise ToolError(
            f"`{' '.join(argv)}` reported no {tool.name} version (status "
            f"{result.returncode}: {first})"
        )
    return match.group(1)


def check_version(tool: Tool, binary: Path) -> str:
    """The reported version when it is the pinned one; ToolError naming both otherwise."""
    found = reported_version(tool, binary)
    if _normal(found) != _normal(tool.version):
        raise ToolError(f"{binary} reports {tool.name} {found}, but kshell pins {tool.version}")
    return found
