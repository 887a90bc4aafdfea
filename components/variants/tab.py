"""The Mutations tab: variants of the protein in the input box, and a site-saturation scan.

Variants (`/mutate`): each entry's differences from the wild type in every predictor, a table,
the JSON, a CSV, and (when the wild type was folded) the mutant's model over the wild type's in
grey with ΔpLDDT per residue. Scan (`/scan`): every single substitution over a range of
positions, one readout, as an amino acids × positions heatmap and a CSV. What each readout is and
how far to trust it is said on the tab, with figures from the head cards.
"""

from __future__ import annotations

import hashlib
import html
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from components.analysis.tabs import subject_html
from components.structure.tab import FILLED, error_html
from components.structure.viewer import placeholder, render_structure
from models.shared.errors import BackboneUnavailable, LanguageModelUnavailable, SequenceError
from models.shared.files import safe_file_name
from models.shared.sequences import CHAIN_LETTERS, STANDARD_AMINO_ACIDS, parse_one
from models.structure.compare import reference_in_model_frame
from models.variants.effects import CONTACT_CHANGE, DEFAULT_THRESHOLD, effect_row, effects_csv, folded_variant
from models.variants.notation import VariantListError
from models.variants.readouts import (
    LM_READOUT,
    MEMBRANE_READOUT,
    ScanError,
    parse_readout,
    readout_chain,
    readout_choices,
)

log = logging.getLogger(__name__)
# (header, share of the table's width): nine columns that fit the tab's width and wrap inside
# their cells; every number is also in the CSV, one per column.
TABLE_LAYOUT = [
    ("variant", 8), ("status", 6), ("top class: wild type → mutant", 17), ("Δ membrane", 8),
    ("PTM sites", 17), ("contacts changed", 7), ("LM score", 6), ("structure", 15), ("note", 16),
]  # fmt: skip
TABLE_CAPTION = (
    "**top class**: the most likely compartment of wild type → mutant, and how much its probability "
    "moved (pp: percentage points). **Δ membrane**: change of the membrane probability (pp). "
    "**PTM sites**: sites lost or gained at the threshold, and the largest change of any site's "
    f"probability (pp). **contacts changed**: residue pairs whose contact probability moved by more than "
    f"{CONTACT_CHANGE}. **LM score**: log p(mutant) − log p(wild type); below 0, the language model finds "
    "the mutant less likely. **structure**: residues whose three-state secondary structure predicted "
    "from the sequence changes (H helix, E strand, C coil) and, when the wild type was folded, Cα RMSD of "
    "mutant against wild type, their TM-score, and the mean pLDDT change. **note**: why a variant was not "
    "predicted, or what is missing."
)
TABLE_COLUMNS = [header for header, _ in TABLE_LAYOUT]
NOT_FOLDED = "Fold the wild type (Predict) first: then each variant's model is shown over it here."
SCAN_FLANK = 15  # a site readout proposes the site ± this many positions
EXAMPLE_VARIANTS = "K48R, K63R\nK48R+E51A\np.Lys29Arg"


@dataclass
class MutationsTab:
    subject: gr.HTML
    variants: gr.Textbox
    threshold: gr.Slider
    button: gr.Button
    status: gr.HTML
    table: gr.Dataframe
    csv: gr.File
    json: gr.JSON
    viewer: gr.HTML
    plddt_plot: gr.Plot
    shown: gr.State  # the input text the table's variants were predicted for (a row click reads it)
    readout: gr.Dropdown
    first: gr.Number
    last: gr.Number
    scan_button: gr.Button
    scan_status: gr.HTML
    heatmap: gr.Plot
    scan_csv: gr.File
    scan_json: gr.JSON

    @property
    def mutate_outputs(self) -> list:
        return [
            self.subject, self.status, self.table, self.csv, self.json,
            self.viewer, self.plddt_plot, self.shown,
        ]  # fmt: skip

    @property
    def scan_outputs(self) -> list:
        return [self.scan_status, self.heatmap, self.scan_csv, self.scan_json]


def trust_html(studio: Any) -> str:
    """What each readout is and how far to trust it; figures from the cards, none typed here."""
    cards = studio.annotator.head_cards
    items = []
    for card in cards.sites:
        final = card.test_metrics
        aucs = ", ".join(
            f"{m['roc_auc']:.3f} on {html.escape(split)}" for split, m in final.items() if m.get("roc_auc")
        )
        items.append(
            f"<li><strong>{html.escape(card.ptm_type)}</strong> site probability: the head's test ROC-AUC "
            f"{aucs or 'not measured'}. A change of a few hundredths is within what unrelated "
            "substitutions do; a site is lost or gained when it crosses the threshold.</li>"
        )
    heldout = ((cards.localization.card if cards.localization else {}).get("metrics") or {}).get("heldout")
    if heldout:
        items.append(
            "<li><strong>Localization</strong> and <strong>membrane probability</strong>: on SCL2205's "
            f"held-out proteins the top class is right {heldout['accuracy']:.0%} of the time, membrane vs "
            f"soluble {heldout['membrane_vs_soluble_accuracy']:.0%}. One substitution rarely moves a "
            "whole-protein prediction; a changed top class usually means the protein was already between "
            "two classes.</li>"
        )
    items.append(
        f"<li><strong>Contacts</strong>: pairs whose ESM-2 contact probability moves by more than "
        f"{CONTACT_CHANGE}.</li>"
    )
    items.append(
        f"<li><strong>{html.escape(LM_READOUT)}</strong>: log p(mutant) − log p(wild type) at the masked "
        f"position (ESM-1v's masked marginal) from <code>{html.escape(studio.language_model.spec)}</code>, "
        "loaded on first use; negative means the model finds the mutant less likely. It is not measured "
        "against experiments here. Small ESM-2 models are weak at variant effects (the 8M model "
        "especially), so read it as a hint; the shipped 8M backbone has no language-model head and is "
        "not used for it.</li>"
    )
    return f"<ul class='trust-note mutation-trust'>{''.join(items)}</ul>"


def build_mutations_tab(studio: Any) -> MutationsTab:
    gr.Markdown(
        "Variants of the protein in the input box: each one's differences from the wild type in every "
        "predictor (PTM sites, localization, contacts, the language model; the structure when the wild "
        "type is folded). Write `K48R`, `p.Lys48Arg`, a combined mutant `K48R+E51A`, several separated "
        "by commas or new lines. In a complex, name the chain: `B:F1A` (positions count within the chain).",
        elem_id="mutations-intro",
    )
    gr.HTML(trust_html(studio), label="How far to trust each readout", elem_id="mutations-trust")
    subject = gr.HTML("", label="Mutations: protein", elem_classes=["result-subject-box"])
    with gr.Row(equal_height=False):
        variants = gr.Textbox(
            label="Variants", lines=3, placeholder=EXAMPLE_VARIANTS, elem_id="variants-input", scale=3
        )
        with gr.Column(scale=1, min_width=200):
            threshold = gr.Slider(
                0.0,
                1.0,
                value=DEFAULT_THRESHOLD,
                step=0.01,
                label="PTM site threshold",
                elem_id="mutations-threshold",
            )
            button = gr.Button("Predict variants", variant="primary", elem_id="mutate-button")
    status = gr.HTML("", label="Variants status", elem_id="mutations-status")
    table = gr.Dataframe(
        headers=TABLE_COLUMNS,
        column_widths=[f"{share}%" for _, share in TABLE_LAYOUT],
        label="Variant effects",
        interactive=False,
        wrap=True,
        elem_id="mutations-table",
    )
    gr.Markdown(TABLE_CAPTION, elem_id="mutations-caption", elem_classes=["table-caption"])
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            viewer = gr.HTML(
                placeholder(NOT_FOLDED, 420), label="Mutant over wild type", elem_id="mutations-viewer"
            )
        with gr.Column(scale=2):
            plddt_plot = gr.Plot(label="ΔpLDDT per residue", elem_id="mutations-plddt", elem_classes=FILLED)
            effects_csv = gr.File(
                label="Variant effects (.csv)", elem_id="mutations-csv", elem_classes=FILLED
            )
    shown = gr.State(None)
    with gr.Accordion("Variant effects (JSON)", open=False):
        effects_json = gr.JSON(label="Variant effects (JSON)", elem_id="mutations-json")
    # Closed until opened: most visits are about the user's own variants.
    with gr.Accordion("Site-saturation scan", open=False, elem_id="scan-accordion"):
        with gr.Row(equal_height=False):
            readout = gr.Dropdown(
                [MEMBRANE_READOUT, LM_READOUT],
                value=MEMBRANE_READOUT,
                label="Readout",
                allow_custom_value=True,
                interactive=True,
                elem_id="scan-readout",
                scale=3,
            )
            position = {"precision": 0, "minimum": 1, "scale": 1}
            first = gr.Number(1, label="First position", elem_id="scan-first", **position)
            last = gr.Number(20, label="Last position", elem_id="scan-last", **position)
            scan_button = gr.Button("Scan", elem_id="scan-button", scale=1)
        scan_status = gr.HTML(
            f"Every single substitution at each position of the range (at most "
            f"{studio.config.max_scan_positions} positions); each cell is mutant − wild type "
            "(the wild-type cell is 0).",
            label="Scan status",
            elem_id="scan-status",
        )
        heatmap = gr.Plot(label="Scan heatmap", elem_id="scan-heatmap", elem_classes=FILLED)
        scan_csv = gr.File(label="Scan (.csv)", elem_id="scan-csv", elem_classes=FILLED)
        with gr.Accordion("Scan (JSON)", open=False):
            scan_json = gr.JSON(label="Scan (JSON)", elem_id="scan-json")
    return MutationsTab(
        subject,
        variants,
        threshold,
        button,
        status,
        table,
        effects_csv,
        effects_json,
        viewer,
        plddt_plot,
        shown,
        readout,
        first,
        last,
        scan_button,
        scan_status,
        heatmap,
        scan_csv,
        scan_json,
    )


def cleared_mutations(tab: MutationsTab) -> dict:
    """Every variant and scan output emptied (a new protein is being predicted)."""
    return {
        **{component: None for component in (*tab.mutate_outputs, *tab.scan_outputs)},
        tab.viewer: placeholder(NOT_FOLDED, 420),
        tab.subject: "",
        tab.status: "",
        tab.scan_status: "",
    }


def _points(value) -> str:
    """A probability difference in percentage points, signed ("+1.2 pp")."""
    return "" if value in ("", None) else f"{100 * value:+.1f} pp"


def _joined(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


def table_rows(report_json: dict) -> list[list]:
    """One row per variant for the table on screen (TABLE_LAYOUT); the CSV has every number alone."""
    rows = []
    for effect in report_json["variants"]:
        r = effect_row(report_json["id"], effect)
        top = ""
        if r["top_localization_mutant"]:
            top = f"{r['top_localization_wild_type']} → {r['top_localization_mutant']}"
            top += f" ({_points(r['top_class_delta'])})" if r["top_class_delta"] not in ("", None) else ""
        sites = ""
        if r["status"] == "ok":
            sites = _joined(
                f"lost {r['ptm_sites_lost'].replace(';', ', ')}" if r["ptm_sites_lost"] else "none lost",
                f"gained {r['ptm_sites_gained'].replace(';', ', ')}"
                if r["ptm_sites_gained"]
                else "none gained",
                f"largest change {100 * r['max_abs_ptm_delta']:.1f} pp"
                if r["max_abs_ptm_delta"] not in ("", None)
                else "",
            )
        structure = _joined(
            _secondary_cell(effect.get("secondary_changed") or {}) if r["status"] == "ok" else "",
            f"RMSD {r['ca_rmsd']:.2f} Å" if r["ca_rmsd"] not in ("", None) else "",
            f"TM-score {r['tm_score']:.3f}" if r["tm_score"] not in ("", None) else "",
            f"mean ΔpLDDT {r['mean_delta_plddt']:+.2f}" if r["mean_delta_plddt"] not in ("", None) else "",
        )
        rows.append(
            [
                r["variant"],
                r["status"],
                top,
                _points(r["membrane_delta"]),
                sites,
                r["contacts_changed"],
                "" if r["lm_score"] in ("", None) else f"{r['lm_score']:+.2f}",
                structure,
                r["error"] or _unavailable_note(effect),
            ]
        )
    return rows


def _secondary_cell(changed: dict) -> str:
    """'3-state from sequence: 2 residues change (12 H→C, 13 H→C)', at most four listed."""
    if "residues" not in changed:
        return ""  # no secondary head
    if not changed["residues"]:
        return "3-state from sequence: unchanged"
    parts = [f"{r['position']} {r['wild_type']}→{r['mutant']}" for r in changed["residues"]]
    listed = ", ".join(parts[:4]) + (", …" if len(parts) > 4 else "")
    return f"3-state from sequence: {len(parts)} residue{'s' * (len(parts) > 1)} change ({listed})"


def _unavailable_note(effect: dict) -> str:
    """Why the LM or the fold gave nothing for an otherwise fine variant (first line only)."""
    notes = []
    if "unavailable" in effect.get("language_model", {}):
        notes.append("no LM score (why: above the table)")
    if "unavailable" in (effect.get("structure") or {}):
        notes.append("structure: " + effect["structure"]["unavailable"].split(". ")[0])
    return "; ".join(notes)


def status_html(report_json: dict) -> str:
    variants = report_json["variants"]
    bad = [v for v in variants if v["status"] != "ok"]
    parts = [f"<p>{len(variants) - len(bad)} of {len(variants)} variants predicted.</p>"]
    if bad:
        items = "".join(f"<li>{html.escape(v['error'])}</li>" for v in bad)
        parts.append(f"<div class='variant-errors'><strong>Not predicted:</strong><ul>{items}</ul></div>")
    lm = next((v["language_model"] for v in variants if v["status"] == "ok"), {})
    if "unavailable" in lm:
        parts.append(
            "<p class='lm-unavailable'>Language-model score unavailable: "
            f"{html.escape(lm['unavailable'])}</p>"
        )
    parts += [f"<p>{html.escape(n)}</p>" for n in report_json.get("notes", [])]
    return "<div class='mutations-status'>" + "".join(parts) + "</div>"


def delta_plddt_figure(effects, chains: tuple[str, ...] = ()) -> go.Figure | None:
    """ΔpLDDT per residue of each folded variant; a complex's residues run on through its chains
    (as in its model), with where each chain starts marked and named on the axis."""
    folded = [e for e in effects if e.mutant_structure is not None]
    if not folded:
        return None
    fig = go.Figure()
    axis = "residue"
    if len(chains) > 1:
        starts = [1 + sum(len(c) for c in chains[:i]) for i in range(len(chains))]
        for start in starts[1:]:
            fig.add_vline(x=start - 0.5, line={"color": "#bbb"})
        axis += (
            " of the complex ("
            + ", ".join(f"chain {CHAIN_LETTERS[i]} from {s}" for i, s in enumerate(starts))
            + ")"
        )
    for e in folded:
        delta = e.structure["delta_plddt"]
        fig.add_trace(go.Scatter(x=list(range(1, len(delta) + 1)), y=delta, mode="lines", name=e.label))
        for s in e.variant.substitutions:  # x counts residues of the whole complex, as its model
            fig.add_vline(x=e.offset + s.position, line={"color": "#999", "dash": "dot"})
    fig.add_hline(y=0, line={"color": "#444"})
    fig.update_layout(
        title="ΔpLDDT (mutant − wild type)",
        xaxis_title=axis,
        yaxis_title="ΔpLDDT",
        height=300,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
    )
    return fig


def scan_figure(result) -> go.Figure:
    """Amino acids × positions, mutant − wild type, diverging around 0; wild-type cells ringed."""
    labels = [f"{wt}{p}" for wt, p in zip(result.wild_type, result.positions)]
    z = result.scores.T  # rows: amino acids
    if LM_READOUT in result.readout:
        scale, unit, hover = 1.0, "log-likelihood ratio", "%{z:+.2f}"
    else:  # a probability: shown in percentage points, as every probability on the page
        scale, unit, hover = 100.0, "Δ probability (pp)", "%{z:+.1f} pp"
    fig = go.Figure(
        go.Heatmap(
            z=z * scale,
            x=labels,
            y=list(STANDARD_AMINO_ACIDS),
            colorscale="RdBu",
            zmid=0,
            colorbar={"title": {"text": unit, "side": "right"}},
            hovertemplate="%{x} → %{y}: " + hover + "<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=list(result.wild_type),
            mode="markers",
            name="wild type",
            marker={"symbol": "circle-open", "color": "#222", "size": 9},
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        title=f"{result.readout}: mutant − wild type",
        xaxis_title="position",
        yaxis_title="mutant residue",
        yaxis={"autorange": "reversed"},
        height=560,
        showlegend=False,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
    )
    return fig


def _write(root: Path, key: str, name: str, text: str) -> str:
    folder = root / hashlib.sha1(key.encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return str(path)


def _viewer(report, script_url: str) -> str:
    """The first folded variant in 3D (a click on another row shows that one)."""
    shown = next((e for e in report.effects if e.mutant_structure is not None), None)
    if shown is None:
        return placeholder(NOT_FOLDED, 420)
    return variant_view(shown, report.wild_type_structure, script_url)


def variant_view(shown, wild, script_url: str) -> str:
    """One folded variant coloured by pLDDT over the wild type in grey, its changes as sticks,
    under a caption naming it."""
    caption = (
        f"<p class='viewer-caption'>In 3D: <strong>{html.escape(shown.label)}</strong> coloured by "
        "pLDDT over the wild type in grey; its changed residues as sticks. A click on a variant's "
        "row shows that one.</p>"
    )
    return caption + render_structure(
        shown.mutant_structure.pdb,
        script_url,
        "cartoon",
        "pLDDT",
        420,
        [(shown.variant.chain or "A", s.position, 1.0) for s in shown.variant.substitutions],
        "mutations-viewer",
        shown.mutant_structure.residues(),
        reference_pdb=reference_in_model_frame(shown.comparison, wild.pdb),
    )


def make_mutation_handlers(
    studio: Any, tab: MutationsTab, script_url: str, download_root: Path | None = None
):
    """(mutate for the tab, scan for the tab, /mutate API, /scan API, readout choices)."""
    root = download_root or Path(tempfile.mkdtemp(prefix="protein-studio-mutations-"))

    def run_mutate(sequence: str, variants: str, threshold: float):
        try:
            protein = parse_one(sequence)
            return protein, studio.mutate(protein, variants, float(threshold))
        except (SequenceError, VariantListError, BackboneUnavailable) as error:
            raise gr.Error(str(error), duration=None, print_exception=False) from None
        except Exception:
            log.exception("Variant prediction failed")
            raise gr.Error(
                "Variant prediction failed unexpectedly; the error was logged on the server."
            ) from None

    def mutate_tab(
        sequence: str,
        variants: str,
        threshold: float = DEFAULT_THRESHOLD,
        progress=gr.Progress(),  # noqa: B008 - Gradio's API
    ) -> dict:
        cleared = {c: None for c in tab.mutate_outputs} | {tab.viewer: placeholder(NOT_FOLDED, 420)}
        lm = studio.language_model
        if not lm.loaded and not lm.load_failed:  # say what the first request waits for
            progress(0, desc=f"looking for the language model ({lm.spec}) in the local cache and on the Hub…")
        else:
            progress(0, desc="predicting the variants…")
        try:
            protein, report = run_mutate(sequence, variants, threshold)
        except gr.Error as error:
            message = error_html("Cannot predict these variants.", error.message)
            return {**cleared, tab.status: message}
        data = report.to_json()
        name = safe_file_name(protein.id)
        rows = [effect_row(data["id"], effect) for effect in data["variants"]]
        return {
            tab.shown: sequence,
            tab.subject: subject_html(protein),
            tab.status: status_html(data),
            tab.table: table_rows(data),
            tab.csv: _write(
                root, protein.sequence + variants, f"{name}.variant_effects.csv", effects_csv(rows)
            ),
            tab.json: data,
            tab.viewer: _viewer(report, script_url),
            tab.plddt_plot: delta_plddt_figure(report.effects, protein.chains),
        }

    def show_variant(shown: str | None, data: dict | None, event: gr.SelectData) -> dict:
        """A click on a variant's row shows that variant in 3D, or says why it cannot."""
        row = event.index[0] if isinstance(event.index, list | tuple) else event.index
        if not shown or not data or not 0 <= row < len(data["variants"]):
            return {}
        effect = data["variants"][row]
        label = effect["variant"]
        if effect["status"] != "ok":
            return {tab.viewer: placeholder(f"{label} was not predicted: {effect['error']}", 420)}
        structure = effect.get("structure") or {}
        if "ca_rmsd" not in structure:
            why = structure.get("unavailable") or "its wild type was not folded (Predict folds it)"
            return {tab.viewer: placeholder(f"{label} is not folded: {why}", 420)}
        try:
            protein = parse_one(shown)
            folded = folded_variant(studio, protein, effect["input"])
        except (SequenceError, VariantListError):
            folded = None
        if folded is None:  # pushed out of the fold memo and the result cache since
            return {tab.viewer: placeholder(f"{label}'s model is gone: press Predict variants again.", 420)}
        return {tab.viewer: variant_view(*folded, script_url)}

    def mutate_api(sequence: str, variants: str, threshold: float = DEFAULT_THRESHOLD) -> dict:
        return run_mutate(sequence, variants, threshold)[1].to_json()

    def run_scan(sequence: str, readout: str, first, last, progress=None):
        try:
            protein = parse_one(sequence)
            return protein, studio.scan(protein, readout, first, last, progress)
        except (SequenceError, ScanError, BackboneUnavailable, LanguageModelUnavailable) as error:
            raise gr.Error(str(error), duration=None, print_exception=False) from None
        except Exception:
            log.exception("Scan failed")
            raise gr.Error("The scan failed unexpectedly; the error was logged on the server.") from None

    def scan_tab(sequence: str, readout: str, first, last, progress=gr.Progress()) -> dict:  # noqa: B008 - Gradio's API
        def report(done: int, total: int) -> None:
            progress((done, total), desc="mutants scored", unit="mutants")

        try:
            protein, result = run_scan(sequence, readout, first, last, report)
        except gr.Error as error:
            failed = {
                tab.scan_status: error_html("Cannot run this scan.", error.message),
                tab.heatmap: None,
                tab.scan_csv: None,
                tab.scan_json: None,
            }
            return failed
        name = safe_file_name(
            f"{protein.id}.scan.{result.readout}.{result.positions[0]}-{result.positions[-1]}"
        )
        return {
                tab.scan_status: f"<p>{result.mutants:,} mutants of {html.escape(protein.id)} scored for "
            f"{html.escape(result.readout)} in {result.seconds:.1f} s.</p>",
            tab.heatmap: scan_figure(result),
            tab.scan_csv: _write(root, protein.sequence + name, f"{name}.csv", result.to_csv()),
            tab.scan_json: result.to_json(),
            }

    def scan_api(sequence: str, readout: str, first: float, last: float) -> dict:
        return run_scan(sequence, readout, first, last)[1].to_json()

    def choices(sequence: str, current: str | None) -> dict:
        """The readouts this sequence offers (no model runs); a chosen site stays when still there."""
        try:
            protein = parse_one(sequence)
        except SequenceError:
            return {}
        options = readout_choices(protein.chains, studio.annotator.head_cards)
        value = current if current in options else options[0]
        return {tab.readout: gr.update(choices=options, value=value)}

    def range_for(sequence: str, readout: str) -> dict:
        """A site readout proposes the site ± SCAN_FLANK positions (clipped to the sequence)."""
        try:
            protein = parse_one(sequence)
            index, named = readout_chain(readout, protein.chains, protein.id)
            chain = protein.chains[index]
            chosen = parse_readout(named, chain, studio.annotator.head_cards)
        except (SequenceError, ScanError):  # the scan itself will say what is wrong
            return {}
        if chosen.kind != "site":
            return {}
        site = chosen.position
        return {tab.first: max(1, site - SCAN_FLANK), tab.last: min(len(chain), site + SCAN_FLANK)}

    return mutate_tab, scan_tab, mutate_api, scan_api, choices, range_for, show_variant
