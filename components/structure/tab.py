"""The Structure tab: fold with ESMFold, show the 3D model, confidence plots, downloads."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
import numpy as np

from components.structure.confidence_plots import pae_figure, plddt_figure
from components.structure.viewer import COLORINGS, STYLES, placeholder, render_structure
from models.shared.errors import FoldingOutOfMemory, FoldingUnavailable, SequenceError
from models.shared.files import safe_file_name
from models.shared.sequences import parse_one
from models.structure.secondary import rsa_json
from models.structure.writing import pae_json, pdb_with_header, to_modelcif

log = logging.getLogger(__name__)

# A plot or download box with this class is hidden while it is empty (assets/style.css): the
# first screen shows no empty boxes, and values stay plain (the API answers are unchanged).
FILLED = ["shown-when-filled"]
EMPTY_VIEWER = "Paste a sequence above and press Predict to see its predicted structure."


@dataclass
class StructureTab:
    viewer: gr.HTML
    pdb_file: gr.File
    summary: gr.JSON
    status: gr.HTML
    plddt_plot: gr.Plot
    pae_plot: gr.Plot
    scores_file: gr.File
    style: gr.Radio
    coloring: gr.Radio
    pdb_state: gr.State  # {"pdb", "residues"} of the shown structure, for re-drawing it
    retry: gr.Button  # forget a failed ESMFold load and try again on the next fold
    cif_file: gr.File  # ModelCIF (mmCIF with pLDDT, pTM, ipTM as QA metrics)
    pae_file: gr.File  # PAE in AlphaFold DB's JSON format

    @property
    def fold_outputs(self) -> list:
        # The /fold API's return order: viewer HTML, PDB file, JSON summary first.
        return [
            self.viewer,
            self.pdb_file,
            self.summary,
            self.status,
            self.plddt_plot,
            self.pae_plot,
            self.scores_file,
            self.pdb_state,
            self.retry,
            self.cif_file,
            self.pae_file,
        ]


class StructureDownloads(NamedTuple):
    """Paths of one structure's download files."""

    pdb: str  # <id>.pdb: the model with a header saying what produced it (pLDDT in B-factors)
    scores: str  # <id>.scores.json: pLDDT, PAE, pTM, ipTM, per-chain pTM
    cif: str  # <id>.cif: ModelCIF (mmCIF) for PyMOL, ChimeraX, Mol*, ModelArchive
    pae: str  # <id>.pae.json: PAE in AlphaFold DB's format (ChimeraX, PAE viewers)


STRUCTURE_SUFFIXES = (".gz", ".pdb", ".ent", ".cif", ".mmcif")


def _without_structure_suffix(name: str) -> str:
    """An opened file's name without its extensions: pdb1ake.pdb downloads as pdb1ake.pdb, not
    pdb1ake.pdb.pdb."""
    for suffix in STRUCTURE_SUFFIXES:  # .gz first: 1abc.cif.gz
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name


def write_downloads(structure: Any, root: Path) -> StructureDownloads:
    """Write the structure's download files; one folder per sequence keeps names stable."""
    digest = hashlib.sha1(":".join(structure.chains).encode()).hexdigest()[:16]
    folder = root / digest
    folder.mkdir(parents=True, exist_ok=True)
    name = safe_file_name(_without_structure_suffix(structure.id))
    paths = StructureDownloads(
        *(folder / f"{name}{suffix}" for suffix in (".pdb", ".scores.json", ".cif", ".pae.json"))
    )
    Path(paths.scores).write_text(json.dumps(structure.scores()))
    if structure.pae is None:  # an opened file, not a fold: its own coordinates, no PAE or ModelCIF
        Path(paths.pdb).write_text(structure.pdb)
        return StructureDownloads(str(paths.pdb), str(paths.scores), None, None)
    Path(paths.pdb).write_text(pdb_with_header(structure, dt.date.today()))
    Path(paths.cif).write_text(to_modelcif(structure))
    Path(paths.pae).write_text(pae_json(structure))
    return StructureDownloads(*map(str, paths))


def _verdict(ptm: float) -> str:
    if ptm >= 0.7:
        return "confident overall fold"
    if ptm >= 0.5:
        return "fold partly reliable"
    return "overall fold unreliable (pTM < 0.5): trust only high-pLDDT regions"


def summary_html(structure: Any) -> str:
    """Headline numbers as a small table; every user-supplied string is HTML-escaped."""
    s = structure.summary()
    chains = ", ".join(f"{c}: {n}" for c, n in s["chains"].items())
    rows = [
        ("Protein", s["id"]),
        ("Length", f"{s['length']} residues" + (f" ({chains})" if len(s["chains"]) > 1 else "")),
    ]
    if s.get("mean_plddt") is not None:
        rows.append(("Mean pLDDT", f"{s['mean_plddt']:.1f} / 100"))
    if s.get("mean_b_factor") is not None:
        rows.append(("Mean B-factor", f"{s['mean_b_factor']:.1f} Å² (experimental: not a confidence)"))
    if s.get("ptm") is not None:
        rows.append(("pTM", f"{s['ptm']:.3f} ({_verdict(s['ptm'])})"))
    if s.get("iptm") is not None:
        per_chain = ", ".join(f"{c} {v:.2f}" for c, v in s["chain_ptm"].items())
        rows.append(("ipTM", f"{s['iptm']:.3f} (interface; per-chain pTM: {per_chain})"))
    if s.get("secondary_structure"):
        f = s["secondary_structure"]
        rows.append(("DSSP", f"helix {f['helix']:.0%} · strand {f['strand']:.0%} · coil {f['coil']:.0%}"))
    if s.get("seconds"):
        rows.append(("Time", f"{s['seconds']:.2f} s on {s['device']}"))
    rows.append(("Model", s["model"]))
    if s["notes"]:
        rows.append(("Notes", "; ".join(s["notes"])))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f'<table class="fold-summary">{body}</table>'


def error_html(title: str, message: str) -> str:
    return f'<div class="fold-error"><strong>{html.escape(title)}</strong> {html.escape(message)}</div>'


def build_structure_tab(script_url: str) -> StructureTab:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            viewer = gr.HTML(placeholder(EMPTY_VIEWER), label="3D viewer", elem_id="structure-viewer")
        with gr.Column(scale=2):
            status = gr.HTML("", label="Structure summary", elem_id="structure-status")
            retry = gr.Button(
                "Retry loading ESMFold", size="sm", variant="secondary", visible=False, elem_id="retry-fold"
            )
            with gr.Row():
                style = gr.Radio(list(STYLES), value="cartoon", label="Style", elem_id="viewer-style")
                coloring = gr.Radio(
                    list(COLORINGS), value="pLDDT", label="Colour by", elem_id="viewer-coloring"
                )
            # Stacked, not side by side: half a column is too narrow and Gradio cuts the names short.
            with gr.Column():
                pdb_file = gr.File(label="Structure (.pdb)", elem_id="pdb-download", elem_classes=FILLED)
                scores_file = gr.File(
                    label="Scores (.json: pLDDT, PAE, pTM, DSSP, RSA)",
                    elem_id="scores-download",
                    elem_classes=FILLED,
                )
                cif_file = gr.File(
                    label="ModelCIF (.cif: pLDDT, pTM, ipTM)", elem_id="cif-download", elem_classes=FILLED
                )
                pae_file = gr.File(
                    label="PAE (.json, AlphaFold DB format)", elem_id="pae-download", elem_classes=FILLED
                )
            with gr.Accordion("Summary (JSON)", open=False):
                summary = gr.JSON(label="Summary (JSON)", elem_id="structure-summary")
    with gr.Row():
        plddt_plot = gr.Plot(label="pLDDT", elem_id="plddt-plot", elem_classes=FILLED)
        pae_plot = gr.Plot(label="PAE", elem_id="pae-plot", elem_classes=FILLED)
    pdb_state = gr.State(None)
    return StructureTab(
        viewer, pdb_file, summary, status, plddt_plot, pae_plot, scores_file, style, coloring, pdb_state,
        retry, cif_file, pae_file,
    )  # fmt: skip


def cleared_structure(tab: StructureTab, message: str = EMPTY_VIEWER) -> dict:
    """Every structure output emptied: no earlier protein's structure may pass for this one's."""
    return {
        **{component: None for component in tab.fold_outputs},
        tab.viewer: placeholder(message),
        tab.status: "",
        tab.retry: gr.update(visible=False),
    }


def failed_outputs(tab: StructureTab, title: str, message: str) -> dict:
    """The fold ran and failed: the viewer and the summary say so, and why."""
    return {
        **cleared_structure(tab),
        tab.viewer: placeholder(f"No structure: {message}", state="failed"),
        tab.status: error_html(title, message),
    }


def unavailable_outputs(tab: StructureTab, message: str) -> dict:
    """The fold cannot run: the tab says so once, with the fix, and offers to retry loading."""
    return {
        **cleared_structure(tab),
        tab.viewer: placeholder(
            "No structure: ESMFold is not available. The reason and the fix are beside this box.",
            state="failed",
        ),
        tab.summary: {"error": message},
        tab.status: error_html("Structure unavailable.", message),
        tab.retry: gr.update(visible=True),
    }


def drawn_coloring(confidence_kind: str, coloring: str | None) -> str:
    """The colouring actually drawn for a request: an experimental file's B-factors are no
    confidence, so pLDDT asked of it becomes secondary structure."""
    coloring = coloring or "pLDDT"
    return "secondary structure" if coloring == "pLDDT" and confidence_kind != "pLDDT" else coloring


def coloring_control(tab: StructureTab, confidence_kind: str, coloring: str | None) -> dict:
    """The "Colour by" control set to what is drawn."""
    # The choices stay the same (API callers may always name any of them): a colouring this
    # structure cannot take is drawn as secondary structure, and the control says so.
    return {tab.coloring: gr.update(value=drawn_coloring(confidence_kind, coloring))}


def structure_outputs(
    tab: StructureTab, structure: Any, style: str, coloring: str, root: Path, script_url: str
) -> dict:
    downloads = write_downloads(structure, root)
    residues = structure.residues()
    coloring = drawn_coloring(structure.confidence_kind, coloring)
    return {
        tab.viewer: render_structure(
            structure.pdb, script_url, style or "cartoon", coloring, residues=residues, ss=structure.ss
        ),
        tab.pdb_file: downloads.pdb,
        tab.summary: structure.summary(),
        tab.status: summary_html(structure),
        tab.plddt_plot: plddt_figure(
            structure.plddt,
            "".join(structure.chains),
            structure.chain_ids,
            structure.residue_numbers,
            structure.ss,
            structure.rsa,
            structure.confidence_kind,
        ),
        tab.pae_plot: None
        if structure.pae is None
        else pae_figure(structure.pae, structure.chain_ids, structure.residue_numbers),
        tab.scores_file: downloads.scores,
        tab.pdb_state: {
            "pdb": structure.pdb,
            "residues": residues,
            "ss": structure.ss,
            "rsa": None if structure.rsa is None else rsa_json(structure.rsa),
            "id": structure.id,
            "confidence": structure.confidence_kind,  # pLDDT, or an experimental file's B-factor
            "sequence": "".join(structure.chains),
            "ca": None if structure.ca is None else np.round(structure.ca, 3).tolist(),
        },
        tab.retry: gr.update(visible=False),
        tab.cif_file: downloads.cif,
        tab.pae_file: downloads.pae,
    }


def make_fold_handler(studio: Any, tab: StructureTab, script_url: str, download_root: Path | None = None):
    """The /fold event: text -> structure outputs. Bad input -> gr.Error naming the problem."""
    root = download_root or Path(tempfile.mkdtemp(prefix="protein-studio-"))

    def fold(sequence: str, style: str = "cartoon", coloring: str = "pLDDT") -> dict:
        try:
            protein = parse_one(sequence)
            structure = studio.fold(protein)
        except SequenceError as error:
            raise gr.Error(str(error), duration=None, print_exception=False) from None
        except FoldingUnavailable as error:
            return unavailable_outputs(tab, str(error))
        except FoldingOutOfMemory as error:
            raise gr.Error(str(error), duration=None, print_exception=False) from None
        except Exception:
            log.exception("Folding failed")
            raise gr.Error(
                "Folding failed unexpectedly; the error was logged on the server. "
                "Try again, or report the sequence."
            ) from None
        return structure_outputs(tab, structure, style, coloring, root, script_url)

    return fold


def make_restyle_handler(tab: StructureTab, script_url: str):
    """Re-draw the current structure in another style or colouring, without folding again."""

    def restyle(shown: dict | None, style: str, coloring: str) -> dict:
        if not shown:
            return {}
        residues = [tuple(r) for r in shown["residues"]]
        kind = shown.get("confidence", "pLDDT")
        drawn = drawn_coloring(kind, coloring)
        return {
            tab.viewer: render_structure(
                shown["pdb"], script_url, style, drawn, residues=residues, ss=shown.get("ss")
            ),
            **coloring_control(tab, kind, coloring),
        }

    return restyle


def make_coloring_sync(tab: StructureTab):
    """After a structure is shown (an opened file): the "Colour by" control says what is drawn."""

    def sync(shown: dict | None, coloring: str) -> dict:
        return coloring_control(tab, shown.get("confidence", "pLDDT"), coloring) if shown else {}

    return sync
