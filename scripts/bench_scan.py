"""Time a ±15-position site-saturation scan around a SUMO site, through the app.

31 positions x 19 substitutions = 589 mutants, through `/scan` of the running app (the path
users take: parse, readout check, backbone passes in equal-length batches, the site head), and
the same mutants one per forward pass (the CPU default for analysis) in the same run, for the
ratio. The protein is a real 300-residue SCL2205 held-out entry with a lysine near its middle.

    python scripts/bench_scan.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 60.0
LENGTH, FLANK = 300, 15


def protein() -> tuple[str, str, int]:
    """(entry, sequence, lysine position) of the first held-out entry of exactly 300 residues
    with a lysine within 20 residues of its middle."""
    from scldata import loader

    frame = loader.load("heldout")
    for entry, sequence in zip(frame.index, frame.seq):
        if len(sequence) == LENGTH:
            middle = [i + 1 for i, aa in enumerate(sequence) if aa == "K" and abs(i + 1 - LENGTH // 2) <= 20]
            if middle:
                return entry, sequence, middle[0]
    raise SystemExit("no 300-residue entry with a central lysine in SCL2205 heldout")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    from gradio_client import Client

    from models.analysis.backbone import Backbone
    from models.variants.scan import mutants_of
    from tests.app_process import running_app
    from tests.tiny_models import save_tiny_esmfold

    entry, sequence, site = protein()
    first, last = site - FLANK, site + FLANK
    work = Path(tempfile.mkdtemp(prefix="bench-scan-"))
    tiny = save_tiny_esmfold(work / "tiny-esmfold")
    with running_app(["--fold-model", tiny, "--result-cache", "off"], work / "app.log") as url:
        client = Client(url, verbose=False)
        client.predict(sequence, "membrane probability", 1, 1, api_name="/scan")  # loads the backbone
        started = time.perf_counter()
        answer = client.predict(sequence, f"SUMOylation K{site}", first, last, api_name="/scan")
        seconds = time.perf_counter() - started
        # /mutate of the 19 substitutions at the site: every predictor, contacts included.
        singles = ", ".join(f"K{site}{aa}" for aa in "ACDEFGHILMNPQRSTVWY")
        client.predict(sequence, f"K{site}R", 0.5, api_name="/mutate")  # the wild type, once
        started = time.perf_counter()
        effects = client.predict(sequence, singles, 0.5, api_name="/mutate")["variants"]
        mutate_seconds = time.perf_counter() - started
    cells = sum(len(row) for row in answer["scores"]) - len(answer["scores"])
    verdict = "met" if seconds < TARGET_SECONDS else "NOT met"
    print(f"{entry}: {LENGTH} residues, SUMOylation K{site}, positions {first}-{last}: {cells} mutants")
    print(
        f"/scan through the app: {seconds:.1f} s "
        f"({seconds / TARGET_SECONDS:.2f} of the 60 s target: {verdict})"
    )

    print(
        f"/mutate of {len(effects)} variants at K{site} (wild type remembered): {mutate_seconds:.1f} s, "
        f"{mutate_seconds / len(effects) * 1000:.0f} ms per variant"
    )
    backbone = Backbone()
    backbone.load()
    mutants = [s for *_, s in mutants_of(sequence, list(range(first, last + 1)))][:64]
    started = time.perf_counter()
    backbone.run(mutants, contacts=False, token_budget=0)
    alone = (time.perf_counter() - started) / len(mutants)
    started = time.perf_counter()
    backbone.run(mutants, contacts=False, token_budget=1300)
    batched = (time.perf_counter() - started) / len(mutants)
    print(
        f"backbone per mutant: one per pass {alone * 1000:.0f} ms, 4 per pass {batched * 1000:.0f} ms "
        f"(batched / alone = {batched / alone:.2f}); 589 one per pass would take {alone * 589:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
