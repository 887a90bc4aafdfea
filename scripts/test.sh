#!/usr/bin/env bash
# Install everything the tests need, then run every test (the README's test command; CI runs it).
#   Python packages: requirements.txt + requirements-test.txt (torch pinned to the CPU wheel)
#   Debian's chromium (browser tests) and npm (fetches 3Dmol.js), when missing
#   3Dmol.js from the npm registry, integrity-checked (components/threedmol.py)
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k api`.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet -r requirements.txt -r requirements-test.txt

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}"
fi

[ -s assets/vendor/3Dmol-min.js ] || python -m components.threedmol

ruff check .
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
python -m pytest "$@"
