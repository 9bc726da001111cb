#!/usr/bin/env bash
# Installs the pinned Python tools (tools/requirements*.txt) into the project's .venv, once:
# each file is installed again only when it changed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
for req in "$@"; do
  marker=".venv/.installed-$(basename "$req")"
  if ! cmp -s "$req" "$marker"; then
    .venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$marker"
  fi
done
