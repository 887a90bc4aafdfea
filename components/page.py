"""The whole page: header, shared sequence input, and one tab per prediction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from components.analysis_tabs import (
    AnalysisTabs,
    build_contacts_tab,
    build_localization_tab,
    build_ptm_tab,
    make_analyze_handler,
    rethreshold,
)
from components.batch_tab import (
    DEFAULT_MAX_BATCH_FOLDS,
    DEFAULT_MAX_BATCH_RECORDS,
    build_batch_tab,
    make_batch_handler,
)
from components.sequence_input import build_sequence_input
from components.structure_tab import build_structure_tab, make_fold_handler, make_restyle_handler

CSS_FILE = Path(__file__).resolve().parent.parent / "assets" / "style.css"

INTRO = (
    "# Protein Studio\n"
    "Paste a protein sequence: **Fold** predicts its 3D structure (ESMFold), coloured by confidence; "
    "**Analyze** predicts SUMOylation sites, subcellular localization and residue contacts from one "
    "ESM-2 pass. These are predictions, not experiments: each tab says how far to trust it."
)


def build_page(
    studio: Any,
    script_url: str,
    max_batch_records: int = DEFAULT_MAX_BATCH_RECORDS,
    max_batch_folds: int = DEFAULT_MAX_BATCH_FOLDS,
) -> gr.Blocks:
    with gr.Blocks(title="Protein Studio", delete_cache=(3600, 3600)) as page:
        gr.Markdown(INTRO, elem_id="intro")
        with gr.Row(equal_height=False):
            with gr.Column(scale=4):
                sequence = build_sequence_input()
            with gr.Column(scale=1, min_width=160):
                fold_button = gr.Button("Fold", variant="primary", elem_id="fold-button")
                analyze_button = gr.Button("Analyze", variant="secondary", elem_id="analyze-button")
                gr.Markdown(
                    f"Folding limit: {studio.config.max_fold_length:,} residues; analysis limit: "
                    f"{studio.config.max_analyze_length:,}. Structure model: `{studio.config.fold_model}`.",
                    elem_id="limits",
                )
        with gr.Tabs():
            with gr.Tab("Structure", id="structure"):
                tab = build_structure_tab(script_url)
            with gr.Tab("PTM sites", id="ptm"):
                analysis_status = gr.HTML("", elem_id="analysis-status")
                threshold, ptm_plot, ptm_table, ptm_csv, ptm_viewer, ptm_json = build_ptm_tab()
            with gr.Tab("Localization", id="localization"):
                loc_plot, loc_summary, loc_json = build_localization_tab()
            with gr.Tab("Contacts", id="contacts"):
                contacts_plot, contacts_note = build_contacts_tab()
            with gr.Tab("Batch", id="batch"):
                batch = build_batch_tab(max_batch_records, max_batch_folds)
        analysis = AnalysisTabs(
            loc_plot,
            loc_summary,
            loc_json,
            ptm_plot,
            ptm_table,
            ptm_csv,
            ptm_json,
            ptm_viewer,
            threshold,
            contacts_plot,
            contacts_note,
            analysis_status,
            gr.State(None),
        )
        fold = make_fold_handler(studio, script_url)
        fold_button.click(
            fold,
            inputs=[sequence.text, tab.style, tab.coloring],
            outputs=tab.fold_outputs,
            api_name="fold",
            concurrency_limit=1,  # one fold at a time per model: folds are memory-bound
            concurrency_id="fold",
        )
        analyze, api_result = make_analyze_handler(studio, script_url)
        analyze_button.click(
            analyze,
            inputs=[sequence.text, analysis.threshold],
            outputs=analysis.outputs,
            api_name="analyze",
            concurrency_limit=2,
            concurrency_id="analyze",
        )
        analysis.threshold.release(
            rethreshold,
            inputs=[analysis.ptm_state, analysis.threshold],
            outputs=[analysis.ptm_plot, analysis.ptm_table],
            api_visibility="private",
            show_progress="hidden",
        )
        for kind in ("localization", "ptm", "contacts"):
            gr.api(api_result(kind), api_name=kind, concurrency_limit=2, concurrency_id="analyze")
        batch.button.click(
            make_batch_handler(studio, max_batch_records, max_batch_folds),
            inputs=[batch.upload, batch.tasks],
            outputs=batch.outputs,
            api_name="batch",
            concurrency_limit=1,  # batches share the models with the other tabs: one at a time
            concurrency_id="batch",
        )
        restyle = make_restyle_handler(script_url)
        for control in (tab.style, tab.coloring):
            control.change(
                restyle,
                inputs=[tab.pdb_state, tab.style, tab.coloring],
                outputs=tab.viewer,
                api_visibility="private",
                show_progress="hidden",
            )
    return page


def page_css() -> str:
    return CSS_FILE.read_text() if CSS_FILE.is_file() else ""
