"""Batch outputs: the per-record files, the CSVs merged from them, and the ZIP.

Output layout (the same for the CLI and the app's Batch tab):

    summary.csv          one row per input record, in input order (nothing is dropped)
    localization.csv     id, chain + one probability column per class + the most similar
                         training protein (UniProt entry, its class, cosine similarity)
    ptm_sites.csv        id, chain, position, residue, type, probability: every candidate residue
    secondary/<id>.csv   per residue: chain, position, residue, ss3, ss8, rsa, each DSSP class's
                         probability (predicted from the sequence)
    structures/<id>.pdb  (with a header saying what produced it), structures/<id>.cif (ModelCIF)
    scores/<id>.json     (pLDDT, PAE, pTM, ipTM, per-chain pTM), scores/<id>.pae.json (AlphaFold
                         DB's PAE format)                     contacts/<id>.npy (float16, L x L)
    embeddings/<id>.npy  the backbone's last layer, (L, D) float16; embeddings_mean.npy (N, D)
                         float32, one row per protein (chain) as listed in embeddings_ids.csv
    records/<id>.json    per-record results; written last, so its presence means "done"

Each chain of a complex is analysed as its own protein (chain A, B, ... as in the PDB; a
monomer is chain A): one localization row per chain, PTM positions counted within the chain,
contacts/<id>/<chain>.npy, embeddings/<id>/<chain>.npy. The structure is one fold of the whole complex.

Why per-record files: a re-run skips records already done (resume), and processes launched by
`accelerate launch` each write their own records, which the main process merges into the CSVs
in input order. Timings and devices are kept out of the files, so that the merged output is
byte-identical with any number of processes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models.analysis.embeddings import MEAN_DTYPE, PER_RESIDUE_DTYPE, mean_embedding, npy_bytes
from models.analysis.secondary_prediction import csv_text
from models.batch.inputs import Record
from models.shared.files import TEMP_PREFIX, write_atomic
from models.structure.result import Structure
from models.structure.writing import pae_json, pdb_with_header, to_modelcif

if TYPE_CHECKING:  # the batch modules stay importable without torch (the app's UI uses them)
    from models.analysis.annotation import Annotation

DEFAULT_THRESHOLD = 0.5
# Version of the records/<name>.json layout; a record file of another layout is predicted again.
# 2: analysis results per chain (`chains`), so complexes are analysed chain by chain.
RECORD_LAYOUT = 2
SUMMARY_COLUMNS = (
    "id",
    "length",
    "status",
    "error",
    "mean_plddt",
    "ptm",
    "iptm",
    "helix",
    "strand",
    "coil",
    "top_localization",
    "top_localization_probability",
    "ptm_sites_above_threshold",
)
PTM_SITE_COLUMNS = ("id", "chain", "position", "residue", "type", "probability")
# embeddings_ids.csv: row i names row i of embeddings_mean.npy and its per-residue file.
EMBEDDING_ID_COLUMNS = ("id", "chain", "length", "file")
# localization.csv: the nearest training protein (its label votes in the prediction), so a
# proteome-scale table can be filtered on how close the evidence is. All five: records/<id>.json.
SIMILAR_COLUMNS = {
    "most_similar_training_entry": "entry",
    "most_similar_localization": "localization",
    "most_similar_similarity": "similarity",
}


@dataclass(frozen=True)
class Failure:
    """Why a task failed for a record, as its record file keeps it."""

    message: str
    transient: bool  # worth retrying on a re-run (not an input error, which would repeat)


def _sha(sequence: str) -> str:
    return hashlib.sha256(sequence.encode()).hexdigest()


def _record_path(out: Path, record: Record) -> Path:
    return out / "records" / f"{record.name}.json"


def chain_path(out: Path, folder: str, record: Record, chain: str, complex_: bool) -> Path:
    """<folder>/<name>.npy for a one-chain record; <folder>/<name>/<chain>.npy for each chain of
    a complex (a folder per record: no chain file can meet another record's file name)."""
    return out / folder / (f"{record.name}/{chain}.npy" if complex_ else f"{record.name}.npy")


def is_done(out: Path, record: Record, tasks: tuple[str, ...]) -> bool:
    """Already predicted for these tasks in an earlier run (same sequence, nothing to retry)."""
    if record.protein is None:
        return False
    try:
        saved = json.loads(_record_path(out, record).read_text())
    except (OSError, ValueError):
        return False
    return (
        saved.get("layout") == RECORD_LAYOUT
        and saved.get("sequence_sha256") == _sha(record.protein.sequence)
        and set(tasks) <= set(saved.get("tasks", []))
        and not set(tasks) & set(saved.get("retry", []))
    )


def write_record(out: Path, record: Record, tasks, results: dict, failures: dict[str, Failure]) -> None:
    """The record's result files, then `records/<id>.json` last: its presence means done."""
    saved: dict = {
        "layout": RECORD_LAYOUT,
        "index": record.index,
        "id": record.id,
        "tasks": list(tasks),
        "errors": {task: f.message for task, f in failures.items()},
        "retry": [task for task, f in failures.items() if f.transient],
    }
    if record.protein is not None:
        saved["length"] = record.protein.length
        saved["sequence_sha256"] = _sha(record.protein.sequence)
    structure: Structure | None = results.get("structure")
    if structure is not None:
        # No date in the header: the files are byte-identical whatever the run or process count.
        write_atomic(out / "structures" / f"{record.name}.pdb", pdb_with_header(structure))
        write_atomic(out / "structures" / f"{record.name}.cif", to_modelcif(structure))
        write_atomic(out / "scores" / f"{record.name}.pae.json", pae_json(structure))
        scores = structure.scores()
        for volatile in ("seconds", "device", "notes", "chunk_size"):  # differ run to run
            scores.pop(volatile, None)
        scores["id"] = record.id
        write_atomic(out / "scores" / f"{record.name}.json", json.dumps(scores))
        fractions = structure.summary().get("secondary_structure") or {}
        saved["structure"] = {
            "mean_plddt": structure.mean_plddt,
            "ptm": structure.ptm,
            "iptm": structure.iptm,
            **{k: fractions.get(k) for k in ("helix", "strand", "coil")},
        }
    annotations: list[tuple[str, Annotation]] | None = results.get("annotations")
    if annotations is not None:
        chains = []
        for letter, annotation in annotations:
            chain: dict = {"chain": letter, "length": len(annotation.sequence)}
            if "localization" in tasks:
                chain["localization"] = annotation.localization
                chain["similar_training_proteins"] = annotation.similar
            if "ptm" in tasks:
                chain["ptm_sites"] = [asdict(site) for site in annotation.sites]
            complex_ = len(annotations) > 1
            if "contacts" in tasks and annotation.contacts is not None:
                contacts = npy_bytes(annotation.contacts.astype(np.float16))
                write_atomic(chain_path(out, "contacts", record, letter, complex_), contacts)
            if "map" in tasks and annotation.map_vector is not None:
                # Exact float32 values; placed on the map all together by `write_map`.
                chain["map_vector"] = annotation.map_vector.tolist()
            if "embeddings" in tasks and annotation.embedding is not None:
                path = chain_path(out, "embeddings", record, letter, complex_)
                write_atomic(path, npy_bytes(annotation.embedding.astype(PER_RESIDUE_DTYPE)))
                chain["embedding_file"] = path.relative_to(out).as_posix()
                # Exact float32 values (JSON floats round-trip them); merged into embeddings_mean.npy.
                chain["embedding_mean"] = mean_embedding(annotation.embedding).tolist()
            chains.append(chain)
        if "secondary" in tasks and all(a.secondary is not None for _, a in annotations):
            parts = [(letter, a.sequence, a.secondary) for letter, a in annotations]
            path = out / "secondary" / f"{record.name}.csv"
            write_atomic(path, csv_text(parts))
            saved["secondary_file"] = path.relative_to(out).as_posix()
        saved["chains"] = chains
    write_atomic(_record_path(out, record), json.dumps(saved))


def _fmt(x: float | None, digits: int) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def merge(
    out: Path, records: list[Record], tasks: tuple[str, ...], threshold: float = DEFAULT_THRESHOLD
) -> list[dict]:
    """Write the CSVs from the per-record files, in input order. Returns the summary rows: the
    columns of summary.csv, plus `chain_top_localization`: [(chain, top class, probability)]."""
    out = Path(out)
    rows, loc_rows, site_rows, embedded = [], [], [], []
    classes: list[str] = []
    for record in records:
        try:
            saved = json.loads(_record_path(out, record).read_text())
            if saved.get("layout") != RECORD_LAYOUT or (
                record.protein is not None and saved.get("sequence_sha256") != _sha(record.protein.sequence)
            ):
                raise ValueError("stale")
        except (OSError, ValueError):
            saved = {"errors": {"all": "not predicted (a process stopped early); run again to resume"}}
        errors = {t: m for t, m in saved.get("errors", {}).items() if t in tasks or t in ("input", "all")}
        failed = set(errors) & set(tasks)
        status = "ok" if not errors else ("partial" if failed and failed != set(tasks) else "error")
        by_message: dict[str, list[str]] = {}  # one message, however many tasks it stopped
        for task, m in errors.items():
            by_message.setdefault(m, []).append(task)
        message = " | ".join(
            m if set(ts) & {"input", "all"} else f"{', '.join(ts)}: {m}" for m, ts in by_message.items()
        )
        structure = saved.get("structure") if "structure" in tasks else None
        chains = saved.get("chains") or []
        localized = [c for c in chains if c.get("localization")] if "localization" in tasks else []
        sited = [c for c in chains if "ptm_sites" in c] if "ptm" in tasks else []
        tops = [(c["chain"], *max(c["localization"].items(), key=lambda kv: kv[1])) for c in localized]
        top, top_probability = _top_localization(tops)
        rows.append(
            {
                "id": record.id,
                "length": record.protein.length if record.protein else "",
                "status": status,
                "error": message,
                "mean_plddt": _fmt(structure and structure["mean_plddt"], 2),
                "ptm": _fmt(structure and structure["ptm"], 4),
                # Complexes: interface pTM; every fold: DSSP fractions (records of an older run: "").
                "iptm": _fmt(structure and structure.get("iptm"), 4),
                **{k: _fmt(structure and structure.get(k), 4) for k in ("helix", "strand", "coil")},
                "top_localization": top,
                "top_localization_probability": _fmt(top_probability, 4),
                "ptm_sites_above_threshold": ""
                if not sited
                else sum(s["probability"] >= threshold for c in sited for s in c["ptm_sites"]),
                # Not CSV columns, for displays: each chain's (letter, top class, probability), and
                # each error by what it stopped (a task, or "input"/"all" for the whole record).
                "chain_top_localization": tops,
                "errors": errors,
            }
        )
        for chain in localized:
            localization = chain["localization"]
            classes = classes or list(localization)
            nearest = (chain.get("similar_training_proteins") or [{}])[0]
            loc_rows.append(
                {
                    "id": record.id,
                    "chain": chain["chain"],
                    **{c: _fmt(localization[c], 6) for c in classes},
                    **{column: nearest.get(key, "") for column, key in SIMILAR_COLUMNS.items()},
                }
            )
        if "embeddings" in tasks:
            embedded += [(record.id, c) for c in chains if "embedding_mean" in c]
        for chain in sited:
            for s in chain["ptm_sites"]:
                site_rows.append(
                    {"id": record.id, "chain": chain["chain"], **s, "probability": _fmt(s["probability"], 4)}
                )
    _write_csv(out / "summary.csv", SUMMARY_COLUMNS, rows)
    if "localization" in tasks:
        _write_csv(out / "localization.csv", ("id", "chain", *classes, *SIMILAR_COLUMNS), loc_rows)
    if "ptm" in tasks:
        _write_csv(out / "ptm_sites.csv", PTM_SITE_COLUMNS, site_rows)
    if "embeddings" in tasks:
        means = np.array([c["embedding_mean"] for _, c in embedded], dtype=MEAN_DTYPE)
        write_atomic(
            out / "embeddings_mean.npy", npy_bytes(means.reshape(len(embedded), -1 if embedded else 0))
        )
        ids = [
            {"id": i, "chain": c["chain"], "length": c["length"], "file": c["embedding_file"]}
            for i, c in embedded
        ]
        _write_csv(out / "embeddings_ids.csv", EMBEDDING_ID_COLUMNS, ids)
    return rows


MAP_COLUMNS = ("id", "chain", "x", "y", "nearest_entry", "nearest_localization")


def write_map(out: Path, records: list[Record], protein_map) -> list[dict]:
    """map.csv: every chain of every record with a map vector, in input order, placed on the
    protein map in one call (so the file does not depend on how records were split between
    processes), with the reference protein nearest it on the map. Returns the rows."""
    out = Path(out)
    placed: list[tuple[str, str, list[float]]] = []
    for record in records:
        try:
            saved = json.loads(_record_path(out, record).read_text())
        except (OSError, ValueError):
            continue
        chains = [c for c in saved.get("chains") or [] if "map_vector" in c]
        placed += [(record.id, c["chain"], c["map_vector"]) for c in chains]
    rows = []
    if placed:
        points = protein_map.place(np.array([v for *_, v in placed], np.float32))
        nearest = protein_map.nearest(points)
        classes = protein_map.classes
        for (record_id, chain, _), (x, y), k in zip(placed, points, nearest):
            rows.append(
                {
                    "id": record_id, "chain": chain, "x": f"{x:.3f}", "y": f"{y:.3f}",
                    "nearest_entry": protein_map.entries[k] if protein_map.entries else "",
                    "nearest_localization": classes[protein_map.labels[k]],
                }
            )  # fmt: skip
    _write_csv(out / "map.csv", MAP_COLUMNS, rows)
    return rows


def _top_localization(tops: list[tuple[str, str, float]]) -> tuple[str, float | None]:
    """summary.csv's top class and its probability from each chain's (letter, class, p). A
    complex gets one class per chain, 'A: Cytoplasm (0.6200); B: Secreted (0.4800)', and no
    single probability (localization.csv has every chain's probabilities)."""
    if not tops:
        return "", None
    if len(tops) == 1:
        return tops[0][1], tops[0][2]
    return "; ".join(f"{letter}: {name} ({p:.4f})" for letter, name, p in tops), None


def _write_csv(path: Path, columns, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def zip_outputs(out: Path, zip_path: Path) -> Path:
    """The CLI's output files as one ZIP (what the app's Batch tab offers for download)."""
    out = Path(out)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(out.rglob("*")):
            if (
                path.is_file()
                and path.resolve() != Path(zip_path).resolve()
                and not path.name.startswith(TEMP_PREFIX)
            ):
                archive.write(path, path.relative_to(out).as_posix())
    return Path(zip_path)
