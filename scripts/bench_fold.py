"""Fold time and memory per length, plus the app's start-up time, in one run.

    python scripts/bench_fold.py [--fold-model DIR] [--lengths 50 300 600]

Without --fold-model it builds the tiny random ESMFold the tests use (numbers then measure the
pipeline's overhead, not real ESMFold speed). Prints medians of 3 runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def startup_seconds(model_dir: str, port: int = 7899) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--fold-model", model_dir],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - started < 120:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                return time.perf_counter() - started
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("app did not start within 120 s")
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fold-model", default=None)
    parser.add_argument("--lengths", type=int, nargs="+", default=[50, 300, 600])
    args = parser.parse_args()

    from models.shared.sequences import Protein
    from models.structure.folding import Folder

    model_dir = args.fold_model
    if model_dir is None:
        from tests.tiny_models import save_tiny_esmfold

        model_dir = str(save_tiny_esmfold(Path(tempfile.mkdtemp()) / "tiny-esmfold"))
    folder = Folder(model_dir, "auto")
    t = time.perf_counter()
    folder.load()
    print(f"model load: {time.perf_counter() - t:.2f} s ({model_dir})")
    base = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
    for length in args.lengths:
        sequence = (base * (length // len(base) + 1))[:length]
        times = []
        for _ in range(3):
            structure = folder.fold(Protein(f"len{length}", (sequence,)))
            times.append(structure.seconds)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"fold {length:>4} aa: median {statistics.median(times):.3f} s "
            f"(min {min(times):.3f}), chunk {structure.chunk_size}, peak RSS so far {peak_mb:.0f} MB"
        )
    print(f"app start-up (process start -> page served): {startup_seconds(model_dir):.1f} s")


if __name__ == "__main__":
    main()
