"""The page's one action, Predict: analysis first (fast), then the fold, each shown as it arrives.

A status line above the tabs says, from any tab, what runs, what is done and what is
unavailable and why. A new input first clears every output, so nothing from the previous
protein can be read as this one's; an error stays in the status line until the next action.
"""

from __future__ import annotations

import html
import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from components.analysis.tabs import (
    AnalysisTabs,
    analysis_outputs,
    cleared_analysis,
    fold_viewer_placeholders,
    structure_views,
    subject_html,
)
from components.structure.tab import (
    StructureTab,
    cleared_structure,
    error_html,
    failed_outputs,
    structure_outputs,
    unavailable_outputs,
)
from components.structure.viewer import placeholder
from models.shared.errors import BackboneUnavailable, FoldingOutOfMemory, FoldingUnavailable, SequenceError
from models.shared.sequences import check_foldable, parse_one

log = logging.getLogger(__name__)

WAITING, RUNNING, DONE, UNAVAILABLE, FAILED = "waiting", "running", "done", "unavailable", "failed"
LOGGED = "failed unexpectedly; the error was logged on the server"
FOLD_AFTER_ANALYSIS = "Waiting for the analysis (about a second), then folding with ESMFold."
SYMBOLS = {WAITING: "○", RUNNING: "◌", DONE: "✓", UNAVAILABLE: "✕", FAILED: "✕"}


@dataclass
class Stage:
    name: str  # "Analysis" or "Structure"
    state: str = WAITING
    text: str = ""

    def html(self) -> str:
        return (
            f"<li class='stage stage-{self.state}'><span class='stage-mark'>{SYMBOLS[self.state]}</span> "
            f"<strong>{self.name}</strong>: {html.escape(self.text or self.state)}</li>"
        )


def status_line(protein, stages: list[Stage]) -> str:
    """The status line: which protein, then each stage's state in words."""
    running = any(s.state == RUNNING for s in stages)
    # data-sequence: what these results are for, so the page can tell when the box has changed.
    return (
        f"<div class='status-line' data-running='{str(running).lower()}' "
        f"data-sequence='{html.escape(protein.sequence, quote=True)}'>{subject_html(protein)}"
        "<p class='stale-note'>The input box has changed since: these results are for the protein "
        "named here. Press Predict for the new input.</p>"
        f"<ul class='stages'>{''.join(s.html() for s in stages)}</ul></div>"
    )


def input_error_line(message: str) -> str:
    return (
        "<div class='status-line status-error' data-running='false'>"
        f"{error_html('Cannot use this input.', message)}</div>"
    )


def make_predict_handler(
    studio: Any,
    status: gr.HTML,
    structure: StructureTab,
    analysis: AnalysisTabs,
    script_url: str,
    download_root: Path | None = None,
):
    """Predict: text, threshold, style, colouring -> every output, streamed as stages finish."""
    root = download_root or Path(tempfile.mkdtemp(prefix="protein-studio-predict-"))

    def predict(
        sequence: str,
        threshold: float,
        style: str,
        coloring: str,
        view_state: dict | None = None,
        shown: dict | None = None,
    ) -> Iterator[dict]:
        cleared = {**cleared_analysis(analysis), **cleared_structure(structure)}
        try:
            protein = parse_one(sequence)
        except SequenceError as error:
            yield {**cleared, status: input_error_line(str(error))}
            return
        analysing, folding = Stage("Analysis", RUNNING, "analysing (one ESM-2 pass)"), Stage("Structure")
        stages = [analysing, folding]
        try:
            check_foldable(protein, studio.config.max_fold_length)
            folding.text = "waiting for the analysis"
            viewer = placeholder(FOLD_AFTER_ANALYSIS, state="waiting")
        except SequenceError as error:
            folding.state, folding.text = UNAVAILABLE, f"not folded: {error}"
            viewer = placeholder(f"Not folded: {error}", state="failed")
        yield {**cleared, structure.viewer: viewer, status: status_line(protein, stages)}

        # Gradio 6 keeps only what a streamed event's LAST update carries for a tab that is not in
        # view: every later update therefore re-sends `analysed` (computed once, never rewritten),
        # whatever happens to the fold.
        analysed: dict = {}
        started = time.perf_counter()
        try:
            chains = studio.annotate_chains(protein)
            analysed = analysis_outputs(
                studio, analysis, protein, chains, threshold, script_url, root, view_state, shown
            )
            analysing.state = DONE
            analysing.text = f"done in {time.perf_counter() - started:.1f} s"
            if len(chains) > 1:
                analysing.text += f", each of the {len(chains)} chains as its own protein"
        except (BackboneUnavailable, SequenceError) as error:
            analysing.state, analysing.text = UNAVAILABLE, str(error)
            analysed = {analysis.status: error_html("Analysis unavailable.", str(error))}
        except Exception:
            log.exception("Analysis failed")
            analysing.state, analysing.text = FAILED, LOGGED
        if folding.state == UNAVAILABLE:
            reason = folding.text.removeprefix("not folded: ")
            yield {
                **analysed,
                **fold_viewer_placeholders(analysis, f"this protein was not folded ({reason.rstrip('.')})."),
                structure.viewer: viewer,
                structure.status: error_html("Not folded.", reason),
                status: status_line(protein, stages),
            }
            return
        folding.state, folding.text = RUNNING, studio.fold_stage(protein)
        pending = fold_viewer_placeholders(analysis) if analysis.ptm.json in analysed else {}
        yield {
            **analysed,
            **pending,
            structure.viewer: placeholder(folding.text[:1].upper() + folding.text[1:], state="waiting"),
            status: status_line(protein, stages),
        }

        started = time.perf_counter()
        analysed_ok = analysis.ptm.json in analysed  # the analysis tabs have results to add 3D to
        why_not = None  # the fold's failure in a few words, for the analysis tabs' 3D boxes
        try:
            folded = studio.fold(protein)
            outputs = structure_outputs(structure, folded, style, coloring, root, script_url)
            folding.state, folding.text = DONE, f"done in {time.perf_counter() - started:.1f} s"
            if analysed_ok:  # the 3D site view and the structure's contacts need the fold
                sites = analysed[analysis.ptm.json]["sites"]
                state = analysed[analysis.ptm.state]
                outputs |= structure_views(studio, analysis, protein, chains, sites, script_url, state)
        except FoldingUnavailable as error:
            outputs = unavailable_outputs(structure, str(error))
            folding.state, folding.text = UNAVAILABLE, str(error)
            why_not = "ESMFold is not available (see the Structure tab)."
        except FoldingOutOfMemory as error:
            outputs = failed_outputs(structure, "Folding failed.", str(error))
            folding.state, folding.text = FAILED, str(error)
            why_not = "the fold ran out of memory (see the Structure tab)."
        except Exception:
            log.exception("Folding failed")
            outputs = failed_outputs(structure, "Folding failed.", LOGGED)
            folding.state, folding.text = FAILED, LOGGED
            why_not = "the fold failed (see the Structure tab)."
        if why_not and analysed_ok:
            outputs |= fold_viewer_placeholders(analysis, why_not)
        yield {**analysed, **outputs, status: status_line(protein, stages)}

    return predict


def make_retry_handler(studio: Any, structure: StructureTab):
    """ "Retry loading ESMFold": the next fold tries to load the weights again at once."""

    def retry() -> dict:
        studio.retry_fold_model()
        return {
            structure.retry: gr.update(visible=False),
            structure.status: "<p>ESMFold will be loaded again on the next Predict.</p>",
        }

    return retry
