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
import numpy as np

from components.analysis.annotation_plots import contacts_figure, localization_figure, ptm_figure
from components.analysis.contacts_view import (
    TOP_CONTACT_COLUMNS,
    contact_lines,
    top_contacts_rows,
    write_contact_files,
)
from components.analysis.map_plot import map_figure
from components.analysis.percentages import class_percentages, split_percentages
from components.analysis.ptm_view import (
    EVERY_TYPE,
    PtmView,
    calibrated,
    site_rows,
    sites_in_3d,
    summary_html,
)
from components.analysis.secondary_plots import NO_HEAD, secondary_figure, secondary_note
from components.analysis.trust import (
    closeness_sentence,
    contacts_trust_html,
    localization_confidence_note,
    localization_trust_html,
    ptm_empty_states_html,
    ptm_trust_html,
)
from components.structure.tab import FILLED, error_html
from components.structure.viewer import placeholder, render_structure
from models.analysis.annotation_json import (
    contacts_json_for,
    localization_json_for,
    map_json_for,
    ptm_json_for,
    secondary_json_for,
)
from models.analysis.contacts import read_contacts_card
from models.analysis.embeddings import write_embeddings
from models.shared.errors import BackboneUnavailable, SequenceError
from models.shared.sequences import Protein, parse_one

log = logging.getLogger(__name__)
DEFAULT_THRESHOLD = 0.5
TABLE_COLUMNS = ["chain", "position", "residue", "type", "probability", "window (±7)"]
NO_FOLD_YET = "Fold the same sequence (Structure tab) to see the sites in 3D."
NO_FOLD_YET_CONTACTS = "Fold the same sequence (Structure tab) to see the top contacts drawn on it in 3D."
FOLD_PENDING = {
    "sites": "The sites are drawn on the structure as soon as the fold is done (Structure tab).",
    "contacts": "The top contacts are drawn on the structure as soon as the fold is done (Structure tab).",
}
ESM_CONTACTS_NOTE = (
    "ESM-2 contact probabilities from the backbone's attention maps. Fold the same sequence to "
    "compare with the predicted structure's contacts."
)


@dataclass
class PtmTab:
    subject: gr.HTML  # which protein these results belong to
    threshold: gr.Slider
    plot: gr.Plot
    table: gr.Dataframe
    csv: gr.File
    viewer: gr.HTML
    json: gr.JSON
    state: gr.State  # the last result's sequence and sites, for re-thresholding without recomputing
    trust: gr.HTML  # the head cards' test figures at the current threshold
    empty: gr.HTML  # one summary row per PTM type, and "no site at or above …; the highest is …"
    types: gr.CheckboxGroup  # the PTM types shown (all by default)
    own: gr.Checkbox  # every type at its card's calibrated threshold
    view: gr.State  # PtmView.as_state(): the types shown and each one's threshold (not in the API)
    target: gr.Dropdown  # whose threshold the slider sets: every type's or one type's
    secondary_plot: gr.Plot  # DSSP classes and RSA predicted from the sequence (+ a structure's DSSP)
    secondary_note: gr.HTML  # agreement with the structure's DSSP, the head's test figures


@dataclass
class LocalizationTab:
    subject: gr.HTML
    plot: gr.Plot
    summary: gr.HTML
    json: gr.JSON
    embeddings: gr.File  # the backbone's last layer per residue and its mean, per chain (.npy)
    map_plot: gr.Plot  # the protein map: training proteins of known location, this protein placed
    map_note: gr.HTML  # where it landed, and how far the map can be trusted


@dataclass
class ContactsTab:
    subject: gr.HTML
    note: gr.HTML
    plot: gr.Plot
    top: gr.Dataframe  # the top L/5 long-range contacts
    files: gr.File  # CSV (pairs > 0.1) and .npy of each chain's map
    viewer: gr.HTML  # the top contacts as lines on the fold


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
            *(ptm.subject, loc.subject, con.subject),
            loc.embeddings,
            *(ptm.trust, ptm.empty, con.top, con.files, con.viewer),
            *(ptm.secondary_plot, ptm.secondary_note),
            *(loc.map_plot, loc.map_note),
        ]


def ptm_types_phrase(ptm_types: list[tuple[str, str]]) -> str:
    """'SUMOylation (K) and Phosphorylation (S, T)': the loaded site heads, from their cards."""
    # A name that already says its residues ("Phosphorylation (S/T)") is not told them twice.
    names = [n if n.endswith(")") else f"{n} ({', '.join(residues)})" for n, residues in ptm_types]
    if len(names) <= 1:
        return names[0] if names else "no PTM type"
    return ", ".join(names[:-1]) + " and " + names[-1]


def subject_html(protein) -> str:
    """'Results for ubiquitin · 76 residues' (a complex: each chain's letter and length)."""
    if protein is None:
        return ""
    if len(protein.chains) == 1:
        size = f"{protein.length:,} residues"
    else:
        size = ", ".join(f"chain {c} {len(p.residues):,} aa" for c, p in protein.per_chain())
    return (
        f"<p class='result-subject'>Results for <strong>{html.escape(protein.id)}</strong> · "
        f"{html.escape(size)}</p>"
    )


def _subject(label: str) -> gr.HTML:
    return gr.HTML("", label=label, elem_classes=["result-subject-box"])


def build_localization_tab() -> LocalizationTab:
    subject = _subject("Localization: protein")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            plot = gr.Plot(label="Localization plot", elem_id="localization-plot", elem_classes=FILLED)
        with gr.Column(scale=2):
            summary = gr.HTML("", label="Localization summary", elem_id="localization-summary")
            with gr.Accordion("Probabilities (JSON)", open=False):
                probabilities = gr.JSON(label="Localization (JSON)", elem_id="localization-json")
            embeddings = gr.File(
                label="ESM-2 embeddings (.npy: per residue L × D float16, and the mean)",
                file_count="multiple",
                elem_id="embeddings-download",
                elem_classes=FILLED,
            )
    map_note = gr.HTML("", label="Protein map: where it lands", elem_id="map-note")
    map_plot = gr.Plot(label="Protein map", elem_id="map-plot", elem_classes=FILLED)
    return LocalizationTab(subject, plot, summary, probabilities, embeddings, map_plot, map_note)


def build_ptm_tab(ptm_types: list[tuple[str, str]], site_cards=()) -> PtmTab:
    gr.Markdown(
        f"Per-residue probability of {ptm_types_phrase(ptm_types)} at every candidate residue, "
        "one track per PTM type. Add your own type with `python -m training site-head`.",
        elem_id="ptm-intro",
    )
    subject = _subject("PTM sites: protein")
    names = [name for name, _ in ptm_types]
    with gr.Row(equal_height=False):
        types = gr.CheckboxGroup(
            names, value=names, label="PTM types shown", elem_id="ptm-types", scale=3
        )
        with gr.Column(scale=2):
            own = gr.Checkbox(
                True,
                label="Each type at its calibrated threshold (chosen on validation data; its card)",
                elem_id="ptm-own-thresholds",
            )
            with gr.Row():
                target = gr.Dropdown(
                    [EVERY_TYPE, *names], value=EVERY_TYPE, label="Threshold of",
                    elem_id="ptm-threshold-target", scale=1,
                )  # fmt: skip
                threshold = gr.Slider(
                    0.0, 1.0, value=DEFAULT_THRESHOLD, step=0.01, label="Threshold", elem_id="ptm-threshold",
                    scale=2,
                )  # fmt: skip
    plot = gr.Plot(label="PTM probability", elem_id="ptm-plot", elem_classes=FILLED)
    # Under the PTM tracks: whether a site sits in a helix, a strand or a loop, and how exposed it is.
    secondary_plot = gr.Plot(
        label="Secondary structure and accessibility (from the sequence)", elem_id="secondary-plot",
        elem_classes=FILLED,
    )  # fmt: skip
    secondary_note = gr.HTML("", label="Secondary structure: agreement", elem_id="secondary-note")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            empty = gr.HTML("", label="PTM types: sites at or above each threshold", elem_id="ptm-empty-box")
            table = gr.Dataframe(
                headers=TABLE_COLUMNS,
                label="Predicted sites (above threshold)",
                interactive=False,
                elem_id="ptm-table",
                max_height=420,
            )
            csv_file = gr.File(label="All candidate sites (.csv)", elem_id="ptm-csv", elem_classes=FILLED)
        with gr.Column(scale=2):
            viewer = gr.HTML(placeholder(NO_FOLD_YET, 360), label="PTM sites in 3D", elem_id="ptm-viewer")
    # How far to trust each type comes after the summary, plot and table: with nine types it is
    # nine paragraphs, and above the plot it pushed the results off the first screen.
    start = PtmView.start(site_cards)
    trust = gr.HTML(
        ptm_trust_html(site_cards, start.thresholds(site_cards, DEFAULT_THRESHOLD)),
        label="PTM trust",
        elem_id="ptm-trust-box",
    )
    with gr.Accordion("Sites (JSON)", open=False):
        sites_json = gr.JSON(label="PTM sites (JSON)", elem_id="ptm-json")
    # The State's own value (slider for every type) is what API calls get; the page's load event
    # starts each browser session at the cards' thresholds (`page_start` in make_rethreshold_handler).
    view = gr.State(PtmView().as_state())
    return PtmTab(
        subject, threshold, plot, table, csv_file, viewer, sites_json, gr.State(None), trust, empty,
        types, own, view, target, secondary_plot, secondary_note,
    )  # fmt: skip


def build_contacts_tab() -> ContactsTab:
    subject = _subject("Contacts: protein")
    note = gr.HTML("", label="Contacts note", elem_id="contacts-note")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            plot = gr.Plot(label="Contact map", elem_id="contacts-plot", elem_classes=FILLED)
        with gr.Column(scale=2):
            top = gr.Dataframe(
                headers=TOP_CONTACT_COLUMNS,
                label="Top L/5 long-range contacts (|i−j| ≥ 24)",
                interactive=False,
                max_height=300,
                elem_id="contacts-top",
            )
            files = gr.File(
                label="Contact maps (.csv: pairs > 0.1; .npy: the whole map)",
                file_count="multiple",
                elem_id="contacts-download",
                elem_classes=FILLED,
            )
    viewer = gr.HTML(
        placeholder(NO_FOLD_YET_CONTACTS, 360), label="Top contacts in 3D", elem_id="contacts-viewer"
    )
    return ContactsTab(subject, note, plot, top, files, viewer)


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


def _write_sites_csv(record_id: str, sites: list[dict], root: Path) -> str:
    digest = hashlib.sha1((record_id + str(len(sites))).encode()).hexdigest()[:12]
    path = root / digest / "ptm_sites.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "chain", "position", "residue", "type", "probability", "window"])
        for s in sites:
            row = [s.get("chain", "A"), s["position"], s["residue"], s["type"], s["probability"], s["window"]]
            writer.writerow([record_id, *row])
    return str(path)


ANSWERS = {
    "localization": localization_json_for,
    "ptm": ptm_json_for,
    "contacts": contacts_json_for,
    "secondary": secondary_json_for,
}


def place_chains(studio: Any, protein, chains: list) -> tuple[object, np.ndarray]:
    """The protein map and each chain's place on it (raises BackboneUnavailable without a map)."""
    points = studio.annotator.place([a for _, a in chains])
    return studio.annotator.heads().map, points


def map_outputs(studio: Any, loc: LocalizationTab, protein, chains: list) -> dict:
    """The Localization tab's map: every reference protein by compartment, each chain placed."""
    try:
        protein_map, points = place_chains(studio, protein, chains)
    except BackboneUnavailable as error:
        return {loc.map_plot: None, loc.map_note: f"<p class='map-note'>{html.escape(str(error))}</p>"}
    except Exception:  # the map is an add-on: the rest of the analysis stands without it
        log.exception("Placing on the protein map failed")
        failed = "<p class='map-note'>The map failed; the error was logged.</p>"
        return {loc.map_plot: None, loc.map_note: failed}
    index = protein_map.index
    placed = []
    for (letter, a), (x, y), k in zip(chains, points, protein_map.nearest(points)):
        name = protein.id if len(chains) == 1 else f"{protein.id} {letter}"
        compartment = protein_map.classes[protein_map.labels[k]]
        nearest = f"nearest on the map: {protein_map.entries[k]} ({compartment})"
        similar = [index[s["entry"]] for s in a.similar if s["entry"] in index]
        placed.append({"name": name, "x": float(x), "y": float(y), "similar": similar, "nearest": nearest})
    similarity = protein_map.reference @ chains[0][1].map_vector
    figure = map_figure(
        protein_map.coordinates, protein_map.labels, protein_map.entries, protein_map.classes, placed,
        similarity,
        f"{protein.id} among {len(protein_map.coordinates):,} training proteins of known location",
    )  # fmt: skip
    return {loc.map_plot: figure, loc.map_note: map_note_html(placed, protein_map)}


def map_note_html(placed: list[dict], protein_map) -> str:
    metrics = protein_map.card.card.get("metrics", {}).get("heldout_nearest_has_own_compartment")
    where = "; ".join(f"{p['name']}: {p['nearest']}" for p in placed)
    trust = ""
    if metrics:
        trust = (
            f" How far to read it: for {metrics['proteins']:,} held-out proteins, the nearest point on the "
            "map "
            f"had the protein's own compartment {metrics['on_the_map']:.0%} of the time (the nearest in the "
            f"full embedding space: {metrics['in_the_embedding_space']:.0%}). t-SNE keeps neighbourhoods, "
            "not distances between groups."
        )
    return (
        "<p class='map-note'>Placed by openTSNE among the training proteins (coloured by their annotated "
        "compartment; click a legend entry to hide a class, a point to open its UniProt entry). The five "
        f"most similar are circled. {html.escape(where)}.{html.escape(trust)}</p>"
    )


def cleared_analysis(tabs: AnalysisTabs) -> dict:
    """Every analysis output emptied: nothing from an earlier protein may pass for this one's."""
    return {
        **{component: None for component in tabs.outputs},
        tabs.ptm.viewer: placeholder(NO_FOLD_YET, 360),
        tabs.contacts.viewer: placeholder(NO_FOLD_YET_CONTACTS, 360),
        tabs.ptm.trust: gr.skip(),  # the cards' figures do not belong to a protein: they stay
        **{subject: "" for subject in (tabs.ptm.subject, tabs.localization.subject, tabs.contacts.subject)},
    }


def block_diagonal(maps: list[np.ndarray]) -> np.ndarray:
    """Each chain's own contact map on the diagonal of the whole complex's (L, L) map; pairs
    between chains are not predicted (each chain is embedded alone) and stay 0."""
    total = sum(len(m) for m in maps)
    out = np.zeros((total, total))
    start = 0
    for m in maps:
        out[start : start + len(m), start : start + len(m)] = m
        start += len(m)
    return out


def ptm_site_outputs(
    ptm: PtmTab, state: dict, site_cards, threshold: float, view_state: dict | None
) -> dict:
    """What depends on the shown types and thresholds: plot, table, trust notes, summary. From
    the last result (`state`), so changing them recomputes nothing."""
    view = PtmView.from_state(view_state)
    types = [tuple(t) for t in state.get("types", [])]
    thresholds = view.thresholds(site_cards, threshold)
    shown = view.shown(types)
    names = [n for n, _ in shown]
    cards = [c for c in site_cards if c.ptm_type in names]
    many = len(state["sequences"]) > 1
    return {
        ptm.trust: ptm_trust_html(cards, thresholds),
        ptm.empty: summary_html(state["sites"], thresholds, shown, types, list(state["sequences"]))
        + "".join(
            (f"<h4>Chain {letter}</h4>" if many else "")
            + ptm_empty_states_html(
                sequence, [x for x in state["sites"] if x.get("chain", "A") == letter], thresholds, shown
            )
            for letter, sequence in state["sequences"].items()
        ),
        ptm.plot: ptm_figure(state["lengths"], state["sites"], thresholds, shown, colours=types),
        ptm.table: site_rows(state["sites"], thresholds, names),
    }


def analysis_outputs(
    studio: Any,
    tabs: AnalysisTabs,
    protein,
    chains: list,
    threshold: float,
    script_url: str,
    root: Path,
    view_state: dict | None = None,
    shown: dict | None = None,
) -> dict:
    """Every analysis output for `protein`, analysed chain by chain ([(letter, Annotation)]).
    `view_state`: the PTM types shown and their thresholds (`PtmView`); None: all, at `threshold`.
    `shown`: the Structure tab's structure (its pdb_state), compared when it is this sequence's."""
    ptm, loc, con = tabs.ptm, tabs.localization, tabs.contacts
    cards = studio.annotator.head_cards
    loc_card = cards.localization.card if cards.localization else {}
    ptm_json = ptm_json_for(protein.id, chains, {c.ptm_type: c.threshold for c in cards.sites})
    loc_json = localization_json_for(protein.id, chains)
    lengths = {letter: len(a.sequence) for letter, a in chains}
    ptm_types = chains[0][1].ptm_types
    summaries = [
        (f"<h4>Chain {letter}</h4>" if len(chains) > 1 else "")
        + localization_summary(a.localization_json(), loc_card)
        for letter, a in chains
    ]
    subject = subject_html(protein)
    state = {
        "id": protein.id,
        "lengths": lengths,
        "sites": ptm_json["sites"],
        "types": ptm_types,
        "sequences": {letter: a.sequence for letter, a in chains},
        "threshold": threshold,
        "view": view_state,
    }
    return {
        tabs.status: "",
        loc.subject: subject,
        loc.plot: localization_figure(
            {letter: a.localization for letter, a in chains}, loc_card.get("membrane_classes", [])
        )
        if chains[0][1].localization
        else None,
        loc.summary: "".join(summaries),
        loc.json: loc_json,
        loc.embeddings: [
            str(path) for _, a in chains if a.embedding is not None for path in write_embeddings(a, root)
        ]
        or None,
        ptm.subject: subject,
        ptm.csv: _write_sites_csv(protein.id, ptm_json["sites"], root),
        ptm.json: ptm_json,
        ptm.state: state,
        con.subject: subject,
        con.top: [
            [f"{letter}{i}" if len(chains) > 1 else i, f"{letter}{j}" if len(chains) > 1 else j, p]
            for letter, a in chains
            for i, j, p in top_contacts_rows(a.contacts)
        ],
        con.files: [path for letter, a in chains for path in write_contact_files(a.id, a.contacts, root)],
        **structure_views(studio, tabs, protein, chains, ptm_json["sites"], script_url, state, shown),
        **map_outputs(studio, loc, protein, chains),
        **ptm_site_outputs(ptm, state, cards.sites, threshold, view_state),
    }


def ptm_sites_viewer(studio: Any, structure, state: dict, script_url: str) -> str:
    """The fold with the shown types' sites at or above their thresholds, coloured by type."""
    types = [tuple(t) for t in state.get("types", [])]
    view = PtmView.from_state(state.get("view"))
    thresholds = view.thresholds(studio.annotator.head_cards.sites, state.get("threshold", DEFAULT_THRESHOLD))
    drawn, key = sites_in_3d(state["sites"], thresholds, view.shown(types), types)
    return render_structure(
        structure.pdb, script_url, "cartoon", "pLDDT", 360, drawn, "ptm-viewer", structure.residues(),
        site_key=key,
    )  # fmt: skip


def structure_views(
    studio: Any,
    tabs: AnalysisTabs,
    protein,
    chains: list,
    sites: list,
    script_url: str,
    state: dict | None = None,
    shown: dict | None = None,
) -> dict:
    """The analysis outputs that show the protein's fold when it is folded: the sites in 3D (the
    shown types at or above their thresholds, coloured by type; `state`: the PTM tab's), the
    structure's contacts in the map's lower triangle, the top contacts as lines, the structure's
    DSSP beside the predicted secondary structure (the fold's, else `shown`: the Structure tab's
    structure when it has this sequence). Predict redraws only these once its fold arrives."""
    ptm, con = tabs.ptm, tabs.contacts
    structure = studio.cached_structure(protein)
    viewer, note, structure_contacts = placeholder(NO_FOLD_YET, 360), ESM_CONTACTS_NOTE, None
    if structure is not None:
        viewer = ptm_sites_viewer(studio, structure, {"sites": sites, **(state or {})}, script_url)
        structure_contacts = structure.cb_contacts()
        if structure_contacts is not None:
            note = "Upper triangle: ESM-2; lower triangle: the ESMFold structure's Cβ contacts."
    if len(chains) > 1:
        note += " Each chain is analysed as its own protein: pairs between chains are not predicted."
    return {
        **secondary_outputs(studio, ptm, protein, chains, structure, shown),
        ptm.viewer: viewer,
        con.plot: contacts_figure(block_diagonal([a.contacts for _, a in chains]), structure_contacts),
        con.note: contacts_trust_html(read_contacts_card(), studio.annotator.backbone.weights_sha256)
        + f"<p>{html.escape(note)}</p>",
        con.viewer: _contacts_viewer(structure, chains, script_url),
    }


def observed_secondary(structure, shown: dict | None, sequence: str) -> tuple[str | None, list | None, str]:
    """(DSSP three-state, RSA, what it is) of the fold, else of the Structure tab's structure when
    it holds exactly this sequence; (None, None, "") when neither."""
    if structure is not None and structure.ss is not None:
        return structure.ss, structure.rsa, "the ESMFold fold"
    if shown and shown.get("ss") and shown.get("sequence") == sequence and len(shown["ss"]) == len(sequence):
        rsa = shown.get("rsa")
        kind = "the ESMFold fold" if shown.get("confidence") == "pLDDT" else "the opened structure"
        name = shown.get("id") or ""
        return shown["ss"], None if rsa is None else [np.nan if x is None else x for x in rsa], (
            f"{kind} {name}".strip()
        )
    return None, None, ""


def secondary_outputs(studio: Any, ptm: PtmTab, protein, chains: list, structure, shown: dict | None) -> dict:
    """The secondary-structure tracks and their note (nothing to draw without a secondary head)."""
    predictions = [(letter, a.sequence, a.secondary) for letter, a in chains if a.secondary is not None]
    if len(predictions) != len(chains):
        return {ptm.secondary_plot: None, ptm.secondary_note: f"<p class='secondary-note'>{NO_HEAD}</p>"}
    sequence = "".join(a.sequence for _, a in chains)
    ss, rsa, source = observed_secondary(structure, shown, sequence)
    card = studio.annotator.head_cards.secondary
    predicted = "".join(p.ss3 for *_, p in predictions)
    return {
        ptm.secondary_plot: secondary_figure(predictions, ss, rsa, source),
        ptm.secondary_note: secondary_note(predicted, ss, source, card.card if card else None),
    }


def fold_viewer_placeholders(tabs: AnalysisTabs, why_not: str | None = None) -> dict:
    """The PTM and Contacts tabs' 3D boxes while Predict's fold runs (`why_not` None) or after it
    failed (`why_not` says why, in a few words): never "fold the same sequence" after a fold."""
    if why_not is None:
        sites, contacts, state = FOLD_PENDING["sites"], FOLD_PENDING["contacts"], "waiting"
    else:
        sites = f"No 3D view: {why_not} The sites are in the plot and the table."
        contacts = f"No 3D view: {why_not} The contacts are in the map and the list."
        state = "failed"
    return {
        tabs.ptm.viewer: placeholder(sites, 360, state),
        tabs.contacts.viewer: placeholder(contacts, 360, state),
    }


def _contacts_viewer(structure, chains: list, script_url: str) -> str:
    """The fold with each chain's top L/5 long-range contacts drawn between Cα atoms."""
    if structure is None or structure.ca is None:
        return placeholder(NO_FOLD_YET_CONTACTS, 360)
    lines, start = [], 0
    for _, a in chains:
        n = len(a.sequence)
        lines += contact_lines(a.contacts, structure.ca[start : start + n])
        start += n
    return render_structure(
        structure.pdb, script_url, "cartoon", "pLDDT", 420, None, "contacts-viewer", structure.residues(),
        contacts=lines,
    )  # fmt: skip


def make_analyze_handler(studio: Any, tabs: AnalysisTabs, script_url: str, download_root: Path | None = None):
    """The Analyze event (text, threshold -> every analysis output) and the per-task endpoints.
    A complex is analysed chain by chain; every result names its chain."""
    root = download_root or Path(tempfile.mkdtemp(prefix="protein-studio-analysis-"))

    def annotate(text: str):
        try:
            protein = parse_one(text)
            return protein, studio.annotate_chains(protein)
        except SequenceError as error:
            raise gr.Error(str(error), duration=None, print_exception=False) from None

    def analyze(
        sequence: str, threshold: float = DEFAULT_THRESHOLD, view_state: dict | None = None, shown=None
    ) -> dict:
        try:
            protein, chains = annotate(sequence)
        except BackboneUnavailable as error:
            return {**cleared_analysis(tabs), tabs.status: error_html("Analysis unavailable.", str(error))}
        except gr.Error:
            raise
        except Exception:
            log.exception("Analysis failed")
            raise gr.Error("Analysis failed unexpectedly; the error was logged on the server.") from None
        return analysis_outputs(studio, tabs, protein, chains, threshold, script_url, root, view_state, shown)

    def api_result(kind: str):
        def endpoint(sequence: str) -> dict:
            try:
                protein, chains = annotate(sequence)
            except BackboneUnavailable as error:
                raise gr.Error(str(error), print_exception=False) from None
            except gr.Error:
                raise
            except Exception:
                log.exception("%s request failed", kind)
                raise gr.Error(f"The {kind} prediction failed unexpectedly; the error was logged.") from None
            if kind == "map":
                try:
                    protein_map, points = place_chains(studio, protein, chains)
                except BackboneUnavailable as error:
                    raise gr.Error(str(error), print_exception=False) from None
                return map_json_for(protein.id, chains, points, protein_map)
            if kind == "ptm":
                cards = studio.annotator.head_cards.sites
                return ptm_json_for(protein.id, chains, {c.ptm_type: c.threshold for c in cards})
            return ANSWERS[kind](protein.id, chains)

        endpoint.__name__ = kind
        return endpoint

    return analyze, api_result


def make_rethreshold_handler(studio: Any, tabs: AnalysisTabs, script_url: str):
    """The PTM tab's controls: redraw plot, table, summary, trust notes and the 3D sites from the
    last result, no recomputation. The slider sets the threshold of the type chosen beside it (or
    of every type); the box puts every type back at its calibrated threshold, and is ticked only
    while every type is there. Returns (on_slider, on_types, on_own, on_target, page_start)."""
    ptm = tabs.ptm
    site_cards = studio.annotator.head_cards.sites

    def redraw(state: dict | None, threshold: float, view: PtmView) -> dict:
        view_state = view.as_state()
        out = {ptm.view: view_state, ptm.own: view.at_calibrated(site_cards)}
        if not state:
            return out
        state = {**state, "threshold": threshold, "view": view_state}
        out |= {ptm.state: state, **ptm_site_outputs(ptm, state, site_cards, threshold, view_state)}
        protein = Protein(state.get("id", ""), tuple(state["sequences"].values()))
        structure = studio.cached_structure(protein)
        if structure is not None:
            out[ptm.viewer] = ptm_sites_viewer(studio, structure, state, script_url)
        return out

    def on_slider(state, threshold, types, own, target, view_state):
        view = PtmView.from_state(view_state)
        view = PtmView(tuple(types or ()), view.per_type).with_threshold(site_cards, target, threshold)
        return redraw(state, threshold, view)

    def on_types(state, threshold, types, own, target, view_state):
        view = PtmView.from_state(view_state)
        return redraw(state, threshold, PtmView(tuple(types or ()), view.per_type or calibrated(site_cards)))

    def on_own(state, threshold, types, own, target, view_state):
        view = PtmView(tuple(types or ()), calibrated(site_cards))
        if not own:  # unticked by hand: every type at the slider's value
            view = view.with_threshold(site_cards, EVERY_TYPE, threshold)
        return redraw(state, threshold, view)

    def on_target(target, view_state):
        """The slider shows the chosen type's threshold (every type: it stays where it is)."""
        view = PtmView.from_state(view_state)
        if target == EVERY_TYPE or view.per_type is None:
            return gr.skip()
        return dict(view.per_type).get(target, DEFAULT_THRESHOLD)

    def page_start() -> dict:
        return PtmView.start(site_cards).as_state()

    return on_slider, on_types, on_own, on_target, page_start
