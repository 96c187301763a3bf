"""kubecfg's glog failure lines, made into one line a person can act on.

kubecfg v0.3 fails with ``F<date> <time> <pid> kubecfg.go:<n>] <message>`` on stderr and
exit 255. For an API error the message holds a ``%#v`` dump of the Go request and then
``failed (<code>) <code> <text>: <body>``, where the body is the API's JSON ``Status``;
a 409 with a Status arrives as ``Status: failure (api.Status{… Message:"…" … Code:409})``;
a network error as ``Get "<url>": dial tcp …: connect: connection refused``. Only the
stable parts are read (tools-2014.md §4.5): never the request dump.
"""

from __future__ import annotations

import json
import re

_GLOG = re.compile(r"^([FEWI])\d{4} [\d:.]+\s+\d+ [\w.-]+:\d+\] ?(.*)$")
_FAILED = re.compile(r"failed \((\d{3})\) (\d{3} [^:]*): (.*)$", re.S)
_STATUS_DUMP = re.compile(r'Status: (\w+) \(api\.Status\{.*?Message:("(?:[^"\\]|\\.)*")'
                          r'.*?Code:(\d+)\}\)', re.S)  # fmt: skip
_NET = re.compile(r'^(?:Get|Post|Put|Delete) "?([^" ]+)"?: (.*)$', re.S)

HTTP_TEXT = {400: "Bad Request", 404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity",
             500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip


def fatal_message(stderr: str) -> str | None:
    """The message of kubecfg's ``F`` line (glog's other levels are dropped), if any."""
    found = None
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        m = _GLOG.match(line)
        if m and m.group(1) == "F":
            # a message may run over several lines (a body with newlines): keep them
            rest = [x for x in lines[i + 1 :] if not _GLOG.match(x)]
            found = "\n".join([m.group(2), *rest]).strip()
    return found


def _status_text(body: str) -> tuple[str, str] | None:
    """(message, reason) from the API's JSON Status body."""
    try:
        status = json.loads(body)
    except ValueError:
        return None
    if not isinstance(status, dict) or status.get("kind") != "Status":
        return None
    return str(status.get("message") or status.get("status") or ""), str(status.get("reason") or "")


def readable(message: str, master: str) -> str:
    """One line from a kubecfg fatal message: the HTTP status and the API's own words."""
    message = message.strip()
    prefix = ""
    for lead in ("Got request error: ", "error obtaining resource version for update: ",
                 "Error: "):  # fmt: skip
        if message.startswith(lead):
            if lead.startswith("error obtaining"):
                prefix = "reading the current version: "
            message = message[len(lead) :]
            break
    m = _FAILED.search(message)
    if m:
        code, text, body = int(m.group(1)), m.group(2), m.group(3).strip()
        parsed = _status_text(body)
        said = parsed[0] if parsed else body.splitlines()[0] if body else ""
        return f"{prefix}{text} from the API server: {said}" if said else f"{prefix}{text}"
    m = _STATUS_DUMP.search(message)
    if m:
        code = int(m.group(3))
        try:
            said = json.loads(m.group(2))
        except ValueError:
            said = m.group(2).strip('"')
        return f"{prefix}{code} {HTTP_TEXT.get(code, '')} from the API server: {said}".replace(
            "  ", " "
        )
    m = _NET.match(message)
    if m:
        return prefix + unreachable(master, m.group(2))
    return prefix + message.splitlines()[0] if message else "kubecfg failed"


def unreachable(master: str, detail: str) -> str:
    """The API server did not answer: say where, why, and what to do."""
    why = detail.strip()
    if "connection refused" in why:
        why = "connection refused"
    elif "timeout" in why or "deadline" in why:
        why = "timed out"
    elif "no such host" in why:
        why = "unknown host"
    else:
        why = why.split(": ")[-1]
    return (
        f"the API server is unreachable at {master} ({why}); open a tunnel to the master "
        f"with `kube tunnel open USER@HOST`, or point the context at it with "
        f"`context set kube.master URL`"
    )
