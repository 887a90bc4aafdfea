"""Structure workbench: open a structure file (PDB/mmCIF) and compare a structure with a reference.

An opened file gets the same viewer, plots and downloads as a fold, its sequence goes into the
input box (so Predict analyses it), and what the file held that the app skipped or mapped is
said in words. A comparison is TM-align's: scores, a per-residue distance track, and the
reference drawn in grey under the model in the viewer.
"""

from __future__ import annotations

import html
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import plotly.graph_objects as go

from components.structure.tab import (
    FILLED,
    StructureTab,
    coloring_control,
    drawn_coloring,
    error_html,
    structure_outputs,
)
from components.structure.viewer import render_structure
from models.structure.compare import compare, reference_in_model_frame
from models.structure.reading import StructureFileError, read_structure, to_structure

log = logging.getLogger(__name__)
STRUCTURE_TYPES = [".pdb", ".ent", ".cif", ".mmcif", ".gz"]
PAIRING_CHOICES = [("structure (TM-align)", "structure"), ("sequence (TM-score)", "sequence")]


@dataclass
class WorkbenchPanel:
    upload: gr.File
    chain: gr.Dropdown
    notes: gr.HTML
    reference: gr.File
    compare_button: gr.Button
    compare_json: gr.JSON
    distance_plot: gr.Plot
    pairing: gr.Radio  # residue pairs from TM-align's search, or from a sequence alignment
    compare_summary: gr.HTML  # the comparison in one sentence, with units


def build_workbench_panel() -> WorkbenchPanel:
    with gr.Accordion("Open a structure file (PDB or mmCIF, also .gz)", open=False, elem_id="open-structure"):
        with gr.Row(equal_height=False):
            upload = gr.File(label="Structure file", file_types=STRUCTURE_TYPES, elem_id="structure-upload")
            # Custom values: the API may name any chain; an unknown one gets a clear message.
            chain = gr.Dropdown(
                [], label="Chain", interactive=True, allow_custom_value=True, elem_id="structure-chain"
            )
        notes = gr.HTML("", label="What the file held", elem_id="structure-notes")
    with gr.Accordion("Compare with a reference structure", open=False, elem_id="compare-structure"):
        gr.Markdown("The structure shown above (a fold or an opened file) is the model.")
        reference = gr.File(
            label="Reference structure", file_types=STRUCTURE_TYPES, elem_id="reference-upload"
        )
        pairing = gr.Radio(
            PAIRING_CHOICES, value="structure", label="Pair residues by", elem_id="compare-pairing",
            info="TM-align's structural search (any two proteins), or a sequence alignment then "
            "TM-score on those pairs (two structures of one protein, e.g. a model and its experiment; "
            "fast on large proteins)",
        )  # fmt: skip
        compare_button = gr.Button("Compare (TM-align)", elem_id="compare-button")
        compare_summary = gr.HTML("", label="Comparison", elem_id="compare-summary")
        distance_plot = gr.Plot(
            label="Cα distance after superposition", elem_id="distance-plot", elem_classes=FILLED
        )
        with gr.Accordion("Comparison (JSON)", open=False):
            compare_json = gr.JSON(label="Comparison (JSON)", elem_id="compare-json")
    return WorkbenchPanel(
        upload, chain, notes, reference, compare_button, compare_json, distance_plot, pairing, compare_summary
    )


def comparison_sentence(result: dict, model_length: int, reference_length: int) -> str:
    """The numbers a structural biologist quotes, with their units and what each is normalised by."""
    return (
        f"<p class='compare-sentence'>TM-score <strong>{result['tm_score_reference']:.2f}</strong> "
        f"(normalised by the reference, {reference_length:,} residues) / "
        f"<strong>{result['tm_score_model']:.2f}</strong> (by the model, {model_length:,} residues); "
        f"RMSD <strong>{result['rmsd']:.1f} Å</strong> over {result['aligned_length']:,} aligned residues; "
        f"sequence identity {result['sequence_identity']:.1%} of the aligned pairs. "
        "A TM-score above 0.5 usually means the same fold; below 0.3, unrelated structures.</p>"
    )


def notes_html(summary: dict) -> str:
    """What the file held, in words: its origin, its chains and what was skipped or mapped."""
    kind = summary.get("confidence", "pLDDT")
    plot = "pLDDT (a predicted model)"
    if kind != "pLDDT":
        plot = "B-factors (an experimental structure: not pLDDT)"
    chains = ", ".join(f"{c} ({n} residues)" for c, n in (summary.get("chains") or {}).items())
    items = [f"{summary.get('source') or summary.get('format', 'structure file')}; the plot shows {plot}"]
    items.append(f"Protein chains: {chains}" if chains else "No protein chain")
    items += [str(n) for n in summary.get("notes", [])]
    return "<ul class='structure-notes'>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def distance_figure(per_residue: list[dict]) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=[p["model_position"] for p in per_residue],
            y=[p["distance"] for p in per_residue],
            marker_color=["#2a9d8f" if p["distance"] < 5 else "#e76f51" for p in per_residue],
            customdata=[p["reference_position"] for p in per_residue],
            hovertemplate="model %{x} ↔ reference %{customdata}<br>%{y:.2f} Å<extra></extra>",
        )
    )
    fig.add_hline(y=5, line={"color": "#888", "dash": "dot"}, annotation_text="5 Å")
    fig.update_layout(
        title="Cα distance after superposition (model residue; green < 5 Å)",
        xaxis_title="model residue",
        yaxis_title="Å",
        height=300,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
    )
    return fig


def _read(path: str | None, what: str, chain: str | None, max_residues: int):
    if not path:
        raise StructureFileError(f"Upload a {what} file first (.pdb, .cif or .mmcif, plain or gzip).")
    opened = read_structure(Path(path), Path(path).name)
    return opened, to_structure(opened, chain or None, max_residues)


def make_inspect_handler(
    studio: Any, tab: StructureTab, panel: WorkbenchPanel, text: gr.Textbox, script_url: str, root=None
):
    """/inspect: a structure file (and a chain) -> the Structure tab's outputs, its sequence."""
    root = Path(root or tempfile.mkdtemp(prefix="protein-studio-inspect-"))

    def inspect(path: str | None, chain: str | None = None) -> dict:
        """A structure file (PDB or mmCIF, plain or gzip) and optionally a chain: the same
        viewer, plots and downloads as a fold, the chain's sequence, what the file held."""
        try:
            if not path:
                raise StructureFileError("Upload a structure file first (.pdb, .cif or .mmcif, or .gz).")
            structure, summary = studio.inspect(Path(path), Path(path).name, chain or None)
        except StructureFileError as error:
            return {panel.notes: error_html("Cannot open this file.", str(error))}
        except Exception:
            log.exception("Opening a structure failed")
            raise gr.Error("Opening the file failed unexpectedly; the error was logged.") from None
        shown = structure.chain_letters[0] if structure.chain_letters else None
        return {
            **structure_outputs(tab, structure, "cartoon", "pLDDT", root, script_url),
            text: f">{structure.id}\n{''.join(structure.chains)}",
            panel.chain: gr.update(choices=list(summary.get("chains") or {}), value=shown),
            panel.notes: notes_html(summary),
        }

    return inspect


def make_compare_handler(studio: Any, tab: StructureTab, panel: WorkbenchPanel, script_url: str):
    """Compare the structure shown (model) with an uploaded reference; /compare takes two files."""

    def run(model_ca, model_seq, reference_path, pairing: str | None) -> tuple:
        _, reference = _read(reference_path, "reference", None, studio.config.max_analyze_length)
        result = compare(model_ca, model_seq, reference.ca, "".join(reference.chains), pairing or "structure")
        return result, reference

    def compare_shown(
        shown: dict | None,
        reference_path: str | None,
        pairing: str = "structure",
        style: str = "cartoon",
        coloring: str = "pLDDT",
    ) -> dict:
        def refused(message: str) -> dict:
            return {
                panel.compare_json: {"error": message},
                panel.compare_summary: error_html("Cannot compare.", message),
                panel.distance_plot: None,
            }

        if not shown or shown.get("ca") is None:
            return refused("Fold a protein or open a structure first: it is the model.")
        try:
            result, reference = run(np.array(shown["ca"]), shown["sequence"], reference_path, pairing)
        except ValueError as error:  # StructureFileError too
            return refused(str(error))
        residues = [tuple(r) for r in shown["residues"]]
        kind = shown.get("confidence", "pLDDT")
        coloring = drawn_coloring(kind, coloring)  # the colouring the user chose, as it is drawn
        viewer = render_structure(
            shown["pdb"], script_url, style or "cartoon", coloring, residues=residues, ss=shown.get("ss"),
            reference_pdb=reference_in_model_frame(result, reference.pdb),
        )  # fmt: skip
        answer = result.to_json()
        return {
            panel.compare_json: answer,
            panel.compare_summary: comparison_sentence(answer, len(shown["sequence"]), len(reference.ca)),
            panel.distance_plot: distance_figure(answer["per_residue"]),
            tab.viewer: viewer,
            **coloring_control(tab, kind, coloring),
        }

    def compare_files(model: str | None, reference: str | None, pairing: str = "structure") -> dict:
        """TM-score (by reference and by model), RMSD, aligned length, sequence identity and the
        per-residue Cα distances of the model's first protein chain against the reference's;
        residues paired by TM-align's search ("structure") or a sequence alignment ("sequence")."""
        try:
            _, model_structure = _read(model, "model", None, studio.config.max_analyze_length)
            result, _ = run(model_structure.ca, "".join(model_structure.chains), reference, pairing)
        except ValueError as error:
            raise gr.Error(str(error), print_exception=False) from None
        return result.to_json()

    return compare_shown, compare_files
