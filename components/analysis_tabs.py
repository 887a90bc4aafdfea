"""PTM, Localization and Contacts tabs: one "Analyze" click, one backbone pass, three tabs.

Each tab is a small dataclass built by one function; handlers return `{component: value}`, so
an output left out stays as it is instead of shifting every other output.
"""

from __future__ import annotations

import csv
import hashlib
import html
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gradio as gr

from components.annotation_plots import contacts_figure, localization_figure, ptm_figure
from components.percentages import class_percentages, split_percentages
from components.structure_tab import error_html
from components.structure_viewer import placeholder, render_structure
from components.trust import closeness_sentence, localization_confidence_note, localization_trust_html
from models.errors import BackboneUnavailable, SequenceError
from models.sequences import parse_one

log = logging.getLogger(__name__)
DEFAULT_THRESHOLD = 0.5
TABLE_COLUMNS = ["position", "residue", "type", "probability", "window (±7)"]
NO_FOLD_YET = "Fold the same sequence (Structure tab) to see the sites in 3D."
ESM_CONTACTS_NOTE = (
    "ESM-2 contact probabilities from the backbone's attention maps. Fold the same sequence to "
    "compare with the predicted structure's contacts."
)


@dataclass
class PtmTab:
    threshold: gr.Slider
    plot: gr.Plot
    table: gr.Dataframe
    csv: gr.File
    viewer: gr.HTML
    json: gr.JSON
    state: gr.State  # the last result's sequence and sites, for re-thresholding without recomputing


@dataclass
class LocalizationTab:
    plot: gr.Plot
    summary: gr.HTML
    json: gr.JSON


@dataclass
class ContactsTab:
    note: gr.HTML
    plot: gr.Plot


@dataclass
class AnalysisTabs:
    status: gr.HTML
    ptm: PtmTab
    localization: LocalizationTab
    contacts: ContactsTab

    @property
    def outputs(self) -> list:
        """Every component the Analyze event may change, in the /analyze API's return order."""
        ptm, loc, con = self.ptm, self.localization, self.contacts
        return [
            *(self.status, loc.plot, loc.summary, loc.json),
            *(ptm.plot, ptm.table, ptm.csv, ptm.json, ptm.viewer),
            *(con.plot, con.note, ptm.state),
        ]


def ptm_types_phrase(ptm_types: list[tuple[str, str]]) -> str:
    """'SUMOylation (K) and Phosphorylation (S, T)': the loaded site heads, from their cards."""
    names = [f"{name} ({', '.join(residues)})" for name, residues in ptm_types]
    if len(names) <= 1:
        return names[0] if names else "no PTM type"
    return ", ".join(names[:-1]) + " and " + names[-1]


def build_localization_tab() -> LocalizationTab:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            plot = gr.Plot(label="Localization", elem_id="localization-plot")
        with gr.Column(scale=2):
            summary = gr.HTML("", elem_id="localization-summary")
            with gr.Accordion("Probabilities (JSON)", open=False):
                probabilities = gr.JSON(label="Localization", elem_id="localization-json")
    return LocalizationTab(plot, summary, probabilities)


def build_ptm_tab(ptm_types: list[tuple[str, str]]) -> PtmTab:
    gr.Markdown(
        f"Per-residue probability of {ptm_types_phrase(ptm_types)} at every candidate residue, "
        "one track per PTM type. Add your own type with `python -m training site-head`.",
        elem_id="ptm-intro",
    )
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
            viewer = gr.HTML(placeholder(NO_FOLD_YET, 360), elem_id="ptm-viewer")
    with gr.Accordion("Sites (JSON)", open=False):
        sites_json = gr.JSON(label="PTM sites", elem_id="ptm-json")
    return PtmTab(threshold, plot, table, csv_file, viewer, sites_json, gr.State(None))


def build_contacts_tab() -> ContactsTab:
    note = gr.HTML("", elem_id="contacts-note")
    plot = gr.Plot(label="Contact map", elem_id="contacts-plot")
    return ContactsTab(note, plot)


def localization_summary(loc: dict, card: dict | None) -> str:
    """Top class, top three, membrane vs soluble, the low-confidence note, the most similar
    training proteins and the head's held-out accuracy. Percentages are the plot's (one rounding
    for both, adding up to 100.0%), and membrane + soluble read 100.0% together."""
    if not loc.get("probabilities"):
        return f"<p>{html.escape(loc.get('note', 'No localization.'))}</p>"
    probabilities = loc["probabilities"]
    shown = class_percentages(probabilities)
    ranked = sorted(probabilities, key=lambda c: -probabilities[c])
    top = ranked[0]
    top3 = "".join(f"<li>{html.escape(c)}: {shown[c]}</li>" for c in ranked[:3])
    membrane, soluble = split_percentages(loc["membrane"])
    return (
        f"<div class='loc-summary'><p><strong>{html.escape(top)}</strong> ({shown[top]})</p><ol>{top3}</ol>"
        f"{localization_confidence_note(probabilities, card)}"
        f"<p>Membrane {membrane} · soluble {soluble}</p>"
        f"{similar_table(loc.get('similar_training_proteins', []), card)}"
        f"{localization_trust_html(card)}</div>"
    )


UNIPROT_ENTRY = "https://www.uniprot.org/uniprotkb/{}/entry"
SIMILARITY_CAPTION = (
    "Similarity: cosine similarity of the two proteins' embeddings in the head's PCA projection "
    "(1 = identical embeddings; a training protein scores 1.00 against itself). "
)


def similar_table(similar: list[dict], card: dict | None = None) -> str:
    """The training proteins most similar to this one, whose annotated compartments vote in the
    prediction: evidence the user can check (UniProt accessions link to their entries)."""
    if not similar:
        return ""
    rows = "".join(
        f"<tr><td><a href='{html.escape(UNIPROT_ENTRY.format(quote(s['entry'], safe='')))}' "
        f"target='_blank' rel='noopener noreferrer'>{html.escape(s['entry'])}</a></td>"
        f"<td>{html.escape(s['localization'])}</td><td>{s['similarity']:.2f}</td></tr>"
        for s in similar
    )
    return (
        "<table class='similar-proteins'><caption>Most similar training proteins</caption>"
        "<thead><tr><th>UniProt</th><th>annotated</th><th>similarity</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        f"<p class='similarity-scale'>{html.escape(SIMILARITY_CAPTION + closeness_sentence(card))}</p>"
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


def make_analyze_handler(studio: Any, tabs: AnalysisTabs, script_url: str, download_root: Path | None = None):
    """The Analyze event (text, threshold -> every analysis output) and the per-task endpoints."""
    root = download_root or Path(tempfile.mkdtemp(prefix="protein-studio-analysis-"))
    ptm, loc, con = tabs.ptm, tabs.localization, tabs.contacts

    def annotate(text: str):
        try:
            protein = parse_one(text)
            return protein, studio.annotate(protein)
        except SequenceError as error:
            raise gr.Error(str(error), duration=None, print_exception=False) from None

    def analyze(text: str, threshold: float = DEFAULT_THRESHOLD) -> dict:
        try:
            protein, annotation = annotate(text)
        except BackboneUnavailable as error:
            # Every output is cleared: nothing from an earlier protein may pass for this one's.
            cleared = {component: None for component in tabs.outputs}
            cleared[ptm.viewer] = placeholder(NO_FOLD_YET, 360)
            return {**cleared, tabs.status: error_html("Analysis unavailable.", str(error))}
        except gr.Error:
            raise
        except Exception:
            log.exception("Analysis failed")
            raise gr.Error("Analysis failed unexpectedly; the error was logged on the server.") from None
        cards = studio.annotator.head_cards
        loc_json, ptm_json = annotation.localization_json(), annotation.ptm_json()
        loc_card = cards.localization.card if cards.localization else {}
        membrane = loc_card.get("membrane_classes", [])
        structure = studio.cached_structure(protein)
        viewer, note, structure_contacts = placeholder(NO_FOLD_YET, 360), ESM_CONTACTS_NOTE, None
        if structure is not None:
            sites = [("A", s["position"], s["probability"]) for s in ptm_json["sites"]]
            viewer = render_structure(
                structure.pdb, script_url, "cartoon", "pLDDT", 360, sites, "ptm-viewer", structure.residues()
            )
            structure_contacts = structure.cb_contacts()
            if structure_contacts is not None:
                note = "Upper triangle: ESM-2; lower triangle: the ESMFold structure's Cβ contacts."
        return {
            tabs.status: "",
            loc.plot: localization_figure(annotation.localization, membrane),
            loc.summary: localization_summary(loc_json, loc_card),
            loc.json: loc_json,
            ptm.plot: ptm_figure(annotation.sequence, ptm_json["sites"], threshold, annotation.ptm_types),
            ptm.table: _site_rows(ptm_json["sites"], threshold),
            ptm.csv: _write_sites_csv(annotation.id, ptm_json["sites"], root),
            ptm.json: ptm_json,
            ptm.viewer: viewer,
            ptm.state: {
                "sequence": annotation.sequence,
                "sites": ptm_json["sites"],
                "types": annotation.ptm_types,
            },
            con.plot: contacts_figure(annotation.contacts, structure_contacts),
            con.note: f"<p>{html.escape(note)}</p>",
        }

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


def make_rethreshold_handler(ptm: PtmTab):
    """Threshold slider: redraw plot and table from the last result, no recomputation."""

    def rethreshold(state: dict | None, threshold: float) -> dict:
        if not state:
            return {}
        types = [tuple(t) for t in state.get("types", [])]
        return {
            ptm.plot: ptm_figure(state["sequence"], state["sites"], threshold, types),
            ptm.table: _site_rows(state["sites"], threshold),
        }

    return rethreshold
