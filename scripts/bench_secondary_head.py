"""Analysis time with and without the secondary-structure head, side by side.

    python scripts/bench_secondary_head.py [--length 400] [--repeats 5]

Both annotators share one loaded backbone and run the app's path (`Annotator.annotate_many`: one
backbone pass feeding every head, contacts included); the in-memory memo is cleared between
calls so each is computed. The proteins are SCL2205 eval sequences of about `--length` residues
(p-scldata, fixed choice). Target: the head adds at most 10%.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
SECONDARY = "secondary_structure"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=400, help="residues of the proteins timed")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per configuration")
    args = parser.parse_args()

    from bench_ptm_heads import near_length_proteins, time_interleaved  # this folder's sibling

    from models.analysis.annotation import Annotator
    from models.shared.settings import HEADS_DIR

    proteins = near_length_proteins(args.length)
    without = Path(tempfile.mkdtemp(prefix="heads-without-secondary-"))
    for path in HEADS_DIR.iterdir():
        if path.stem != SECONDARY:
            shutil.copy(path, without / path.name)
    annotators = {"without": Annotator(heads_dir=without), "with secondary": Annotator(heads_dir=HEADS_DIR)}
    times = time_interleaved(annotators, proteins, args.repeats)
    lengths = ", ".join(str(p.length) for p in proteins)
    print(f"proteins: {', '.join(p.id for p in proteins)} ({lengths} residues); {args.repeats} repeats each")
    for name, values in times.items():
        print(f"{name:>15}: median {statistics.median(values) * 1000:.0f} ms per protein")
    ratio = statistics.median(times["with secondary"]) / statistics.median(times["without"])
    print(f"ratio with / without the secondary head: {ratio:.3f} (target <= 1.10)")
    sizes = sum(p.stat().st_size for p in HEADS_DIR.glob("*.safetensors"))
    head = HEADS_DIR / f"{SECONDARY}.safetensors"
    size = head.stat().st_size / 1e6
    print(f"heads on disk: {sizes / 1e6:.1f} MB in all (target <= 45); {head.name} {size:.2f} MB")


if __name__ == "__main__":
    main()
