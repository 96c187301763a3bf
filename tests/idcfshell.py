"""Helpers for the idcf tests: a temp HOME with credentials, and an in-process shell."""

from __future__ import annotations

import io
import os
from pathlib import Path

from cloudstackfake import API_KEY, SECRET_KEY

from kshell.dispatch import execute
from kshell.session import open_session

IDCF_ENV = (
    "IDCF_COMPUTE_HOST", "IDCF_COMPUTE_API_KEY", "IDCF_COMPUTE_SECRET_KEY",
    "KSHELL_IDCF_POLL_INTERVAL",
)  # fmt: skip


def isolate(monkeypatch, tmp_path: Path) -> Path:
    """HOME and KSHELL_HOME under ``tmp_path``, no IDCF variables; returns HOME."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KSHELL_HOME", str(tmp_path / "kshell-home"))
    for var in IDCF_ENV + ("KSHELL_PLUGINS", "KSHELL_CONTEXT"):
        monkeypatch.delenv(var, raising=False)
    return home


def write_idcfrc(home: Path, host: str, api_key: str = API_KEY, secret: str = SECRET_KEY,
                 mode: int = 0o600) -> Path:  # fmt: skip
    path = home / ".idcfrc"
    path.write_text(f"[account]\nhost={host}\napi_key={api_key}\nsecret_key={secret}\n")
    os.chmod(path, mode)
    return path


def write_idcfcloud(home: Path, text: str, mode: int = 0o600) -> Path:
    path = home / ".idcfcloud" / "config.ini"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


class Shell:
    """A session with the idcf plugin; ``run(line)`` → (status, stdout, stderr).

    Every output is kept in ``seen`` so a test can check that no key ever showed."""

    def __init__(self, plugins: str = "idcf", interactive: bool = False) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()
        self.session = open_session(plugins=plugins, out=self.out, err=self.err,
                                    interactive=interactive)  # fmt: skip
        self.seen: list[str] = []

    def run(self, line: str) -> tuple[int, str, str]:
        for buf in (self.out, self.err):
            buf.seek(0)
            buf.truncate()
        status = execute(self.session, line)
        out, err = self.out.getvalue(), self.err.getvalue()
        self.seen += [out, err]
        return status, out, err

    def ok(self, line: str) -> str:
        status, out, err = self.run(line)
        assert status == 0, (line, status, out, err)
        return out

    def fails(self, line: str, status: int = 1) -> str:
        got, out, err = self.run(line)
        assert got == status, (line, got, out, err)
        assert err.count("\n") == 1, err  # one line
        return err.strip()

    def assert_no_keys(self) -> None:
        text = "".join(self.seen)
        assert SECRET_KEY not in text and API_KEY not in text
        assert "signature=" not in text and "apikey=" not in text
