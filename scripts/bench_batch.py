"""Batch throughput for the analysis tasks, every mode side by side in one run.

    python scripts/bench_batch.py [--n 64] [--tasks ptm,localization,contacts]

On a fixed sample of SCL2205 eval sequences (<= 1,022 residues, seed 0), sequences/s for:
  naive loop   `Annotator.annotate_many([one])` per sequence (one forward each, no batching)
  batched      `Annotator.annotate_many(all)` in predict.py's chunks, 2,048-token batches
               (the GPU default; on CPU predict.py runs one sequence per forward, see below)
  1 process    `python predict.py` (whole command: start-up, model load, files written)
  2 processes  `accelerate launch --multi_gpu --num_processes 2 predict.py` (same; gloo on CPU)
  cold/cached  predict.py with an empty result cache, then again with a new --out (all hits)
The two in-process modes exclude model loading (loaded before timing); the CLI modes include it,
as a user waiting on the command sees it. Needs p-scldata and the fetched backbone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sample(n: int) -> list[tuple[str, str]]:
    from scldata import loader

    df = loader.load("eval")
    df = df[df.seq.str.len() <= 1022].sample(n, random_state=0)
    return list(zip(df.index, df.seq))


def in_process(records, tasks) -> dict[str, float]:
    from models.analysis.annotation import Annotator
    from models.batch.run import CHUNK_RECORDS
    from models.shared.sequences import Protein

    annotator = Annotator()
    annotator.heads()  # load before timing
    proteins = [Protein(i, (s,)) for i, s in records]
    out = {}
    started = time.perf_counter()
    for p in proteins:
        annotator._cache.clear()
        annotator.annotate_many([p], tasks=tasks)
    out["naive loop (one sequence per call)"] = time.perf_counter() - started
    annotator._cache.clear()
    annotator.backbone.token_budget = 2048  # batching on, whatever the device default
    by_length = sorted(proteins, key=lambda p: p.length)
    started = time.perf_counter()
    for i in range(0, len(by_length), CHUNK_RECORDS):
        annotator.annotate_many(by_length[i : i + CHUNK_RECORDS], tasks=tasks)
    out["batched (token-budget batches)"] = time.perf_counter() - started
    return out


def cli(fasta: Path, out: Path, tasks: str, cache: str, processes: int) -> float:
    launcher = [sys.executable]
    if processes > 1:
        launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes"]
        launcher += [
            str(processes),
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
        ]
    env = {**os.environ, "PROTEIN_STUDIO_RESULTS": cache}
    started = time.perf_counter()
    result = subprocess.run(
        [*launcher, "predict.py", str(fasta), "--out", str(out), "--tasks", tasks, "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"predict.py failed:\n{result.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--tasks", default="ptm,localization,contacts")
    args = parser.parse_args()
    from models.batch.inputs import parse_tasks

    tasks = parse_tasks(args.tasks)
    records = sample(args.n)
    residues = sum(len(s) for _, s in records)
    print(
        f"{len(records)} SCL2205 eval sequences, {residues:,} residues; tasks {','.join(tasks)}; "
        f"{os.cpu_count()} CPU cores"
    )
    times = in_process(records, tasks)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fasta = tmp / "sample.fasta"
        fasta.write_text("".join(f">{i}\n{s}\n" for i, s in records))
        times["predict.py, 1 process (no cache)"] = cli(fasta, tmp / "o1", args.tasks, "off", 1)
        times["predict.py, 2 processes (no cache)"] = cli(fasta, tmp / "o2", args.tasks, "off", 2)
        cache = str(tmp / "cache")
        times["predict.py, 1 process, cold cache"] = cli(fasta, tmp / "o3", args.tasks, cache, 1)
        times["predict.py, 1 process, cached"] = cli(fasta, tmp / "o4", args.tasks, cache, 1)
    base = times["naive loop (one sequence per call)"]
    print(f"{'mode':44s} {'seconds':>8s} {'seq/s':>7s} {'res/s':>8s} {'vs naive':>9s}")
    for mode, seconds in times.items():
        print(
            f"{mode:44s} {seconds:8.1f} {len(records) / seconds:7.2f} {residues / seconds:8.0f} "
            f"{base / seconds:8.2f}x"
        )
    pairs = [
        ("batched vs naive", "batched (token-budget batches)", "naive loop (one sequence per call)"),
        ("2 vs 1 process", "predict.py, 2 processes (no cache)", "predict.py, 1 process (no cache)"),
        ("cached vs cold", "predict.py, 1 process, cached", "predict.py, 1 process, cold cache"),
    ]
    for label, fast, slow in pairs:
        print(f"{label}: {times[slow] / times[fast]:.2f}x")


if __name__ == "__main__":
    main()
