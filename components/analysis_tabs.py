"""PTM, Localization and Contacts tabs: one "Analyze" click, one backbone pass, three tabs."""

from __future__ import annotations

import csv
import hashlib
import html
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from components.annotation_plots import cb_contact_map, contacts_figure, localization_figure, ptm_figure
from components.structure_tab import error_html
from components.structure_viewer import placeholder, render_structure
from models.errors import BackboneUnavailable, SequenceError
from models.pdb import cb_coordinates
from models.sequences import parse_one

log = logging.getLogger(__name__)
DEFAULT_THRESHOLD = 0.5
TABLE_COLUMNS = ["position", "residue", "type", "probability", "window (±7)"]


@dataclass
class AnalysisTabs:
    loc_plot: gr.Plot
    loc_summary: gr.HTML
    loc_json: gr.JSON
    ptm_plot: gr.Plot
    ptm_table: gr.Dataframe
    ptm_csv: gr.File
    ptm_json: gr.JSON
    ptm_viewer: gr.HTML
    threshold: gr.Slider
    contacts_plot: gr.Plot
    contacts_note: gr.HTML
    status: gr.HTML
    ptm_state: gr.State

    @property
    def outputs(self) -> list:
        return [
            self.status,
            self.loc_plot,
            self.loc_summary,
            self.loc_json,
            self.ptm_plot,
            self.ptm_table,
            self.ptm_csv,
            self.ptm_json,
            self.ptm_viewer,
            self.contacts_plot,
            self.contacts_note,
            self.ptm_state,
        ]


def build_localization_tab() -> tuple[gr.Plot, gr.HTML, gr.JSON]:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            plot = gr.Plot(label="Localization", elem_id="localization-plot")
        with gr.Column(scale=2):
            summary = gr.HTML("", elem_id="localization-summary")
            with gr.Accordion("Probabilities (JSON)", open=False):
                probabilities = gr.JSON(label="Localization", elem_id="localization-json")
    return plot, summary, probabilities


def build_ptm_tab():
    threshold = gr.Slider(
        0.0, 1.0, value=DEFAULT_THRESHOLD, step=0.01, label="Threshold", elem_id="ptm-threshold"
    )
    plot = gr.Plot(label="PTM probability", elem_id="ptm-plot")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            table = gr.Dataframe(
                headers=TABLE_COLUMNS,
                label="Predicted sites (above threshold)",
                interactive=False,
                elem_id="ptm-table",
                max_height=420,
            )
            csv_file = gr.File(label="All candidate sites (.csv)", elem_id="ptm-csv")
        with gr.Column(scale=2):
            viewer = gr.HTML(
                placeholder("Fold the same sequence (Structure tab) to see the sites in 3D.", 360),
                elem_id="ptm-viewer",
            )
    with gr.Accordion("Sites (JSON)", open=False):
        sites_json = gr.JSON(label="PTM sites", elem_id="ptm-json")
    return threshold, plot, table, csv_file, viewer, sites_json


def build_contacts_tab():
    note = gr.HTML("", elem_id="contacts-note")
    plot = gr.Plot(label="Contact map", elem_id="contacts-plot")
    return plot, note


def localization_summary(loc: dict, cards: dict) -> str:
    top = loc["top"]
    top3 = "".join(f"<li>{html.escape(t['class'])}: {t['probability']:.1%}</li>" for t in loc["top3"])
    metrics = cards.get("localization", {}).get("metrics", {}).get("heldout", {})
    honesty = ""
    if metrics:
        honesty = (
            f"<p class='model-note'>On SCL2205's held-out test set this head is right "
            f"{metrics['accuracy']:.0%} of the time (top-3: {metrics['top3_accuracy']:.0%}); "
            "Cytoplasm, Nucleus and Cytoplasm;Nucleus are often confused.</p>"
        )
    return (
        f"<div class='loc-summary'><p><strong>{html.escape(top['class'])}</strong> "
        f"({top['probability']:.1%})</p><ol>{top3}</ol>"
        f"<p>Membrane {loc['membrane']:.1%} · soluble {loc['soluble']:.1%}</p>"
        f"{similar_table(loc.get('similar_training_proteins', []))}{honesty}</div>"
    )


def similar_table(similar: list[dict]) -> str:
    """The training proteins most similar to this one, whose annotated compartments vote in the
    prediction: evidence the user can check (UniProt accessions, cosine similarity)."""
    if not similar:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(s['entry'])}</td><td>{html.escape(s['localization'])}</td>"
        f"<td>{s['similarity']:.2f}</td></tr>"
        for s in similar
    )
    return (
        "<table class='similar-proteins'><caption>Most similar training proteins</caption>"
        "<thead><tr><th>UniProt</th><th>annotated</th><th>similarity</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _site_rows(sequence_sites: list[dict], threshold: float) -> list[list]:
    return [
        [s["position"], s["residue"], s["type"], round(s["probability"], 3), s["window"]]
        for s in sequence_sites
        if s["probability"] >= threshold
    ]


def _write_sites_csv(record_id: str, sites: list[dict], root: Path) -> str:
    digest = hashlib.sha1((record_id + str(len(sites))).encode()).hexdigest()[:12]
    path = root / digest / "ptm_sites.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "position", "residue", "type", "probability", "window"])
        for s in sites:
            writer.writerow(
                [record_id, s["position"], s["residue"], s["type"], s["probability"], s["window"]]
            )
    return str(path)


def make_analyze_handler(studio: Any, script_url: str, download_root: Path | None = None):
    root = download_root or Path(tempfile.mkdtemp(prefix="protein-studio-analysis-"))

    def annotate(text: str):
        try:
            protein = parse_one(text)
            return protein, studio.annotate(protein)
        except SequenceError as error:
            raise gr.Error(str(error), duration=None, print_exception=False) from None

    def analyze(text: str, threshold: float = DEFAULT_THRESHOLD):
        try:
            protein, annotation = annotate(text)
        except BackboneUnavailable as error:
            empty = [None] * 11
            empty[0] = error_html("Analysis unavailable.", str(error))
            return tuple(empty)
        except gr.Error:
            raise
        except Exception:
            log.exception("Analysis failed")
            raise gr.Error("Analysis failed unexpectedly; the error was logged on the server.") from None
        cards = studio.annotator.cards()
        loc = annotation.localization_json()
        ptm = annotation.ptm_json()
        membrane = cards["localization"].get("membrane_classes", [])
        structure = studio.cached_structure(protein)
        viewer = placeholder("Fold the same sequence (Structure tab) to see the sites in 3D.", 360)
        contacts_note = (
            "ESM-2 contact probabilities from the backbone's attention maps. Fold the "
            "same sequence to compare with the predicted structure's contacts."
        )
        structure_contacts = None
        if structure is not None:
            sites = [("A", s["position"], s["probability"]) for s in ptm["sites"]]
            viewer = render_structure(structure.pdb, script_url, "cartoon", "pLDDT", 360, sites, "ptm-viewer")
            coords = np.array(cb_coordinates(structure.pdb))
            if len(coords) == len(annotation.sequence):
                structure_contacts = cb_contact_map(coords)
                contacts_note = "Upper triangle: ESM-2; lower triangle: the ESMFold structure's Cβ contacts."
        return (
            "",
            localization_figure(annotation.localization, membrane),
            localization_summary(loc, cards),
            loc,
            ptm_figure(annotation.sequence, ptm["sites"], threshold),
            _site_rows(ptm["sites"], threshold),
            _write_sites_csv(annotation.id, ptm["sites"], root),
            ptm,
            viewer,
            contacts_figure(annotation.contacts, structure_contacts),
            f"<p>{html.escape(contacts_note)}</p>",
            {"sequence": annotation.sequence, "sites": ptm["sites"]},
        )

    def api_result(kind: str):
        def endpoint(text: str) -> dict:
            try:
                _protein, annotation = annotate(text)
            except BackboneUnavailable as error:
                raise gr.Error(str(error), print_exception=False) from None
            except gr.Error:
                raise
            except Exception:
                log.exception("%s request failed", kind)
                raise gr.Error(f"The {kind} prediction failed unexpectedly; the error was logged.") from None
            return {
                "localization": annotation.localization_json,
                "ptm": annotation.ptm_json,
                "contacts": annotation.contacts_json,
            }[kind]()

        endpoint.__name__ = kind
        return endpoint

    return analyze, api_result


def rethreshold(state: dict | None, threshold: float):
    """Threshold slider: redraw plot and table from the last result, no recomputation."""
    if not state:
        return gr.skip(), gr.skip()
    return ptm_figure(state["sequence"], state["sites"], threshold), _site_rows(state["sites"], threshold)
