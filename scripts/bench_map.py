"""The protein map: placing 500 proteins together, and one by one, side by side.

    python scripts/bench_map.py [--n 500] [--one-at-a-time 50]

The proteins are SCL2205 eval sequences (p-scldata, first `--n` of at most 1,000 residues), put
through the app's path first (one backbone pass each, not timed); then their map vectors are
placed with `ProteinMap.place` as predict.py's map.csv does (all together), and a sample one call
per protein as the page does. Target: 500 records placed in under 10 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="records placed together")
    parser.add_argument("--one-at-a-time", type=int, default=50, help="records placed one call each")
    args = parser.parse_args()

    import numpy as np
    from scldata import loader

    from models.analysis.annotation import Annotator
    from models.analysis.protein_map import ProteinMap
    from models.shared.sequences import Protein

    df = loader.load("eval")
    df = df[df.seq.str.len() <= 1000].sort_index().iloc[: args.n]
    annotator = Annotator()
    started = time.perf_counter()
    annotations = annotator.annotate_many(
        [Protein(e, (s,)) for e, s in zip(df.index, df.seq)], contacts=False, tasks=("localization", "map")
    )
    embedding = time.perf_counter() - started
    shipped = annotator.heads().map
    # A fresh map object: its neighbour index timed alone (the app's is built in the background
    # when the heads load).
    protein_map = ProteinMap(
        shipped.card, shipped.reference, shipped.labels, shipped.entries, shipped.classes
    )
    started = time.perf_counter()
    protein_map.embedding()
    index = time.perf_counter() - started
    vectors = np.stack([a.map_vector for a in annotations])
    started = time.perf_counter()
    protein_map.place(vectors)
    together = time.perf_counter() - started
    started = time.perf_counter()
    for v in vectors[: args.one_at_a_time]:
        protein_map.place(v[None])
    single = (time.perf_counter() - started) / args.one_at_a_time
    print(f"{len(vectors)} SCL2205 eval proteins (backbone pass, not timed: {embedding:.0f} s)")
    print(f"neighbour index over {len(protein_map.coordinates):,} reference proteins, once: {index:.1f} s")
    met = "met" if together < 10 else "NOT met"
    print(f"placing {len(vectors)} together: {together:.2f} s (target < 10 s: {met})")
    one_by_one = single * len(vectors)
    print(f"placing one per call: {single * 1000:.0f} ms each; {len(vectors)} that way: {one_by_one:.1f} s "
          f"({one_by_one / together:.1f}x the time of placing them together)")


if __name__ == "__main__":
    main()
