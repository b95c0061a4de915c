#!/usr/bin/env bash
# pymesos (pinned 0.3.15), an unmodified third-party Mesos client, against
# the standalone mock master: the scenarios in testkit/tests/pymesos/.
#
#   .ci/pymesos.sh          installs Python 3 (apt-get) if missing, then
#                           pymesos into a throwaway virtualenv, builds
#                           mock-master and runs every scenario.
#   .ci/pymesos.sh NAME...  runs only the named scenarios.
#
# pymesos depends on http-parser 0.9.0, whose sdist ships a C file generated
# by an old Cython that no longer compiles against Python 3.11: the C file is
# regenerated here with Cython < 3.1 before the build. If any of it cannot be
# installed the script fails (it never skips). Takes about a minute, most of
# it pip.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "pymesos.sh: $*" >&2; }

started=$SECONDS

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null \
    || ! command -v cc >/dev/null; then
    log "installing python3, python3-venv, python3-dev and gcc (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    packages=(python3 python3-venv python3-dev gcc)
    if ! apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2; then
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
    fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

log "virtualenv with $(python3 --version) in $work"
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install -q --disable-pip-version-check "cython<3.1" setuptools wheel

log "http-parser 0.9.0 from its sdist, its C file regenerated with Cython < 3.1"
"$py" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
    -d "$work" "http-parser==0.9.0"
tar -xzf "$work/http-parser-0.9.0.tar.gz" -C "$work"
(
    cd "$work/http-parser-0.9.0"
    rm -f http_parser/*.so
    if ! "$work/venv/bin/cython" -3 http_parser/parser.pyx -o http_parser/parser.c \
        >"$work/cython.log" 2>&1; then
        cat "$work/cython.log" >&2
        log "Cython could not regenerate http_parser/parser.c"
        exit 1
    fi
    "$py" -m pip install -q --disable-pip-version-check --no-build-isolation .
)

log "pymesos 0.3.15"
"$py" -m pip install -q --disable-pip-version-check "pymesos==0.3.15"
# The compiled parser, not the pure-Python fallback, and the pinned client.
"$py" - <<'EOF'
import http_parser.parser
import pymesos
from importlib.metadata import version
assert version("pymesos") == "0.3.15", version("pymesos")
assert version("http-parser") == "0.9.0", version("http-parser")
EOF
log "installed in $((SECONDS - started)) s"

cargo build -q -p corral-mock-master
scenarios_started=$SECONDS
mkdir -p "$work/logs"
if ! "$py" testkit/tests/pymesos/scenarios.py --master-bin target/debug/mock-master \
    --log-dir "$work/logs" "$@"; then
    for f in "$work"/logs/*.log; do
        log "---- $f (last 40 lines)"
        tail -n 40 "$f" >&2
    done
    exit 1
fi
log "scenarios passed in $((SECONDS - scenarios_started)) s ($((SECONDS - started)) s in all)"
