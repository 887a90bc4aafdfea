"""The whole page: header, shared sequence input, and one tab per prediction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from components.analysis.tabs import (
    AnalysisTabs,
    build_contacts_tab,
    build_localization_tab,
    build_ptm_tab,
    cleared_analysis,
    make_analyze_handler,
    make_rethreshold_handler,
    ptm_types_phrase,
)
from components.batch.tab import (
    DEFAULT_MAX_BATCH_FOLDS,
    DEFAULT_MAX_BATCH_RECORDS,
    build_batch_tab,
    make_batch_handler,
)
from components.predict_flow import make_predict_handler, make_retry_handler
from components.shared.plot_link import PAGE_SCRIPT
from components.shared.sequence_input import build_sequence_input
from components.shared.share_link import OPEN_SCRIPT, build_share_link
from components.structure.tab import (
    build_structure_tab,
    make_coloring_sync,
    make_fold_handler,
    make_restyle_handler,
)
from components.structure.workbench import build_workbench_panel, make_compare_handler, make_inspect_handler
from components.variants.tab import build_mutations_tab, cleared_mutations, make_mutation_handlers

CSS_FILE = Path(__file__).resolve().parent.parent / "assets" / "style.css"


def intro(ptm_types: list[tuple[str, str]]) -> str:
    """The page's opening lines; the PTM types come from the loaded head cards."""
    return (
        "# Protein Studio\n"
        f"Paste a protein sequence and press **Predict**: its {ptm_types_phrase(ptm_types)} sites, "
        "subcellular localization and residue contacts from one ESM-2 pass (seconds), then its 3D structure "
        "(ESMFold) coloured by confidence. A complex (chains joined by `:`) is folded as one and "
        "analysed chain by chain. These are predictions, not experiments: each tab says how far "
        "to trust it."
    )


API_DESCRIPTIONS = {
    "localization": "Probabilities of the 13 SCL2205 compartments, top class, membrane vs soluble and the "
    "most similar training proteins. A complex: {'chains': [one such answer per chain]}.",
    "ptm": "Every candidate residue of every loaded PTM type: chain, position (1-based in its chain), "
    "residue, type, probability, ±7 window.",
    "contacts": "The ESM-2 contact probability map (L x L). A complex: one map per chain.",
    "map": "The protein map: each chain placed (openTSNE) among the localization head's training proteins "
    "of known compartment: x, y, its five most similar training proteins and the one nearest on the map.",
    "secondary": "Secondary structure and accessibility from the sequence, per chain: ss8 (DSSP classes "
    "H G I E B T S C), ss3 (H E C), rsa (0-1) and each class's probability per residue.",
}


MARK_STATUS_STALE = """(text) => {
  const line = document.querySelector('#status-line .status-line');
  if (line && !line.classList.contains('status-error')) {
    const shown = line.dataset.sequence || '';
    const now = (text || '').split('\\n').filter(l => !l.trim().startsWith('>') && !l.trim().startsWith(';'))
      .join('').replace(/[\\s\\d]/g, '').replace(/\\*$/, '').toUpperCase();
    line.classList.toggle('stale', now !== shown);
  }
  return [];
}"""


def make_open_row_handler(text: gr.Textbox, tabs: gr.Tabs):
    """A click on a Batch summary row puts that record in the input and shows its results."""

    def open_row(records: list[dict] | None, event: gr.SelectData) -> dict:
        row = event.index[0] if isinstance(event.index, list | tuple) else event.index
        record = records[row] if records and 0 <= row < len(records) else None
        if not record or not record.get("sequence"):
            raise gr.Error("This record could not be read (see its error column), so it cannot be opened.")
        return {
            text: f">{record.get('description') or record['id']}\n{record['sequence']}",
            tabs: gr.Tabs(selected="structure"),
        }

    return open_row


def build_page(
    studio: Any,
    script_url: str,
    max_batch_records: int = DEFAULT_MAX_BATCH_RECORDS,
    max_batch_folds: int = DEFAULT_MAX_BATCH_FOLDS,
) -> gr.Blocks:
    ptm_types = studio.annotator.ptm_types()
    with gr.Blocks(title="Protein Studio", delete_cache=(3600, 3600)) as page:
        gr.Markdown(intro(ptm_types), elem_id="intro")
        with gr.Row(equal_height=False):
            with gr.Column(scale=4):
                sequence = build_sequence_input()
            with gr.Column(scale=1, min_width=160):
                predict_button = gr.Button("Predict", variant="primary", elem_id="predict-button")
                # The per-task events stay as API endpoints (/fold, /analyze); the page has one action.
                fold_button = gr.Button("Fold", visible=False, elem_id="fold-button")
                analyze_button = gr.Button("Analyze", visible=False, elem_id="analyze-button")
                gr.Markdown(
                    f"Folding limit: {studio.config.max_fold_length:,} residues; analysis limit: "
                    f"{studio.config.max_analyze_length:,}.\n\nStructure model: `{studio.config.fold_model}`",
                    elem_id="limits",
                )
                with gr.Accordion("Share a link", open=False, elem_id="share"):
                    build_share_link(sequence.text)
        status = gr.HTML("", label="Status", elem_id="status-line")
        with gr.Tabs() as tabs:
            with gr.Tab("Structure", id="structure"):
                structure = build_structure_tab(script_url)
                workbench = build_workbench_panel()
                compare_model = gr.File(visible=False, label="Model structure", elem_id="compare-model")
            with gr.Tab("PTM sites", id="ptm"):
                analysis_status = gr.HTML("", label="Analysis status", elem_id="analysis-status")
                ptm = build_ptm_tab(ptm_types, studio.annotator.head_cards.sites)
            with gr.Tab("Localization", id="localization"):
                localization = build_localization_tab()
            with gr.Tab("Contacts", id="contacts"):
                contacts = build_contacts_tab()
            with gr.Tab("Mutations", id="mutations"):
                mutations = build_mutations_tab(studio)
            with gr.Tab("Batch", id="batch"):
                batch = build_batch_tab(max_batch_records, max_batch_folds)
        analysis = AnalysisTabs(analysis_status, ptm, localization, contacts)
        predict = make_predict_handler(studio, status, structure, analysis, script_url)
        predict_event = {
            "fn": predict,
            # ptm.view (a State: not part of the API) holds the PTM types shown and their thresholds;
            # structure.pdb_state (a State too) the structure shown, whose DSSP is compared.
            "inputs": [
                *(sequence.text, ptm.threshold, structure.style, structure.coloring),
                *(ptm.view, structure.pdb_state),
            ],
            "outputs": [status, *structure.fold_outputs, *analysis.outputs],
            "concurrency_limit": 1,  # the fold inside is memory-bound: one at a time, like /fold
            "concurrency_id": "fold",
            "show_progress": "hidden",  # the status line is the progress
        }
        predict_button.click(
            **predict_event,
            api_name="predict",
            api_description="Everything available for one protein, streamed as it arrives: the "
            "analysis (PTM sites, localization, secondary structure, contacts; a complex chain by chain), "
            "then the fold.",
        )
        batch.table.select(
            make_open_row_handler(sequence.text, tabs),
            inputs=batch.records,
            outputs=[sequence.text, tabs],
            api_visibility="private",
        ).success(**predict_event, api_visibility="private")
        structure.retry.click(
            make_retry_handler(studio, structure),
            outputs=[structure.retry, structure.status],
            api_visibility="private",
        )
        fold_button.click(
            make_fold_handler(studio, structure, script_url),
            inputs=[sequence.text, structure.style, structure.coloring],
            outputs=structure.fold_outputs,
            api_name="fold",
            api_description="The predicted 3D structure (ESMFold): viewer, PDB file, summary, pLDDT "
            "and PAE plots, scores JSON. A complex (chains joined by ':') is folded as one.",
            concurrency_limit=1,  # one fold at a time per model: folds are memory-bound
            concurrency_id="fold",
        )
        analyze, api_result = make_analyze_handler(studio, analysis, script_url)
        analyze_button.click(
            analyze,
            inputs=[sequence.text, ptm.threshold, ptm.view, structure.pdb_state],
            outputs=analysis.outputs,
            api_name="analyze",
            api_description="What the PTM, Localization and Contacts tabs show, from one ESM-2 pass per "
            "chain; sites above `threshold` fill the table.",
            concurrency_limit=2,
            concurrency_id="analyze",
        )
        handlers = make_rethreshold_handler(studio, analysis, script_url)
        on_slider, on_types, on_own, on_target, page_start = handlers
        redraw = {
            "inputs": [ptm.state, ptm.threshold, ptm.types, ptm.own, ptm.target, ptm.view],
            "outputs": [ptm.view, ptm.own, ptm.state, ptm.plot, ptm.table, ptm.trust, ptm.empty, ptm.viewer],
            "api_visibility": "private",
            "show_progress": "hidden",
            # Quick clicks on several types: the last state wins (the default drops a click made
            # while the previous redraw runs).
            "trigger_mode": "always_last",
        }
        ptm.threshold.release(on_slider, **redraw)
        ptm.types.input(on_types, **redraw)
        ptm.own.input(on_own, **redraw)
        ptm.target.input(
            on_target, inputs=[ptm.target, ptm.view], outputs=ptm.threshold, api_visibility="private"
        )
        # A browser session starts at each type's calibrated threshold; API calls keep the
        # State's own value, where their `threshold` argument applies to every type.
        page.load(page_start, outputs=ptm.view, api_visibility="private")
        for kind, description in API_DESCRIPTIONS.items():
            gr.api(
                api_result(kind),
                api_name=kind,
                api_description=description,
                concurrency_limit=2,
                concurrency_id="analyze",
            )
        batch.button.click(
            make_batch_handler(studio, batch, max_batch_records, max_batch_folds),
            inputs=[batch.upload, batch.tasks],
            outputs=batch.outputs,
            show_progress_on=batch.progress_on,
            api_name="batch",
            api_description="A multi-FASTA file and a list of tasks in; the status, the summary table "
            "and a ZIP of the same files predict.py writes out.",
            concurrency_limit=1,  # batches share the models with the other tabs: one at a time
            concurrency_id="batch",
        )
        inspect = make_inspect_handler(studio, structure, workbench, sequence.text, script_url)
        inspect_outputs = [*structure.fold_outputs, sequence.text, workbench.chain, workbench.notes]
        sync_coloring = {  # page-only: "Colour by" shows what an opened file is drawn with
            "fn": make_coloring_sync(structure),
            "inputs": [structure.pdb_state, structure.coloring],
            "outputs": structure.coloring,
            "api_visibility": "private",
            "show_progress": "hidden",
        }
        workbench.upload.upload(
            inspect,
            inputs=[workbench.upload],
            outputs=inspect_outputs,
            api_name="open_structure",  # the page's upload; /inspect (below) is the API
            api_visibility="private",
        ).then(**sync_coloring).then(
            lambda: cleared_analysis(analysis) | {status: ""},
            outputs=[status, *analysis.outputs],
            api_visibility="private",
        )
        workbench.chain.input(
            inspect,
            inputs=[workbench.upload, workbench.chain],
            outputs=inspect_outputs,
            api_name="inspect",
            api_description="A structure file (PDB/mmCIF, plain or gzip) and a chain (empty: the first "
            "protein chain): viewer, structure file, summary (DSSP fractions; B-factor or pLDDT), plots, "
            "scores JSON with ss and rsa, the chain's sequence and what the file held.",
        ).then(**sync_coloring)
        compare_shown, compare_files = make_compare_handler(studio, structure, workbench, script_url)
        workbench.compare_button.click(
            compare_shown,
            inputs=[structure.pdb_state, workbench.reference, workbench.pairing]
            + [structure.style, structure.coloring],
            outputs=[workbench.compare_json, workbench.compare_summary, workbench.distance_plot]
            + [structure.viewer, structure.coloring],
            api_visibility="private",
        )
        compare_trigger = gr.Button(visible=False, elem_id="compare-files")
        compare_trigger.click(
            compare_files,
            inputs=[compare_model, workbench.reference, workbench.pairing],
            outputs=workbench.compare_json,
            api_name="compare",
            api_description="TM-align of a model structure file against a reference structure file: "
            "TM-score by reference and by model, RMSD, aligned length, sequence identity, per-residue "
            "Cα distances. pairing: 'structure' (TM-align's search, default) or 'sequence' (pairs from a "
            "sequence alignment, scored as TM-score does: two structures of one protein).",
        )
        _wire_mutations(studio, mutations, sequence.text, script_url)
        # The status line names the protein the tabs' results belong to. Once the box holds
        # something else, it says so until the next Predict redraws it (in the browser: no
        # round trip, so it is right at once however busy the server is).
        sequence.text.change(
            None, inputs=sequence.text, js=MARK_STATUS_STALE, api_visibility="private", queue=False
        )
        # A new Predict is a new protein: the variants and scan of the last one must not stay.
        predict_button.click(
            lambda: cleared_mutations(mutations),
            outputs=[*mutations.mutate_outputs, *mutations.scan_outputs],
            api_visibility="private",
            queue=False,
            show_progress="hidden",
        )
        restyle = make_restyle_handler(structure, script_url)
        for control in (structure.style, structure.coloring):
            # .input: the user's choice only; a handler that sets the control has drawn already.
            control.input(
                restyle,
                inputs=[structure.pdb_state, structure.style, structure.coloring],
                outputs=[structure.viewer, structure.coloring],
                api_visibility="private",
                show_progress="hidden",
            )
    return page


def _wire_mutations(studio: Any, tab, text: gr.Textbox, script_url: str) -> None:
    """The Mutations tab's events and the /mutate and /scan endpoints."""
    mutate_tab, scan_tab, mutate_api, scan_api, choices, range_for, show_variant = make_mutation_handlers(
        studio, tab, script_url
    )
    tab.table.select(show_variant, inputs=[tab.shown, tab.json], outputs=tab.viewer, api_visibility="private")
    tab.button.click(
        mutate_tab,
        inputs=[text, tab.variants, tab.threshold],
        outputs=tab.mutate_outputs,
        api_visibility="private",
        concurrency_limit=1,  # mutants of a folded wild type are folded too: one at a time, like /fold
        concurrency_id="fold",
    )
    gr.api(
        mutate_api,
        api_name="mutate",
        api_description="Variants (K48R, p.Lys48Arg, K48R+E51A; commas or new lines; B:F1A in a complex) "
        "of the sequence: for each, localization, PTM sites lost/gained/changed at `threshold`, contacts "
        "changed by > 0.2, the language-model score, and the fold when the wild type was folded; a bad "
        "variant gets its error and the others are still predicted.",
        concurrency_limit=1,
        concurrency_id="fold",
    )
    tab.scan_button.click(
        scan_tab,
        inputs=[text, tab.readout, tab.first, tab.last],
        outputs=tab.scan_outputs,
        api_visibility="private",
        concurrency_limit=1,  # hundreds of backbone passes: one scan at a time
        concurrency_id="scan",
    )
    gr.api(
        scan_api,
        api_name="scan",
        api_description="Every single substitution at positions first..last, scored by a readout "
        "('SUMOylation K29', 'membrane probability', 'localization: <class>', 'language model "
        "(log-likelihood ratio)'; in a complex prefixed with the chain, 'B: SUMOylation K29'): "
        "scores[position][amino acid] = mutant − wild type.",
        concurrency_limit=1,
        concurrency_id="scan",
    )
    text.change(
        choices,
        inputs=[text, tab.readout],
        outputs=tab.readout,
        api_visibility="private",
        show_progress="hidden",
        trigger_mode="always_last",
    )
    tab.readout.change(
        range_for,
        inputs=[text, tab.readout],
        outputs=[tab.first, tab.last],
        api_visibility="private",
        show_progress="hidden",
    )


def page_head() -> str:
    """What `launch(head=...)` adds to the page: inline scripts (no CDN) linking the PAE map and
    pLDDT plot with the 3D viewer, and opening a shared link."""
    return f"<script>{PAGE_SCRIPT}</script><script>{OPEN_SCRIPT}</script>"


def page_css() -> str:
    return CSS_FILE.read_text() if CSS_FILE.is_file() else ""
