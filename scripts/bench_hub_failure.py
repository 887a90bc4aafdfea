"""Time to "ESMFold unavailable" without the Hub: library vs app, side by side.

Time to the first "ESMFold unavailable" answer when the Hub cannot be reached: the library's own
path (`from_pretrained` with its retries) against the app's (one quick probe), in one run.

    python scripts/bench_hub_failure.py

The "Hub" is a closed loopback port (HF_ENDPOINT=http://127.0.0.1:9), so nothing outside this
machine is contacted; each path runs in a fresh process with an empty Hugging Face cache.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = """
import time, torch
from transformers import EsmForProteinFolding
t = time.perf_counter()
try:
    EsmForProteinFolding.from_pretrained("facebook/esmfold_v1", dtype=torch.float32)
except Exception as e:
    print(f"{time.perf_counter() - t:.2f} {type(e).__name__}")
"""
APP = """
import time
from models.structure.folding import Folder
t = time.perf_counter()
try:
    Folder("facebook/esmfold_v1", "cpu").load()
except Exception as e:
    print(f"{time.perf_counter() - t:.2f} {type(e).__name__}")
"""


def seconds(code: str) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    with tempfile.TemporaryDirectory() as home:
        env.update(HF_ENDPOINT="http://127.0.0.1:9", HF_HOME=home)
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    value, error = out.stdout.split()[-2:]
    return float(value), error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    library, library_error = seconds(LIBRARY)
    app, app_error = seconds(APP)
    print(f"from_pretrained alone: {library:.2f} s to {library_error}")
    print(f"the app's loader:      {app:.2f} s to {app_error}")
    print(f"ratio: {library / app:.0f}x faster")


if __name__ == "__main__":
    main()
