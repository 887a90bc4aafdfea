"""Reading a contact map the way contact-prediction benchmarks do (pure NumPy, no torch).

Long-range pairs are |i - j| >= 24; the usual figure of merit is the precision of the top L/5 of
them against Cβ-Cβ < 8 Å in a real structure (CASP's long-range P@L/5).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.shared.settings import CONTACTS_CARD

LONG_RANGE = 24  # minimum sequence separation of a long-range pair
CONTACT_CUTOFF = 8.0  # Å between Cβ atoms (Cα for glycine)


def top_long_range_pairs(
    contacts: np.ndarray, min_separation: int = LONG_RANGE, count: int | None = None
) -> list[tuple[int, int, float]]:
    """The `count` (default L // 5) most probable pairs with j - i >= min_separation, as 0-based
    (i, j, probability) with i < j, most probable first (ties: lower i, then lower j first)."""
    contacts = np.asarray(contacts, dtype=float)
    length = len(contacts)
    count = length // 5 if count is None else count
    i, j = np.triu_indices(length, min_separation)
    order = np.argsort(-contacts[i, j], kind="stable")[:count]
    return [(int(i[k]), int(j[k]), float(contacts[i[k], j[k]])) for k in order]


def long_range_precision(contacts: np.ndarray, cb: np.ndarray, min_separation: int = LONG_RANGE) -> float:
    """Fraction of the top L/5 long-range predicted pairs whose Cβ atoms lie within 8 Å."""
    cb = np.asarray(cb, dtype=float)
    true = np.linalg.norm(cb[:, None] - cb[None], axis=-1) < CONTACT_CUTOFF
    top = top_long_range_pairs(contacts, min_separation, len(cb) // 5)
    return float(np.mean([true[i, j] for i, j, _ in top]))


def read_contacts_card(path: Path = CONTACTS_CARD) -> dict | None:
    """The contact map's measured precision on real structures (assets/contacts.json, written by
    scripts/measure_trust.py); None when there is none."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
