"""Batch tab: a multi-FASTA in, the same CSVs and files as `predict.py` out (table + ZIP)."""

from __future__ import annotations

import html
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from components.analysis.map_plot import map_figure
from components.structure.tab import error_html
from models.batch.inputs import decode_fasta, parse_tasks, read_records
from models.batch.outputs import SUMMARY_COLUMNS, merge, write_map, zip_outputs
from models.batch.run import run
from models.shared.errors import SequenceError
from models.shared.tasks import ALL_TASKS, ANALYSIS_TASKS, MAP

log = logging.getLogger(__name__)

MAX_BATCH_BYTES = 5 * 1024**2  # same as the upload limit the app sets
DEFAULT_MAX_BATCH_RECORDS = 500
DEFAULT_MAX_BATCH_FOLDS = 20  # a fold can take minutes on CPU; proteomes belong to predict.py
# summary.csv's columns, the long error text last so the numbers stay in view. The first
# column is the record id (a row click can find the record by the row's index, see BatchTab).
# The table shows the headline columns; ipTM and the DSSP fractions are in summary.csv.
CSV_ONLY = ("error", "iptm", "helix", "strand", "coil")
TABLE_COLUMNS = [c for c in SUMMARY_COLUMNS if c not in CSV_ONLY] + ["error"]
TABLE_HEADERS = [
    *("id", "length", "status", "mean pLDDT", "pTM"),
    *("top localization", "top localization (%)", "PTM sites ≥ 0.5", "error"),
]
# Wide enough for every header word and status ("partial") on one line: no word is broken.
COLUMN_WIDTHS = ["16%", "7%", "8%", "8%", "6%", "17%", "10%", "9%", "19%"]
# How the status line counts records: the analysis tasks come from one backbone pass, so they
# are counted together ("3 analysed, 0 folded").
TASK_GROUPS = (
    ("analysed", ANALYSIS_TASKS),
    ("folded", ("structure",)),
    ("with embeddings", ("embeddings",)),
    ("on the map", (MAP,)),
)


@dataclass
class BatchTab:
    upload: gr.File
    tasks: gr.CheckboxGroup
    button: gr.Button
    status: gr.HTML
    table: gr.Dataframe
    download: gr.File
    # The batch's records, one per table row in the same order (so row i of a select event is
    # records[i]; ids may repeat): {"id": str, "description": str (the header without '>'),
    # "sequence": str, chains joined by ':', or None where the record could not be read}.
    records: gr.State
    map_plot: gr.Plot  # every record on the protein map (the "map" task)

    @property
    def outputs(self) -> list:
        return [self.status, self.table, self.download, self.records, self.map_plot]

    @property
    def progress_on(self) -> gr.Dataframe:
        """The one output that shows the run's progress bar (one bar, not one per output)."""
        return self.table


def build_batch_tab(max_records: int, max_folds: int) -> BatchTab:
    gr.Markdown(
        f"Upload a multi-FASTA file (up to {max_records:,} records, {MAX_BATCH_BYTES // 1024**2} MB, "
        f"plain or gzip). Every record gets a row; a bad record is reported and skipped. Structure is "
        f"limited to {max_folds:,} records per batch here; for a whole proteome use "
        "`python predict.py proteome.fasta --out results/`, which writes the same files.",
        elem_id="batch-help",
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=2):
            upload = gr.File(
                label="Multi-FASTA",
                file_types=[".fasta", ".fa", ".faa", ".fas", ".txt", ".gz"],
                type="filepath",
                elem_id="batch-upload",
            )
        with gr.Column(scale=2):
            tasks = gr.CheckboxGroup(
                list(ALL_TASKS), value=[*ANALYSIS_TASKS, MAP], label="Predict", elem_id="batch-tasks"
            )
            button = gr.Button("Run batch", variant="primary", elem_id="batch-button")
    status = gr.HTML("", label="Batch status", elem_id="batch-status")
    table = gr.Dataframe(
        headers=TABLE_HEADERS,
        label="Summary (one row per record)",
        interactive=False,
        wrap=True,
        column_widths=COLUMN_WIDTHS,
        # Taller than any batch allowed here: the page scrolls, not a box inside it, so every
        # row (the last included) can be reached and read.
        max_height=100_000,
        elem_id="batch-table",
    )
    download = gr.File(
        label="All results (ZIP: CSVs, structures, scores, contacts, embeddings)", elem_id="batch-zip"
    )
    map_plot = gr.Plot(label="Protein map: the records among the training proteins", elem_id="batch-map-plot")
    return BatchTab(upload, tasks, button, status, table, download, gr.State([]), map_plot)


def _table_row(row: dict, notes: dict[str, int]) -> list:
    """A summary row for the table: localization as percentages, as in the analysis tabs; a
    complex shows each chain's top class (localization.csv in the ZIP has them all). An error
    shared with other rows is a reference to its note under the status line (`notes`)."""
    cells = {c: row[c] for c in TABLE_COLUMNS}
    tops = row.get("chain_top_localization") or []
    if len(tops) == 1:
        cells["top_localization"], cells["top_localization_probability"] = tops[0][1], f"{tops[0][2]:.1%}"
    elif tops:
        cells["top_localization"] = "; ".join(f"{letter}: {name} ({p:.1%})" for letter, name, p in tops)
        cells["top_localization_probability"] = ""
    errors = row.get("errors") or {}
    if errors:
        cells["error"] = " | ".join(
            (f"{task}: " if task not in ("input", "all") else "")
            + (f"see note {notes[message]} above" if message in notes else message)
            for task, message in errors.items()
        )
    return [cells[c] for c in TABLE_COLUMNS]


def shared_notes(rows: list[dict]) -> dict[str, int]:
    """Error messages that two or more rows share, numbered in order of first appearance: said
    once above the table instead of in every row."""
    counts: dict[str, int] = {}
    for row in rows:
        for message in set((row.get("errors") or {}).values()):
            counts[message] = counts.get(message, 0) + 1
    shared = [m for m, n in counts.items() if n > 1]
    return {message: i for i, message in enumerate(shared, start=1)}


def batch_summary_html(rows: list[dict], tasks: tuple[str, ...], notes: dict[str, int]) -> str:
    """Counts per task ("3 analysed, 0 folded: ESMFold unavailable, see note 1"), then each
    shared message once, with how many records it stopped."""
    unread = sum("input" in (r.get("errors") or {}) for r in rows)
    parts = []
    for word, group in TASK_GROUPS:
        chosen = set(group) & set(tasks)
        if not chosen:
            continue
        failed = [r for r in rows if set(r.get("errors") or {}) & (chosen | {"input", "all"})]
        part = f"{len(rows) - len(failed):,} {word}"
        reasons = {m for r in failed for t, m in (r.get("errors") or {}).items() if t in chosen}
        if len(reasons) == 1 and (reason := reasons.pop()) in notes:
            part += f" (why not: note {notes[reason]})"
        parts.append(part)
    ok = sum(r["status"] == "ok" for r in rows)
    head = f"{len(rows):,} records: " + ", ".join(parts) + "."
    if ok < len(rows):
        head += f" {ok:,} complete; the others say what is missing in their error column."
    if unread:
        head += f" {unread:,} could not be read."
    counted = {m: sum(m in (r.get("errors") or {}).values() for r in rows) for m in notes}
    items = "".join(
        f"<li value='{i}'><strong>{counted[m]:,} records:</strong> {html.escape(m)}</li>"
        for m, i in notes.items()
    )
    listed = f"<ol class='batch-notes'>{items}</ol>" if items else ""
    return f'<div class="batch-ok"><p>{html.escape(head)}</p>{listed}</div>'


def _record_state(records) -> list[dict]:
    return [
        {
            "id": r.id,
            "description": r.protein.description if r.protein else "",
            "sequence": r.protein.sequence if r.protein else None,
        }
        for r in records
    ]


def make_batch_handler(studio: Any, tab: BatchTab, max_records: int, max_folds: int):
    def refused(title: str, message: str) -> dict:
        return {
            tab.status: error_html(title, message),
            **{component: None for component in (tab.table, tab.download, tab.map_plot)},
            tab.records: [],
        }

    def run_batch(path: str | None, tasks: list[str] | None, progress=gr.Progress()) -> dict:  # noqa: B008 - Gradio's API
        """Predict every record of an uploaded multi-FASTA; returns status, table, ZIP and records."""
        try:
            if not path:
                raise SequenceError("Upload a FASTA file first.")
            chosen = parse_tasks(tasks or [])
            raw = Path(path).read_bytes()
            if len(raw) > MAX_BATCH_BYTES:
                raise SequenceError(
                    f"The file is {len(raw):,} bytes; the limit here is {MAX_BATCH_BYTES:,}. "
                    "Use predict.py for larger inputs."
                )
            text = decode_fasta(raw, Path(path).name, MAX_BATCH_BYTES)
            records = read_records(text, max_chars=MAX_BATCH_BYTES, max_records=max_records)
            valid = sum(r.protein is not None for r in records)
            if "structure" in chosen and valid > max_folds:
                raise SequenceError(
                    f"Structure was asked for {valid:,} records; the limit per batch here is "
                    f"{max_folds:,}. Untick structure, split the file, or use predict.py."
                )
        except (SequenceError, ValueError) as error:
            return refused("Cannot run this batch:", str(error))
        work = Path(tempfile.mkdtemp(prefix="protein-studio-batch-"))
        out = work / "results"
        total = max(1, valid)
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            progress(done[0] / total, desc=f"{done[0]:,} of {valid:,} records")

        progress(0, desc=f"0 of {valid:,} records")
        try:
            run(studio, records, chosen, out, progress=advance)  # per-record errors land in the rows
            rows = merge(out, records, chosen)
            figure = batch_map(studio, out, records) if MAP in chosen else None
            archive = zip_outputs(out, work / "protein-studio-batch.zip")
        except Exception:
            log.exception("Batch failed")
            message = "the batch failed unexpectedly; the error was logged on the server. Try again."
            return refused("Batch failed:", message)
        notes = shared_notes(rows)
        return {
            tab.status: batch_summary_html(rows, chosen, notes),
            tab.table: [_table_row(row, notes) for row in rows],
            tab.download: str(archive),
            tab.records: _record_state(records),
            tab.map_plot: figure,
        }

    return run_batch


def batch_map(studio, out: Path, records) -> object | None:
    """map.csv (every chain of every record placed together) and its figure; None without a map."""
    protein_map = studio.annotator.heads().map
    if protein_map is None:
        return None
    rows = write_map(out, records, protein_map)
    chains_of: dict[str, int] = {}
    for row in rows:
        chains_of[row["id"]] = chains_of.get(row["id"], 0) + 1
    placed = [
        {
            "name": row["id"] if chains_of[row["id"]] == 1 else f"{row['id']} {row['chain']}",
            "x": float(row["x"]), "y": float(row["y"]),
            "nearest": f"nearest on the map: {row['nearest_entry']} ({row['nearest_localization']})",
        }
        for row in rows
    ]  # fmt: skip
    return map_figure(
        protein_map.coordinates, protein_map.labels, protein_map.entries, protein_map.classes, placed,
        title=f"{len(placed):,} chains among {len(protein_map.coordinates):,} training proteins of known "
        "location",
    )  # fmt: skip
