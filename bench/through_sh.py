"""The baseline of the benchmarks: a tool call made from a plain Python script through sh,
its output going straight to this script's stdout and stderr, as kshell's does.

Usage: python bench/through_sh.py [--no-teardown] TOOL ARG...  (the environment is the
caller's). --no-teardown ends with os._exit, as the kshell command does, to show kshell's
start apart from the interpreter's teardown.
"""

import os
import sys

import sh

args = sys.argv[1:]
fast = args[0] == "--no-teardown"
if fast:
    args = args[1:]
sh.Command(args[0])(*args[1:], _out=sys.stdout, _err=sys.stderr)
if fast:
    sys.stdout.flush()
    os._exit(0)
