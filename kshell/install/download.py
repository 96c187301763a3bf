"""Fetch one URL into a file: streamed, hashed, retried with backoff, with a progress bar.

``requests`` is imported inside the functions: importing kshell stays fast.
Proxies come from the environment (``HTTPS_PROXY`` …, the requests default).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ToolError
from .progress import Progress

RETRIES = 4
"""Attempts in all for connection errors, truncated bodies and 5xx answers (not 4xx)."""
BACKOFF = 0.1
"""Seconds before the first retry, doubled after each; tests set it to 0."""
BACKOFF_CAP = 5.0
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
"""Seconds without a byte before an attempt counts as failed."""
CHUNK = 64 * 1024

Log = Callable[[str], None]


def stderr_log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Downloaded:
    path: Path
    sha256: str
    size: int
    url: str


class _Retry(Exception):
    """A failure worth another attempt."""


def effective_mirror(configured: str | None) -> str | None:
    """``KSHELL_MIRROR`` when set (it wins), else the configured ``mirror:``."""
    env = os.environ.get("KSHELL_MIRROR", "").strip()
    return env or (configured or "").strip() or None


def mirror_url(url: str, mirror: str | None) -> str:
    """Replace the origin (scheme and host) of ``url`` with ``mirror``, keeping the path.

    ``https://github.com/coreos/fleet/releases/…`` with mirror ``http://m/base`` gives
    ``http://m/base/coreos/fleet/releases/…``.
    """
    if not mirror:
        return url
    parts = urlsplit(url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    return mirror.rstrip("/") + tail


def download(
    url: str,
    dest: Path,
    *,
    progress: bool | None = None,
    log: Log = stderr_log,
    label: str | None = None,
) -> Downloaded:
    """Write the body of ``url`` to ``dest`` and return its SHA-256.

    ``progress`` draws a bar on standard error (``None``: when it is a terminal).
    ``file://`` URLs are read directly. Raises :class:`ToolError` when every attempt
    failed; ``dest`` may then hold a partial file (the caller owns its directory).
    """
    if progress is None:
        progress = sys.stderr.isatty()
    label = label or url.rsplit("/", 1)[-1] or url
    bar = Progress(label, None, enabled=progress)
    if urlsplit(url).scheme == "file":
        return _copy_file(url, dest, bar)
    delay = BACKOFF
    for attempt in range(1, RETRIES + 1):
        try:
            return _attempt(url, dest, bar)
        except _Retry as e:
            bar.abandon()
            if attempt == RETRIES:
                raise ToolError(
                    f"download of {url} failed after {RETRIES} attempts: {e}; check the "
                    "network or proxy, set a mirror (KSHELL_MIRROR), or `bin use NAME PATH`"
                ) from None
            log(f"download of {label} failed ({e}); retry {attempt} of {RETRIES - 1} in {delay:g}s")
            time.sleep(delay)
            delay = min(max(delay * 2, 0.0), BACKOFF_CAP)
    raise AssertionError("unreachable")


def _attempt(url: str, dest: Path, bar: Progress) -> Downloaded:
    import requests

    headers = {"Accept-Encoding": "identity", "User-Agent": _user_agent()}
    try:
        response = requests.get(
            url, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), headers=headers
        )
    except requests.exceptions.SSLError as e:
        raise ToolError(f"download of {url} failed: TLS error: {_reason(e)}") from None
    except (requests.ConnectionError, requests.Timeout) as e:
        raise _Retry(_reason(e)) from None
    except requests.RequestException as e:
        raise ToolError(f"cannot download {url}: {_reason(e)}") from None
    with response:
        status = response.status_code
        if status >= 500:
            raise _Retry(f"HTTP {status} {response.reason}")
        if status != 200:
            raise ToolError(f"download of {url} failed: HTTP {status} {response.reason}")
        expected = _content_length(response)
        bar.restart(expected)
        digest = hashlib.sha256()
        received = 0
        try:
            with open(dest, "wb") as out:
                try:
                    for chunk in response.iter_content(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                except requests.RequestException as e:
                    after = f" after {received} bytes" if received else ""
                    raise _Retry(f"{_reason(e)}{after}") from None
        except OSError as e:
            raise ToolError(f"cannot write {dest}: {e.strerror or e}") from None
        encoding = response.headers.get("Content-Encoding", "identity").lower()
        on_wire = received if encoding == "identity" else response.raw.tell()
        if expected is not None and on_wire != expected:
            raise _Retry(f"truncated: received {on_wire} of {expected} bytes")
    bar.done()
    return Downloaded(dest, digest.hexdigest(), received, url)


def _copy_file(url: str, dest: Path, bar: Progress) -> Downloaded:
    from urllib.request import url2pathname

    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ToolError(f"cannot read {url}: only local file:// URLs are supported")
    source = Path(url2pathname(parts.path))
    digest = hashlib.sha256()
    size = 0
    try:
        with open(source, "rb") as src, open(dest, "wb") as out:
            bar.restart(os.fstat(src.fileno()).st_size)
            while chunk := src.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                bar.update(len(chunk))
    except FileNotFoundError:
        raise ToolError(f"not in the mirror: {source} does not exist") from None
    except OSError as e:
        raise ToolError(f"cannot copy {source}: {e.strerror or e}") from None
    bar.done()
    return Downloaded(dest, digest.hexdigest(), size, url)


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _reason(error: BaseException) -> str:
    """The innermost useful text of a requests/urllib3 exception chain, on one line."""
    text = str(error)
    current: BaseException = error
    for _ in range(10):
        inner = getattr(current, "reason", None)
        if not isinstance(inner, BaseException):
            inner = current.args[0] if current.args else None
        if isinstance(inner, str) and inner:
            text = inner
            break
        if not isinstance(inner, BaseException):
            break
        current, text = inner, str(inner)
    return " ".join(text.split()) or type(error).__name__


def _user_agent() -> str:
    from kshell import __version__

    return f"kshell/{__version__}"
