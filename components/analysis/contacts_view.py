"""The Contacts tab's list and downloads: the top L/5 long-range contacts, a CSV of the likely
pairs, the full map as .npy, and the top contacts as lines for the 3D viewer."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import numpy as np

from models.analysis.contacts import LONG_RANGE, top_long_range_pairs
from models.shared.files import safe_file_name, write_atomic

TOP_CONTACT_COLUMNS = ["i", "j", "probability"]
CSV_MIN_PROBABILITY = 0.1  # pairs written to the CSV: the rest of the map is near zero

Point = tuple[float, float, float]


def top_contacts_rows(contacts: np.ndarray, min_separation: int = LONG_RANGE) -> list[list]:
    """Rows for a gr.Dataframe (TOP_CONTACT_COLUMNS): the L/5 most probable pairs with
    |i−j| ≥ min_separation, 1-based, i < j, most probable first."""
    return [[i + 1, j + 1, round(p, 3)] for i, j, p in top_long_range_pairs(contacts, min_separation)]


def contacts_csv_text(contacts: np.ndarray, min_probability: float = CSV_MIN_PROBABILITY) -> str:
    """`i,j,probability` for every pair with probability > min_probability, 1-based, i < j, in
    order of i then j."""
    contacts = np.asarray(contacts, dtype=float)
    i, j = np.triu_indices(len(contacts), 1)
    keep = contacts[i, j] > min_probability
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["i", "j", "probability"])
    writer.writerows((a + 1, b + 1, f"{p:.4f}") for a, b, p in zip(i[keep], j[keep], contacts[i, j][keep]))
    return out.getvalue()


def write_contact_files(record_id: str, contacts: np.ndarray, root: Path) -> tuple[str, str]:
    """(CSV path, .npy path) of this map, for two gr.File outputs. Each map gets its own folder
    (named by a digest of the map), so two requests never overwrite each other's files."""
    contacts = np.asarray(contacts, dtype=np.float32)
    digest = hashlib.sha1(record_id.encode() + contacts.tobytes()).hexdigest()[:12]
    stem = safe_file_name(record_id or "protein") + "_contacts"
    folder = Path(root) / digest
    csv_path, npy_path = folder / f"{stem}.csv", folder / f"{stem}.npy"
    write_atomic(csv_path, contacts_csv_text(contacts))
    buffer = io.BytesIO()
    np.save(buffer, contacts)
    write_atomic(npy_path, buffer.getvalue())
    return str(csv_path), str(npy_path)


def contact_lines(
    contacts: np.ndarray, ca: np.ndarray, min_separation: int = LONG_RANGE
) -> list[tuple[Point, Point, float]]:
    """The top L/5 long-range pairs as (Cα of i, Cα of j, probability): what
    `render_structure(..., contacts=...)` draws. `ca`: the fold's (L, 3) Cα coordinates."""
    ca = np.asarray(ca, dtype=float)
    if len(ca) != len(contacts):
        return []  # a structure of another sequence: drawing its pairs would mislead
    return [
        (tuple(map(float, ca[i])), tuple(map(float, ca[j])), p)
        for i, j, p in top_long_range_pairs(contacts, min_separation)
    ]
