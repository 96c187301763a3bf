"""A small CloudStack client on ``requests``: signed calls, paging, async jobs, one-line errors.

``requests`` is imported when the first request is made. No message built here ever
holds the secret key, the API key or a signed URL: transport errors are reduced to a
short reason, API errors to the command, the API's own ``errortext`` and its code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from kshell import CommandError

from .signing import sign

PAGE_SIZE = 500  # the server caps pagesize at default.page.size (500 unless changed)
GET_LIMIT = 2048  # a longer signed query goes as a form POST (userdata needs it)
RATE_LIMIT_RETRIES = 3

# ApiErrorCode → what the user reads before the API's own text.
KINDS = {
    401: "the API refused the keys",
    405: "method not allowed",
    429: "API rate limit exceeded",
    430: "malformed parameter",
    431: "parameter error",
    432: "command not available to this account",
    530: "server error",
    531: "account error",
    532: "quota exceeded",
    533: "insufficient capacity",
    534: "resource unavailable",
    535: "resource allocation failed",
    536: "resource in use",
    537: "network rule conflict",
}


class ApiError(CommandError):
    """The API answered with an error: ``code`` is its errorcode, ``text`` its errortext."""

    def __init__(self, command: str, code: int, text: str) -> None:
        kind = KINDS.get(code, "error")
        hint = ""
        if code == 401:
            hint = "; check the keys (`idcf credentials` says where they come from)"
        elif code == 532:
            hint = "; free resources or ask IDCF to raise the limit"
        super().__init__(f"{command}: {kind} ({code}): {text}{hint}", 1)
        self.command = command
        self.code = code
        self.text = text


class Unreachable(CommandError):
    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(
            f"cannot reach the compute API at {endpoint} ({reason}); "
            "check the network and `idcf credentials`",
            69,  # EX_UNAVAILABLE
        )


class NotCloudStack(CommandError):
    def __init__(self, endpoint: str, what: str) -> None:
        super().__init__(
            f"{endpoint} did not answer like a CloudStack API ({what}); "
            "check idcf.endpoint / idcf.region (`idcf credentials`)",
            69,
        )


class JobTimeout(CommandError):
    def __init__(self, what: str, jobid: str, seconds: float) -> None:
        super().__init__(
            f"{what} still running after {seconds:g}s (job {jobid}); "
            f"`idcf job {jobid}` shows it later, or raise idcf.timeout",
            124,
        )


def _reason(exc: Exception) -> str:
    """A short cause for a transport error; never ``str(exc)``, which holds the signed URL."""
    import requests

    text = repr(exc)
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    for needle, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("Temporary failure in name resolution", "unknown host"),
        ("No route to host", "no route to host"),
        ("Network is unreachable", "network unreachable"),
        ("Connection reset", "connection reset"),
        ("RemoteDisconnected", "connection closed by the server"),
    ):
        if needle in text:
            return reason
    return type(exc).__name__


class Client:
    """One account on one endpoint. ``sleep`` and ``clock`` are injectable for the poller."""

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        secret_key: str,
        *,
        timeout: float = 30.0,
        poll_interval: float = 3.0,
        job_timeout: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        dry: Callable[[str], bool] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.dry = dry
        """``session.dry`` in a dry run: each call is printed (keys left out), none is sent."""
        self._api_key = api_key
        self._secret = secret_key
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.job_timeout = job_timeout
        self.sleep = sleep
        self.clock = clock
        self._http = None

    def __repr__(self) -> str:  # keys stay out of tracebacks and logs
        return f"Client({self.endpoint!r})"

    def _session(self):
        if self._http is None:
            import requests

            self._http = requests.Session()
        return self._http

    def signed(self, command: str, params: Mapping[str, Any]) -> dict[str, str]:
        """The parameters sent: lower-case names, strings, apikey, response=json, signature."""
        sent = {k.lower(): _text(v) for k, v in params.items() if v is not None}
        sent.update(command=command, apikey=self._api_key, response="json")
        sent["signature"] = sign(sent, self._secret)
        return sent

    def call(self, command: str, **params: Any) -> dict[str, Any]:
        """One synchronous call; returns the inside of the ``<command>response`` envelope."""
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                return self._call_once(command, params)
            except ApiError as e:
                if e.code != 429 or attempt == RATE_LIMIT_RETRIES:
                    raise
                self.sleep(max(self.poll_interval, 0) * (attempt + 1))
        raise AssertionError("unreachable")

    def _call_once(self, command: str, params: Mapping[str, Any]) -> dict[str, Any]:
        import requests

        if self.dry is not None:
            shown = " ".join(f"{k}={_text(v)}" for k, v in sorted(params.items())
                             if v is not None and k != "userdata")  # fmt: skip
            if self.dry(f"{command} {shown}".rstrip() + f" ({self.endpoint})"):
                from kshell import DryRunStop

                raise DryRunStop()
        sent = self.signed(command, params)
        large = sum(len(k) + len(v) + 2 for k, v in sent.items()) * 3 > GET_LIMIT
        try:
            if large or "userdata" in sent:
                r = self._session().post(self.endpoint, data=sent, timeout=self.timeout)
            else:
                r = self._session().get(self.endpoint, params=sent, timeout=self.timeout)
        except requests.RequestException as e:
            raise Unreachable(self.endpoint, _reason(e)) from None
        return self._unwrap(command, r)

    def _unwrap(self, command: str, r) -> dict[str, Any]:
        envelope = command.lower() + "response"
        try:
            body = json.loads(r.content.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            ctype = (r.headers.get("Content-Type") or "no content type").split(";")[0]
            raise NotCloudStack(self.endpoint, f"HTTP {r.status_code}, {ctype}") from None
        inner = body.get(envelope) if isinstance(body, dict) else None
        if inner is None and isinstance(body, dict) and len(body) == 1:
            only = next(iter(body.values()))  # some errors come in another command's envelope
            if isinstance(only, dict) and "errorcode" in only:
                inner = only
        if not isinstance(inner, dict):
            raise NotCloudStack(self.endpoint, f"HTTP {r.status_code}, no {envelope}")
        if "errorcode" in inner or r.status_code >= 400:
            code = int(inner.get("errorcode") or r.status_code)
            text = str(inner.get("errortext") or f"HTTP {r.status_code}")
            raise ApiError(command, code, text)
        return inner

    def list(self, command: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a ``list*`` call, page after page until ``count`` is reached."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            inner = self.call(command, page=page, pagesize=PAGE_SIZE, **params)
            batch = inner.get(key) or []  # an empty list is {} with no count and no key
            items += batch
            total = int(inner.get("count") or 0)
            if not batch or len(items) >= total:
                return items
            page += 1

    def wait(self, jobid: str, what: str) -> dict[str, Any]:
        """Poll ``queryAsyncJobResult`` until the job ends; returns its ``jobresult``."""
        start = self.clock()
        while True:
            job = self.call("queryAsyncJobResult", jobid=jobid)
            status = int(job.get("jobstatus") or 0)
            if status == 1:
                result = job.get("jobresult")
                return result if isinstance(result, dict) else {}
            if status == 2:
                result = job.get("jobresult") or {}
                code = int(result.get("errorcode") or job.get("jobresultcode") or 530)
                raise ApiError(what, code, str(result.get("errortext") or "the job failed"))
            if self.clock() - start >= self.job_timeout:
                raise JobTimeout(what, jobid, self.job_timeout)
            self.sleep(self.poll_interval)

    def run_async(self, command: str, what: str, **params: Any) -> dict[str, Any]:
        """Start an async command and wait for its result."""
        started = self.call(command, **params)
        jobid = started.get("jobid")
        if not jobid:
            raise NotCloudStack(self.endpoint, f"{command} returned no jobid")
        return self.wait(str(jobid), what)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
