"""End-to-end time of `python -m training site-head` on a realistic site set.

    python scripts/bench_site_head.py [--sites 5000] [--proteins 600] [--max-length 1000] [--out DIR]
    python scripts/bench_site_head.py --csv-only FILE [--sites N --proteins N --max-length N]

Generates synthetic proteins (random composition, lengths log-normal around a median of ~400,
capped at --max-length) with a learnable rule borrowed from proline-directed kinases: a serine
or threonine followed by a proline is modified (label 1), any other S/T is not (label 0). Half
the sites are modified. Then runs the real command (default recipe: 5 members, 5 epochs) in a
child process and prints the wall time, the per-stage seconds from the card, and the embedding
throughput. `--csv-only` writes the CSV and stops (the shipped example was made this way).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"


def synthetic_sites(n_sites: int, n_proteins: int, max_length: int, seed: int = 0) -> list[list]:
    """Rows id,sequence,position,label: n_sites (half modified) over n_proteins proteins."""
    rng = np.random.default_rng(seed)
    median = min(400, max_length * 0.4)
    lengths = np.clip(rng.lognormal(np.log(median), 0.5, n_proteins), 50, max_length).astype(int)
    candidates = {0: [], 1: []}
    for p, length in enumerate(lengths):
        seq = list(rng.choice(list(AMINO_ACIDS), length))
        for j in rng.choice(length - 1, max(2, length // 80), replace=False):  # S/T-P motifs
            seq[j], seq[j + 1] = rng.choice(["S", "T"]), "P"
        seq = "".join(seq)
        for i, aa in enumerate(seq):
            if aa in "ST":
                label = int(i + 1 < length and seq[i + 1] == "P")
                candidates[label].append((f"SYN{p:04d}", seq, i + 1, label))
    rows = []
    for label in (1, 0):
        pool = candidates[label]
        take = min(len(pool), n_sites // 2 if label else n_sites - len(rows))
        rows.extend(pool[i] for i in sorted(rng.choice(len(pool), take, replace=False)))
    rows.sort(key=lambda r: (r[0], r[2]))
    return [list(r) for r in rows]


def write_csv(path: Path, rows: list[list]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "sequence", "position", "label"])
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--proteins", type=int, default=600)
    parser.add_argument("--max-length", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="keep the CSV, head and card here")
    parser.add_argument("--csv-only", type=Path, default=None, help="write the CSV here and stop")
    args = parser.parse_args()
    rows = synthetic_sites(args.sites, args.proteins, args.max_length, args.seed)
    if args.csv_only:
        write_csv(args.csv_only, rows)
        print(f"{args.csv_only}: {len(rows)} sites, {sum(r[3] for r in rows)} modified")
        return
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-site-head-"))
    out.mkdir(parents=True, exist_ok=True)
    sites = out / "sites.csv"
    write_csv(sites, rows)
    sequences = {r[0]: r[1] for r in rows}
    lengths = np.array([len(s) for s in sequences.values()])
    print(
        f"{len(rows)} sites ({sum(r[3] for r in rows)} modified) on {len(sequences)} proteins, "
        f"{lengths.sum():,} residues, lengths {lengths.min()}-{lengths.max()} "
        f"(median {np.median(lengths):.0f})"
    )
    command = [sys.executable, "-m", "training", "site-head", "--name", "Phosphorylation (synthetic)"]
    command += ["--residues", "ST", "--sites", str(sites), "--out", str(out / "heads")]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - started
    if result.returncode:
        sys.exit(result.returncode)
    card = json.loads((out / "heads" / "ptm_phosphorylation_synthetic.json").read_text())
    stages = card["pipeline_seconds"]
    print(f"\nwall {wall:.0f} s end to end (process start to exit; card total {stages['total']} s)")
    for stage, seconds in stages.items():
        if stage != "total":
            print(f"  {stage:<12} {seconds:>5} s  {seconds / max(stages['total'], 1):>5.0%}")
    print(f"embedding: {lengths.sum() / max(stages['embedding'], 1):,.0f} residues/s")
    print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("test:", json.dumps(card["metrics"]["final"]["Test"]))


if __name__ == "__main__":
    main()
