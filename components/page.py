"""The whole page: header, shared sequence input, and one tab per prediction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from components.sequence_input import build_sequence_input
from components.structure_tab import build_structure_tab, make_fold_handler, make_restyle_handler

CSS_FILE = Path(__file__).resolve().parent.parent / "assets" / "style.css"

INTRO = (
    "# Protein Studio\n"
    "Paste a protein sequence and get its predicted 3D structure, coloured by how confident the "
    "model is. Structures are ESMFold predictions, not experiments: read pLDDT and PAE before "
    "trusting a region."
)


def build_page(studio: Any, script_url: str) -> gr.Blocks:
    with gr.Blocks(title="Protein Studio", delete_cache=(3600, 3600)) as page:
        gr.Markdown(INTRO, elem_id="intro")
        with gr.Row(equal_height=False):
            with gr.Column(scale=4):
                sequence = build_sequence_input()
            with gr.Column(scale=1, min_width=160):
                fold_button = gr.Button("Fold", variant="primary", elem_id="fold-button")
                gr.Markdown(
                    f"Folding limit: {studio.config.max_fold_length:,} residues. "
                    "Model: `" + studio.config.fold_model + "`.",
                    elem_id="limits",
                )
        with gr.Tabs():
            with gr.Tab("Structure", id="structure"):
                tab = build_structure_tab(script_url)
        fold = make_fold_handler(studio, script_url)
        fold_button.click(
            fold,
            inputs=[sequence.text, tab.style, tab.coloring],
            outputs=tab.fold_outputs,
            api_name="fold",
            concurrency_limit=1,  # one fold at a time per model: folds are memory-bound
            concurrency_id="fold",
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
