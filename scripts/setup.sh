#!/usr/bin/env bash
# Set up the project's virtual environment (.venv) with everything it needs, idempotently.
#   scripts/setup.sh demo   -> the package and what the demo needs
#   scripts/setup.sh test   -> plus every optional extra, the test tools and system packages the tests use
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-demo}"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
VPY=.venv/bin/python
stamp=".venv/.simulacra-$mode-$(cat pyproject.toml scripts/setup.sh scripts/setup.d/*.sh 2>/dev/null | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
    exit 0
fi
"$VPY" -m pip install --quiet --upgrade pip
if [ "$mode" = "test" ]; then
    # hooks first: they install system packages and pre-build what needs special build flags
    for hook in scripts/setup.d/*.sh; do
        [ -e "$hook" ] || continue
        echo "setup: $hook"
        bash "$hook"
    done
    extras="$(sed -n 's/^# test-extras: *//p' scripts/setup.sh | head -1)"
    "$VPY" -m pip install --quiet -e ".[${extras}]"
else
    "$VPY" -m pip install --quiet -e .
fi
touch "$stamp"
# test-extras: test,spec,llm,augment,ray,torch,images,train,privacy,bench
