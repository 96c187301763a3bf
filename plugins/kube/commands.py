"""The ``kube …`` commands over the pinned kubecfg: names, parsers, completers.

Kept light: handlers (``handlers``) and completers (``complete``) load on first use.
"""

from __future__ import annotations

import argparse
import re

from kshell import Command, lazy


def _handler(name: str):
    return lazy(f"{__package__}.handlers", name)


def _completer(name: str):
    return lazy(f"{__package__}.complete", name)


# -- argument types: checked here, so kubecfg never sees what it would silently drop --


def _count(text: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise argparse.ArgumentTypeError(f"expected a number of replicas (0 or more), not {text!r}")
    return int(text)


def _port(text: str) -> int:
    if not re.fullmatch(r"\d+", text) or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a port between 1 and 65535, not {text!r}")
    return int(text)


def _port_spec(text: str) -> str:
    # kubecfg v0.3 logs and skips a bad spec, then creates the controller without that port
    for part in text.split(","):
        pieces = part.split(":")
        if len(pieces) != 2 or not all(re.fullmatch(r"\d+", p) for p in pieces):
            raise argparse.ArgumentTypeError(
                f"expected HOSTPORT:CONTAINERPORT[,…] (e.g. 8080:80), not {part!r}"
            )
        for p in pieces:
            _port(p)
    return text


def _duration(text: str) -> str:
    if not re.fullmatch(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+", text):
        raise argparse.ArgumentTypeError(f"expected a duration such as 30s or 1m0s, not {text!r}")
    return text


def _selector(text: str) -> str:
    for term in text.split(","):
        if not re.fullmatch(r"[^=!,]+(==|!=|=)[^=!,]*", term):
            raise argparse.ArgumentTypeError(
                f"expected KEY=VALUE[,KEY!=VALUE…] (e.g. name=hello), not {text!r}"
            )
    return text


# -- parsers --


def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-l", "--selector", type=_selector, metavar="SELECTOR",
                   help="label query, e.g. name=hello or tier!=db")  # fmt: skip
    p.add_argument("--json", action="store_true", help="the API's JSON")


def _target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="KIND/ID", help="e.g. pods/hello-pod, rc/web, svc/hello")


def _get_args(p: argparse.ArgumentParser) -> None:
    _target_args(p)
    p.add_argument("--json", action="store_true", help="the API's JSON")


def _file_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--file", required=True, metavar="FILE",
                   help="the object, as JSON or YAML")  # fmt: skip


def _create_args(p: argparse.ArgumentParser) -> None:
    _file_arg(p)
    p.add_argument("kind", metavar="KIND", nargs="?",
                   help="pods, replicationControllers, services, minions "
                   "(default: the kind the file declares)")  # fmt: skip


def _update_args(p: argparse.ArgumentParser) -> None:
    _file_arg(p)
    _target_args(p)


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", metavar="IMAGE", help="the container image, e.g. nginx")
    p.add_argument("replicas", type=_count, metavar="REPLICAS")
    p.add_argument("name", metavar="NAME", help="the controller's ID (and label)")
    p.add_argument("-p", "--ports", type=_port_spec, metavar="PORTS",
                   help="HOSTPORT:CONTAINERPORT[,…], e.g. 8080:80")  # fmt: skip
    p.add_argument("-s", "--service", type=_port, metavar="PORT",
                   help="also create a service NAME on this port")  # fmt: skip


def _rc_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("rc", metavar="RC", help="the replication controller's ID")


def _resize_args(p: argparse.ArgumentParser) -> None:
    _rc_arg(p)
    p.add_argument("replicas", type=_count, metavar="N")


def _rolling_args(p: argparse.ArgumentParser) -> None:
    _rc_arg(p)
    p.add_argument("-u", "--period", type=_duration, metavar="DURATION",
                   help="time between two pod replacements (kubecfg's default 1m0s)")  # fmt: skip
    p.add_argument("--image", "-image", metavar="IMAGE",
                   help="the new image of the first container")  # fmt: skip


LISTS = (
    ("pods", "pods", "List pods: ID, image(s), host, labels, status"),
    ("minions", "minions", "List the minions the API server knows"),
    ("services", "services", "List services: ID, labels, selector, port"),
    ("rcs", "replicationControllers", "List replication controllers: ID, images, selector, size"),
)  # fmt: skip


def _lister(kind: str):
    list_kind = _handler("list_kind")
    return lambda session, args: list_kind(session, args, kind)


def commands() -> list[Command]:
    target = {"target": _completer("kind_and_id")}
    rc = {"rc": _completer("controllers")}
    found = [
        Command(f"kube {word}", help_, _lister(kind), arguments=_list_args, read_only=True)
        for word, kind, help_ in LISTS
    ]
    found += [
        Command("kube get", "Show one object: kube get KIND/ID", _handler("get"),
                arguments=_get_args, completers=target, read_only=True),
        Command("kube create", "Create an object from a JSON or YAML file",
                _handler("create"), arguments=_create_args,
                completers={"file": _completer("files"), "kind": _completer("kind_names")},
                description="The file is read first: a syntax error names its line, and "
                "nothing is sent."),
        Command("kube update", "Replace an object from a JSON or YAML file",
                _handler("update"), arguments=_update_args,
                completers={"file": _completer("files"), **target}),
        Command("kube delete", "Delete an object: kube delete KIND/ID", _handler("delete"),
                arguments=_target_args, completers=target),
        Command("kube run", "Run IMAGE as a replication controller NAME with REPLICAS pods",
                _handler("run"), arguments=_run_args,
                description="Its pods are labelled replicationController=NAME. Pods get a "
                "minion only while a scheduler runs; `doctor` says when none does."),
        Command("kube resize", "Set a replication controller's replicas", _handler("resize"),
                arguments=_resize_args, completers=rc),
        Command("kube stop", "Resize a replication controller to 0", _handler("stop"),
                arguments=_rc_arg, completers=rc),
        Command("kube rm", "Delete a stopped replication controller", _handler("rm"),
                arguments=_rc_arg, completers=rc),
        Command("kube rollingupdate", "Replace a controller's pods one at a time",
                _handler("rollingupdate"), arguments=_rolling_args, completers=rc),
    ]  # fmt: skip
    return found
