"""`predict.py --variants FILE`: a CSV of (id, variant) in, `variant_effects.csv` out.

The variants of each record are predicted together by `models.variants.effects.mutate`, the path the
app's /mutate takes. It runs in the main process after the records are merged, in the CSV's
order, so the file is byte-identical with any number of processes. With the structure task the
wild type is folded first (from the result cache when it is there) and its variants with it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from models.batch.inputs import Record
from models.shared.errors import BackboneUnavailable, SequenceError
from models.shared.files import write_atomic
from models.variants.effects import effect_row, effects_csv
from models.variants.notation import VariantListError

EFFECTS_FILE = "variant_effects.csv"


@dataclass(frozen=True)
class VariantRow:
    id: str
    variant: str
    line: int  # in the CSV file, for messages


def read_variants_csv(text: str, source: str) -> list[VariantRow]:
    """Rows of a CSV with `id` and `variant` columns (others ignored). Raises ValueError naming
    the file and what is wrong (no header, a missing column, a row without an id)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in ("id", "variant") if c not in columns]
    if missing:
        raise ValueError(
            f"{source}: no {' or '.join(repr(c) for c in missing)} column; its first line must name the "
            f"columns, e.g. 'id,variant' (found: {', '.join(columns) or 'nothing'})."
        )
    rows, problems = [], []
    for line, raw in enumerate(reader, start=2):
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not row["id"] and not row["variant"]:
            continue  # a blank line
        if not row["id"]:
            problems.append(f"line {line}: no id")
        elif not row["variant"]:
            problems.append(f"line {line}: no variant for {row['id']!r}")
        else:
            rows.append(VariantRow(row["id"], row["variant"], line))
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise ValueError(f"{source}: {shown}.")
    if not rows:
        raise ValueError(f"{source}: no variants (one row per variant under the 'id,variant' header).")
    return rows


def predict_variants(
    studio, records: list[Record], rows: list[VariantRow], out: Path, fold: bool, threshold: float
) -> list[dict]:
    """Every variant's row of `variant_effects.csv` (written to `out`), in the CSV's order
    grouped by id; an id that is not in the FASTA, or a record that cannot be used, fails its
    rows with the reason and never the others."""
    by_id = {r.id: r for r in records}
    grouped: dict[str, list[VariantRow]] = {}
    for row in rows:
        grouped.setdefault(row.id, []).append(row)
    lines = []
    for record_id, entries in grouped.items():
        record = by_id.get(record_id)
        text = "\n".join(e.variant for e in entries)
        try:
            if record is None:
                raise SequenceError(f"no record with id {record_id!r} in the FASTA")
            if record.protein is None:
                raise SequenceError(f"its record cannot be used: {record.error}")
            if fold:
                try:
                    studio.fold(record.protein)  # its variants are folded when the wild type is
                except Exception:  # noqa: BLE001 - summary.csv reports the fold's own error
                    pass
            report = studio.mutate(record.protein, text, threshold, fold=fold)
        except (SequenceError, VariantListError, BackboneUnavailable) as error:
            failed = {"variant": "", "status": "error", "error": str(error)}
            lines += [effect_row(record_id, {**failed, "variant": e.variant}) for e in entries]
            continue
        lines += [effect_row(record_id, effect) for effect in report.to_json()["variants"]]
    write_atomic(Path(out) / EFFECTS_FILE, effects_csv(lines))
    return lines
