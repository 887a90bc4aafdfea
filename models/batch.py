"""Batch prediction over many records: the engine behind `predict.py` and the app's Batch tab.

Output layout (the same for the CLI and the tab's ZIP):

    summary.csv          one row per input record, in input order (nothing is dropped)
    localization.csv     id + one probability column per class + the most similar training
                         protein (UniProt entry, its class, cosine similarity)
    ptm_sites.csv        id, position, residue, type, probability: every candidate residue
    structures/<id>.pdb  scores/<id>.json (pLDDT, PAE, pTM)   contacts/<id>.npy (float16, L x L)
    records/<id>.json    per-record results; written last, so its presence means "done"

Why per-record files: a re-run skips records already done (resume), and processes launched by
`accelerate launch` each write their own records, which the main process merges into the CSVs
in input order. The work is cut into length-sorted chunks assigned round-robin to ranks; the
chunking does not depend on the number of processes, so every sequence is computed in the same
batch with any number of them and the merged output is byte-identical. Timings and devices are
kept out of the files for the same reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models.errors import BackboneUnavailable, FoldingOutOfMemory, FoldingUnavailable, SequenceError
from models.files import TEMP_PREFIX, safe_file_name, write_atomic
from models.sequences import Protein, RecordError, parse_records
from models.structure import Structure
from models.tasks import ALL_TASKS
from models.tasks import ANALYSIS_TASKS as FUNCTION_TASKS

if TYPE_CHECKING:  # the batch engine itself stays importable without torch (the app's UI uses it)
    from models.annotation import Annotation

log = logging.getLogger(__name__)

DEFAULT_TASKS = ALL_TASKS
DEFAULT_THRESHOLD = 0.5
CHUNK_RECORDS = 8  # records per unit of work: one annotate_many call, one rank
SUMMARY_COLUMNS = (
    "id",
    "length",
    "status",
    "error",
    "mean_plddt",
    "ptm",
    "top_localization",
    "top_localization_probability",
    "ptm_sites_above_threshold",
)
# localization.csv: the nearest training protein (its label votes in the prediction), so a
# proteome-scale table can be filtered on how close the evidence is. All five: records/<id>.json.
SIMILAR_COLUMNS = {
    "most_similar_training_entry": "entry",
    "most_similar_localization": "localization",
    "most_similar_similarity": "similarity",
}


@dataclass(frozen=True)
class Record:
    index: int  # 0-based position in the input
    id: str
    name: str  # file-name-safe, unique id used for output files
    protein: Protein | None
    error: str | None = None  # why the record cannot be predicted at all


def parse_tasks(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """'structure,ptm' -> ('structure', 'ptm') in canonical order; unknown names are an error."""
    names = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    unknown = [t for t in names if t not in ALL_TASKS]
    if unknown:
        raise ValueError(f"Unknown task {', '.join(map(repr, unknown))}; choose from {', '.join(ALL_TASKS)}.")
    if not names:
        raise ValueError(f"No task given; choose from {', '.join(ALL_TASKS)}.")
    return tuple(t for t in ALL_TASKS if t in names)


def decode_fasta(raw: bytes, source: str, max_bytes: int) -> str:
    """File bytes -> text: gzip detected by content, UTF-8 (BOM tolerated). Raises
    SequenceError naming the file and what is wrong with it."""
    if raw[:2] == b"\x1f\x8b":
        try:
            # Bounded: a small "zip bomb" must not expand past the limit in memory.
            decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            raw = decompressor.decompress(raw, max_bytes + 1)
        except zlib.error as error:
            raise SequenceError(f"{source} looks gzip-compressed but is damaged ({error}).") from error
    if len(raw) > max_bytes:
        raise SequenceError(
            f"{source} holds more than {max_bytes:,} bytes of text; split it into smaller files."
        )
    if b"\0" in raw[:8192]:
        raise SequenceError(f"{source} is a binary file (NUL bytes), not FASTA text.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SequenceError(
            f"{source} is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start:,}); "
            "give a FASTA text file."
        ) from error


def read_records(text: str, max_chars: int, max_records: int) -> list[Record]:
    """Parse a multi-FASTA into records; bad records carry their error. Raises SequenceError
    only for input-wide problems (empty, over the size or record limit)."""
    records: list[Record] = []
    seen: dict[str, int] = {}
    for index, parsed in enumerate(parse_records(text, max_chars=max_chars, max_records=max_records)):
        name = safe_file_name(parsed.id)
        error = parsed.message if isinstance(parsed, RecordError) else None
        protein = None if isinstance(parsed, RecordError) else parsed
        first = seen.get(name.lower())  # case-insensitive: some file systems are
        if first is not None:
            # Ids name the output files and the CSV rows: a duplicate would overwrite another
            # record's results, so it is reported (under a file name of its own) instead.
            error = (
                f"Record {index + 1} '{parsed.id}': same id as record {first + 1} (ids name the output "
                "files; upper/lower case counts as the same); give every record a unique id."
            )
            protein = None
            name = f"{name}.record{index + 1}"
        seen.setdefault(name.lower(), index)
        records.append(Record(index, parsed.id, name, protein, error))
    return records


def _sha(sequence: str) -> str:
    return hashlib.sha256(sequence.encode()).hexdigest()


def _record_path(out: Path, record: Record) -> Path:
    return out / "records" / f"{record.name}.json"


def is_done(out: Path, record: Record, tasks: tuple[str, ...]) -> bool:
    """Already predicted for these tasks in an earlier run (same sequence, nothing to retry)."""
    if record.protein is None:
        return False
    try:
        saved = json.loads(_record_path(out, record).read_text())
    except (OSError, ValueError):
        return False
    return (
        saved.get("sequence_sha256") == _sha(record.protein.sequence)
        and set(tasks) <= set(saved.get("tasks", []))
        and not set(tasks) & set(saved.get("retry", []))
    )


def plan(
    records: list[Record], tasks: tuple[str, ...], out: Path, rank: int = 0, world: int = 1
) -> list[list[Record]]:
    """This rank's chunks of pending records.

    Chunks are cut from the length-sorted pending list independently of `world`, so every
    sequence meets the same batch companions with any number of processes (identical output).
    Chunks are then dealt longest-first to the least-loaded rank (estimated cost grows with
    L^2: attention and contacts), so ranks finish together; each rank works short to long.
    """
    pending = [r for r in records if r.protein is not None and not is_done(out, r, tasks)]
    pending.sort(key=lambda r: (r.protein.length, r.index))
    chunks = [pending[i : i + CHUNK_RECORDS] for i in range(0, len(pending), CHUNK_RECORDS)]
    cost = [sum(r.protein.length * (1 + r.protein.length / 500) for r in c) for c in chunks]
    load = [0.0] * world
    mine = []
    for i in sorted(range(len(chunks)), key=lambda i: (-cost[i], i)):
        owner = min(range(world), key=lambda w: (load[w], w))
        load[owner] += cost[i]
        if owner == rank:
            mine.append(i)
    return [chunks[i] for i in sorted(mine)]


@dataclass(frozen=True)
class Failure:
    message: str
    transient: bool  # worth retrying on a re-run (not an input error, which would repeat)


def _failure(error: BaseException) -> Failure:
    if isinstance(error, SequenceError):
        return Failure(str(error), transient=False)
    if isinstance(error, BackboneUnavailable | FoldingUnavailable | FoldingOutOfMemory):
        return Failure(str(error), transient=True)
    log.error("Unexpected error in batch prediction", exc_info=error)
    return Failure(f"unexpected error ({type(error).__name__}); see the log", transient=True)


def _annotate_chunk(studio, proteins: list[Protein], tasks: tuple[str, ...]) -> list[Annotation | Failure]:
    """An annotation or a Failure per protein: one bad protein never fails the chunk."""
    try:
        return list(studio.annotate_many(proteins, tasks=tasks))
    except Exception as error:  # noqa: BLE001 - isolate the failing record below
        if len(proteins) == 1:
            return [_failure(error)]
        log.warning("Chunk of %d failed (%s); retrying one record at a time", len(proteins), error)
        return [_annotate_chunk(studio, [p], tasks)[0] for p in proteins]


def run(
    studio,
    records: list[Record],
    tasks: tuple[str, ...],
    out: Path,
    rank: int = 0,
    world: int = 1,
    progress: Callable[[int], None] | None = None,
    chunks: list[list[Record]] | None = None,
) -> int:
    """Predict this rank's pending records and write their files. Returns how many it did.
    `chunks`: this rank's `plan(...)` if the caller already made it (it reads every record file)."""
    out = Path(out)
    if rank == 0:
        for record in records:
            if record.protein is None:
                _write_record(out, record, tasks, {}, {"input": Failure(record.error, False)})
    function_tasks = tuple(t for t in tasks if t in FUNCTION_TASKS)
    done = 0
    for chunk in plan(records, tasks, out, rank, world) if chunks is None else chunks:
        failures: dict[int, dict[str, Failure]] = {r.index: {} for r in chunk}
        analysable = []
        for r in chunk:
            try:
                if function_tasks:
                    studio.annotator.check(r.protein)
                    analysable.append(r)
            except SequenceError as error:
                failures[r.index].update({t: _failure(error) for t in function_tasks})
        annotations = {}
        if analysable:
            answers = _annotate_chunk(studio, [r.protein for r in analysable], function_tasks)
            annotations = {r.index: a for r, a in zip(analysable, answers)}
        for r in chunk:
            results: dict[str, object] = {}
            annotation = annotations.get(r.index)
            if isinstance(annotation, Failure):
                failures[r.index].update({t: annotation for t in function_tasks})
            elif annotation is not None:
                results["annotation"] = annotation
            if "structure" in tasks:
                try:
                    results["structure"] = studio.fold(r.protein)  # checks foldability itself
                except Exception as error:  # noqa: BLE001 - reported per record, never fatal
                    failures[r.index]["structure"] = _failure(error)
            _write_record(out, r, tasks, results, failures[r.index])
            done += 1
            if progress:
                progress(1)
    return done


def _write_record(out: Path, record: Record, tasks, results: dict, failures: dict[str, Failure]) -> None:
    saved: dict = {
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
        write_atomic(out / "structures" / f"{record.name}.pdb", structure.pdb)
        scores = structure.scores()
        for volatile in ("seconds", "device", "notes", "chunk_size"):  # differ run to run
            scores.pop(volatile, None)
        scores["id"] = record.id
        write_atomic(out / "scores" / f"{record.name}.json", json.dumps(scores))
        saved["structure"] = {"mean_plddt": structure.mean_plddt, "ptm": structure.ptm}
    annotation: Annotation | None = results.get("annotation")
    if annotation is not None:
        if "localization" in tasks:
            saved["localization"] = annotation.localization
            saved["similar_training_proteins"] = annotation.similar
        if "ptm" in tasks:
            saved["ptm_sites"] = [
                {"position": s.position, "residue": s.residue, "type": s.type, "probability": s.probability}
                for s in annotation.sites
            ]
        if "contacts" in tasks and annotation.contacts is not None:
            buffer = io.BytesIO()
            np.save(buffer, annotation.contacts.astype(np.float16))
            write_atomic(out / "contacts" / f"{record.name}.npy", buffer.getvalue())
    write_atomic(_record_path(out, record), json.dumps(saved))


def _fmt(x: float | None, digits: int) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def merge(
    out: Path, records: list[Record], tasks: tuple[str, ...], threshold: float = DEFAULT_THRESHOLD
) -> list[dict]:
    """Write the CSVs from the per-record files, in input order. Returns the summary rows."""
    out = Path(out)
    rows, loc_rows, site_rows = [], [], []
    classes: list[str] = []
    for record in records:
        try:
            saved = json.loads(_record_path(out, record).read_text())
            if record.protein is not None and saved.get("sequence_sha256") != _sha(record.protein.sequence):
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
        localization = saved.get("localization") if "localization" in tasks else None
        sites = saved.get("ptm_sites") if "ptm" in tasks else None
        top = max(localization, key=localization.get) if localization else None
        rows.append(
            {
                "id": record.id,
                "length": record.protein.length if record.protein else "",
                "status": status,
                "error": message,
                "mean_plddt": _fmt(structure and structure["mean_plddt"], 2),
                "ptm": _fmt(structure and structure["ptm"], 4),
                "top_localization": top or "",
                "top_localization_probability": _fmt(localization[top] if top else None, 4),
                "ptm_sites_above_threshold": ""
                if sites is None
                else sum(s["probability"] >= threshold for s in sites),
            }
        )
        if localization:
            classes = classes or list(localization)
            nearest = (saved.get("similar_training_proteins") or [{}])[0]
            loc_rows.append(
                {
                    "id": record.id,
                    **{c: _fmt(localization[c], 6) for c in classes},
                    **{column: nearest.get(key, "") for column, key in SIMILAR_COLUMNS.items()},
                }
            )
        for s in sites or []:
            site_rows.append({"id": record.id, **s, "probability": _fmt(s["probability"], 4)})
    _write_csv(out / "summary.csv", SUMMARY_COLUMNS, rows)
    if "localization" in tasks:
        _write_csv(out / "localization.csv", ("id", *classes, *SIMILAR_COLUMNS), loc_rows)
    if "ptm" in tasks:
        _write_csv(out / "ptm_sites.csv", ("id", "position", "residue", "type", "probability"), site_rows)
    return rows


def _write_csv(path: Path, columns, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
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
