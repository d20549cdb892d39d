#!/usr/bin/env bash
# Build the release wheel from a clean tree and install it into a fresh venv with node hidden from PATH:
# both the labextension and the server extension must show up enabled, and the CLI must run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${KALE_VENV:-.venv}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

git clone -q . "$WORK/src"
"$VENV/bin/python" -m build --wheel --outdir "$WORK/dist" "$WORK/src" >"$WORK/build.log" 2>&1 \
  || { tail -40 "$WORK/build.log"; exit 1; }
WHEEL="$(ls "$WORK"/dist/kale_ext-*.whl)"
echo "built $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KB)"

python3 -m venv "$WORK/venv"
NO_NODE_PATH="$WORK/venv/bin"  # only the new venv: no node, no jlpm, no npm
if PATH="$NO_NODE_PATH" command -v node >/dev/null 2>&1; then echo "node is still on PATH"; exit 1; fi
PATH="$NO_NODE_PATH" "$WORK/venv/bin/pip" install -q "$WHEEL"
PATH="$NO_NODE_PATH" jupyter labextension list 2>&1 | grep -E 'kale_ext v[0-9.]+ .*enabled.*OK.*\(python, kale_ext\)'
PATH="$NO_NODE_PATH" jupyter server extension list 2>&1 | grep -E 'kale_ext [0-9.]+ .*OK'
PATH="$NO_NODE_PATH" kale-ext --version
echo "wheel check passed"
