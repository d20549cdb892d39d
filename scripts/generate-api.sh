#!/usr/bin/env bash
# Regenerate the REST contract's JSON Schema from the Python models (kale_ext/api/) and the TypeScript types from it
# and from the settings schema: kale_ext/api/api.schema.json, src/api/generated.ts, src/api/settings.ts.
# The API schema is not under schema/: every JSON file there is installed as a JupyterLab settings schema.
# `bash scripts/generate-api.sh --check` regenerates and fails when the committed files differ (CI runs it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python -m kale_ext.api.schema kale_ext/api/api.schema.json
node scripts/generate-api.mjs

if [ "${1:-}" = "--check" ]; then
  if ! git diff --exit-code -- kale_ext/api/api.schema.json src/api/generated.ts src/api/settings.ts; then
    echo "The generated API files are out of date: run 'jlpm build:api' and commit the result." >&2
    exit 1
  fi
fi
