"""Analysis time, every PTM head vs SUMO alone, side by side (400 residues).

    python scripts/bench_ptm_heads.py [--length 400] [--repeats 5]

Both annotators share one loaded backbone and run the app's path (`Annotator.annotate_many`: one
backbone pass, every head on its candidate residues, localization and contacts included); the
in-memory memo is cleared between calls so each is computed. The proteins are SCL2205 eval
sequences of about `--length` residues (p-scldata, fixed choice). Also prints the heads' sizes.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHIPPED_BEFORE = ("ptm_sumo", "localization")  # the heads before part 11


def near_length_proteins(length: int, n: int = 3) -> list:
    """The first `n` SCL2205 eval proteins (by accession) within 10 residues of `length`."""
    from scldata import loader

    from models.shared.sequences import Protein

    df = loader.load("eval")
    near = df[(df.seq.str.len() - length).abs() <= 10].sort_index()
    return [Protein(entry, (seq,)) for entry, seq in zip(near.index[:n], near.seq[:n])]


def time_interleaved(annotators: dict, proteins: list, repeats: int) -> dict[str, list[float]]:
    """Seconds per `annotate_many([protein])` call of each annotator, sharing the first one's
    backbone; configurations interleaved so drift hits all alike, the memo cleared so each call
    is computed."""
    shared = next(iter(annotators.values())).backbone
    for annotator in annotators.values():
        annotator.backbone = shared
        annotator.annotate_many(proteins[:1])  # loads heads, warms up
    times: dict[str, list[float]] = {name: [] for name in annotators}
    for _ in range(repeats):
        for name, annotator in annotators.items():
            for protein in proteins:
                annotator._cache.clear()
                started = time.perf_counter()
                annotator.annotate_many([protein])
                times[name].append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=400, help="residues of the proteins timed")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per configuration")
    args = parser.parse_args()

    from models.analysis.annotation import Annotator
    from models.shared.settings import HEADS_DIR

    proteins = near_length_proteins(args.length)

    before = Path(tempfile.mkdtemp(prefix="heads-before-"))
    for stem in SHIPPED_BEFORE:
        for suffix in (".json", ".safetensors"):
            shutil.copy(HEADS_DIR / f"{stem}{suffix}", before / f"{stem}{suffix}")
    annotators = {
        "SUMO + localization": Annotator(heads_dir=before),
        "every head": Annotator(heads_dir=HEADS_DIR),
    }
    times = time_interleaved(annotators, proteins, args.repeats)
    sizes = sum(p.stat().st_size for p in HEADS_DIR.glob("*.safetensors"))
    largest = max(HEADS_DIR.glob("*.safetensors"), key=lambda p: p.stat().st_size)
    lengths = ", ".join(str(p.length) for p in proteins)
    print(f"proteins: {', '.join(p.id for p in proteins)} ({lengths} residues); {args.repeats} repeats each")
    for name, values in times.items():
        heads = len(annotators[name].head_cards.sites)
        print(f"{name:>20}: {heads} site heads, median {statistics.median(values) * 1000:.0f} ms per protein")
    ratio = statistics.median(times["every head"]) / statistics.median(times["SUMO + localization"])
    print(f"ratio every head / SUMO + localization: {ratio:.2f} (target <= 1.30)")
    print(f"heads on disk: {sizes / 1e6:.1f} MB in all (target <= 45), largest {largest.name} "
          f"{largest.stat().st_size / 1e6:.1f} MB (limit 10)")  # fmt: skip


if __name__ == "__main__":
    main()
