"""``kube wait minions N`` and ``kube wait pod ID --state S``: bounded polls for recipes.

Each polls the API server once a second, shows ``session.progress`` on a terminal, and
on timeout says what was reached (exit status 1).
"""

from __future__ import annotations

import time

from kshell import CommandError

from .health import API, ApiError, get_json, items, master, pod_host, pod_status

POLL = 1.0
STATES = ("Waiting", "Running", "Terminated")


def _poll(session, text: str, timeout: float, step):
    """Call ``step()`` until it returns a true value or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    with session.progress(text):
        while True:
            value = step()
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(min(POLL, max(deadline - time.monotonic(), 0.05)))


def wait_minions(session, args) -> int:
    want = args.count
    if want < 1:
        raise CommandError("the number of minions must be 1 or more", 2)
    url, shown = master(session)
    seen: dict[str, object] = {"minions": [], "error": None}

    def step() -> bool:
        try:
            seen["minions"] = [str(m.get("id")) for m in items(get_json(url, f"{API}/minions"))]
            seen["error"] = None
        except ApiError as e:
            seen["error"] = e.message
            return False
        return len(seen["minions"]) >= want  # type: ignore[arg-type]

    ok = _poll(session, f"kube wait: {want} minion(s) at {shown}", args.timeout, step)
    minions: list[str] = seen["minions"]  # type: ignore[assignment]
    if ok:
        session.echo(f"{len(minions)} minion(s) registered: {', '.join(minions)}")
        return 0
    reached = f"{len(minions)} of {want} minion(s) after {args.timeout:g}s"
    if minions:
        reached += f" ({', '.join(minions)})"
    if seen["error"]:
        reached += f"; last try at {shown}: {seen['error']}"
    raise CommandError(reached + "; is kube-register running? (doctor)", 1)


def wait_pod(session, args) -> int:
    from urllib.parse import quote

    url, shown = master(session)
    pid = args.id
    path = f"{API}/pods/{quote(pid, safe='')}"
    seen: dict[str, object] = {"pod": None, "error": None}

    def step() -> bool:
        try:
            seen["pod"] = get_json(url, path)
            seen["error"] = None
        except ApiError as e:
            seen["pod"] = None
            seen["error"] = "no such pod yet" if e.status == 404 else e.message
            return False
        return pod_status(seen["pod"]) == args.state  # type: ignore[arg-type]

    ok = _poll(session, f"kube wait: pod {pid} {args.state} at {shown}", args.timeout, step)
    pod = seen["pod"]
    if ok and isinstance(pod, dict):
        host = pod_host(pod)
        session.echo(f"pod {pid} is {args.state}" + (f" on {host}" if host else ""))
        return 0
    if not isinstance(pod, dict):
        raise CommandError(
            f"pod {pid} not {args.state} after {args.timeout:g}s: {seen['error']} at {shown}", 1
        )
    state = pod_status(pod) or "in no state"
    host = pod_host(pod)
    where = f"on {host}" if host else "with no host (is a scheduler running? doctor shows it)"
    raise CommandError(
        f"pod {pid} is {state} {where}, not {args.state}, after {args.timeout:g}s", 1
    )
