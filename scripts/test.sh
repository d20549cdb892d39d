#!/usr/bin/env bash
# Install everything the tests need on a clean Debian machine, then run every check:
# lint (ruff, mypy, prettier, eslint, strict tsc), the Python suite (pytest + pytest-jupyter) and the browser suite
# (Playwright driving Debian's Chromium against a real JupyterLab). Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

# Debian packages: chromium for the browser tests, wrk for the serving benchmark and load test.
APT=()
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/lib/chromium/chromium ]; then APT+=(chromium); fi
if ! command -v wrk >/dev/null 2>&1; then APT+=(wrk); fi
if [ "${#APT[@]}" -gt 0 ]; then
  step "installing Debian's ${APT[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update && $SUDO apt-get install -y "${APT[@]}"
fi

VENV="${KALE_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  step "creating $VENV"
  python3 -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"

step "installing Python build and test dependencies"
# --no-build-isolation below builds every sdist dependency in this venv (kfp-server-api ships only an sdist): it needs
# setuptools and wheel here, which a fresh venv without a pip cache does not have.
python -m pip install -q --upgrade pip
python -m pip install -q 'jupyterlab>=4.6,<4.7' hatchling hatch-jupyter-builder hatch-nodejs-version \
  'jupyter-builder>=1.2,<2' editables build setuptools wheel

step "installing node packages and building the labextension"
export YARN_NPM_REGISTRY_SERVER="${YARN_NPM_REGISTRY_SERVER:-$(npm config get registry)}"  # jlpm ignores ~/.npmrc
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
jlpm install --immutable
jlpm build

step "installing kale_ext (editable) with its test extras (and the kfp, kserve and tune extras)"
python -m pip install -q --no-build-isolation -e '.[test,ui,kfp,kserve,tune]'
jupyter labextension develop --overwrite . >/dev/null

# torch's serializer is tested only where torch is installed. Take the CPU build when this machine holds it locally
# (the registry's default build is several GB of CUDA libraries), and say so when it does not.
if python -m pip install -q --no-index --no-deps 'torch==2.13.0' >/dev/null 2>&1; then
  python -m pip install -q 'torch==2.13.0'
else
  echo "note: no local CPU build of torch 2.13.0; the torch serializer tests will be skipped"
fi

step "checking that both halves are enabled"
jupyter labextension list 2>&1 | grep -E 'kale_ext.*enabled.*OK'
jupyter server extension list 2>&1 | grep -E 'kale_ext.*OK'

step "the generated REST contract is up to date (kale_ext/api/api.schema.json, src/api/generated.ts, src/api/settings.ts)"
bash scripts/generate-api.sh --check

step "lint: ruff, prettier, eslint, tsc --strict"
ruff check .
ruff format --check .
mypy  # the core packages listed in pyproject.toml's [tool.mypy]
jlpm lint:check

step "frontend unit tests (jest)"
jlpm test

step "Python tests"
python -m pytest tests -q

step "browser tests (Playwright + Debian chromium)"
python -m pytest ui-tests -q
