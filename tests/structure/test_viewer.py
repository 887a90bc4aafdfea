"""Viewer, plots and the local 3Dmol.js, on real PDB entries (1UBI ubiquitin, 1EJG crambin)."""

from __future__ import annotations

import html
import re
import shutil

import numpy as np
import pytest

from components.structure import threedmol
from components.structure.confidence_plots import pae_figure, plddt_figure
from components.structure.viewer import CHAIN_PALETTE, render_structure, viewer_document
from models.structure.pdb import ca_residues, coordinate_lines
from models.structure.result import PLDDT_BANDS, plddt_band
from tests.conftest import FIXTURES, UBIQUITIN

UBI = (FIXTURES / "pdb1ubi.pdb").read_text()
CRAMBIN = (FIXTURES / "pdb1ejg.pdb").read_text()
JS = "gradio_api/file=/x/3Dmol-min.js"


def _selected_residues(doc: str) -> dict[str, list[int]]:
    """colour -> residue numbers the viewer paints with it."""
    out: dict[str, list[int]] = {}
    for resi, colour in re.findall(r'"resi": \[([\d, ]+)\]\},\{"cartoon": \{"color": "(#\w+)"', doc):
        out.setdefault(colour, []).extend(int(x) for x in resi.split(","))
    return out


def test_pdb_reader_on_real_entries():
    ubi = ca_residues(UBI)
    assert len(ubi) == 76 and ubi[0].name == "MET" and ubi[-1].number == 76
    three_to_one = {"MET": "M", "GLN": "Q", "ILE": "I", "PHE": "F", "VAL": "V", "LYS": "K"}
    assert "".join(three_to_one[r.name] for r in ubi[:6]) == UBIQUITIN[:6]
    crambin = ca_residues(CRAMBIN)  # alternate conformations: each residue counted once
    assert len(crambin) == 46
    assert "HOH" not in coordinate_lines(UBI) and "REMARK" not in coordinate_lines(UBI)
    assert coordinate_lines(UBI).count(" CA ") == 76


def test_plddt_bands_follow_alphafold_thresholds():
    assert [plddt_band(x) for x in (95, 90.5, 90, 75, 70, 55, 50, 10)] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_viewer_colours_every_residue_by_its_band():
    doc = viewer_document(UBI, JS)
    painted = _selected_residues(doc)
    expected: dict[str, list[int]] = {}
    for r in ca_residues(UBI):
        expected.setdefault(PLDDT_BANDS[plddt_band(r.b_factor)][2], []).append(r.number)
    assert painted == expected
    assert sum(len(v) for v in painted.values()) == 76
    assert JS in doc and "cdn.jsdelivr" not in doc
    for _, label, colour in PLDDT_BANDS:  # legend lists all four bands
        assert html.escape(label) in doc and colour in doc


@pytest.mark.parametrize(
    ("style", "coloring", "must_have", "must_not"),
    [
        ("sticks", "pLDDT", '{"stick":', '"cartoon"'),
        ("surface", "pLDDT", "addSurface(1,", "stick"),
        ("cartoon", "chain", '{"chain": "A"},{"cartoon": {"color": "#1f77b4"}}', "pLDDT colour legend"),
        ("cartoon", "rainbow", '"gradient": "roygb", "min": 1, "max": 76', "legend"),
    ],
)
def test_viewer_styles(style, coloring, must_have, must_not):
    doc = viewer_document(UBI, JS, style, coloring)
    assert must_have in doc
    assert must_not not in doc.split("<body>", 1)[1]


def test_viewer_rejects_unknown_style():
    with pytest.raises(ValueError):
        viewer_document(UBI, JS, "ribbon")


def test_iframe_srcdoc_is_escaped_and_round_trips():
    frame = render_structure(CRAMBIN, JS)
    assert frame.startswith("<iframe") and frame.count("<") == 2  # only <iframe ...></iframe>
    srcdoc = re.search(r'srcdoc="([^"]*)"', frame).group(1)
    assert html.unescape(srcdoc).startswith("<!DOCTYPE html>")
    assert "$3Dmol.createViewer" in html.unescape(srcdoc)


def test_pdb_text_cannot_close_the_viewer_script():
    hostile = UBI.replace("ATOM      1  N   MET A   1", "ATOM      1  N   MET A   1</script><b>", 1)
    doc = viewer_document(hostile, JS)
    # The hostile closing tag is escaped: the viewer's script ends at its own closing tag.
    viewer_script = doc.split("<script>", 1)[1].split("</script>", 1)[0]
    assert "$3Dmol.createViewer" in viewer_script and "<\\/script><b>" in viewer_script
    assert doc.count("</script>") == 2  # the viewer's script and the highlight listener


def test_confidence_plots():
    plddt = np.linspace(10, 99, 51)
    chains = ["A"] * 21 + ["B"] * 30
    numbers = list(range(1, 22)) + list(range(1, 31))
    fig = plddt_figure(plddt, "G" * 51, chains, numbers)
    assert list(fig.data[0].y) == pytest.approx(list(plddt))
    assert fig.data[0].customdata[21] == "B1 G"
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert sorted((s.y0, s.y1) for s in rects) == [(0, 50), (50, 70), (70, 90), (90, 100)]
    assert any(s.type == "line" and s.x0 == 21.5 for s in fig.layout.shapes)  # chain boundary
    assert fig.layout.meta["residues"][21] == ["B", 1]  # x position 22 is residue B1 (hover link)
    pae = pae_figure(np.full((51, 51), 3.0), chains, numbers)
    assert np.asarray(pae.data[0].z).shape == (51, 51)
    assert tuple(pae.layout.yaxis.range) == (51.5, 0.5)  # reversed: residue 1 at the top
    assert tuple(pae.layout.xaxis.range) == (0.5, 51.5)
    # A drag selects a rectangle; the invisible diagonal layer is what lets Plotly report it.
    assert pae.layout.dragmode == "select"
    assert pae.data[1].marker.opacity == 0 and pae.data[1].hoverinfo == "skip"
    keys = pae.layout.meta["residues"]
    assert keys[:2] == [["A", 1], ["A", 2]] and keys[-1] == ["B", 30]


def test_viewer_document_listens_for_highlights_and_reports_hover():
    doc = viewer_document(UBI, JS)
    viewer_name = re.search(r"var (viewer_\d+) = null", doc).group(1)
    assert f"window.__viewer = {viewer_name};" in doc  # the py3Dmol viewer, exposed to the link script
    assert "'protein-studio:highlight'" in doc and "event.source !== window.parent" in doc
    assert "type: 'protein-studio:hover'" in doc and "postMessage(message, window.origin)" in doc
    assert "cdn" not in doc.lower().replace(JS.lower(), "")


def test_cdn_is_only_a_fallback():
    assert threedmol.script_url(None) == threedmol.CDN_URL
    local = threedmol.VENDOR_DIR / "3Dmol-min.js"
    assert threedmol.script_url(local) == f"gradio_api/file={local}"


@pytest.mark.skipif(shutil.which("npm") is None, reason="fetching 3Dmol.js needs npm (apt-get install npm)")
def test_fetch_verifies_the_npm_integrity_hash(tmp_path, monkeypatch):
    dest = threedmol.fetch(tmp_path / "3Dmol-min.js")
    text = dest.read_text()
    assert len(text) > 400_000 and "$3Dmol" in text
    monkeypatch.setattr(threedmol, "INTEGRITY", "sha512-" + "A" * 86 + "==")
    with pytest.raises(threedmol.FetchError, match="integrity mismatch"):
        threedmol.fetch(tmp_path / "other.js")
    assert not (tmp_path / "other.js").exists()


def test_chain_and_secondary_structure_colourings_carry_their_own_key():
    residues = [("A", 1, 50.0), ("A", 2, 60.0), ("B", 1, 70.0)]
    doc = viewer_document(UBI, JS, "cartoon", "chain", residues=residues)
    assert 'class="legend chain-legend"' in doc
    for i, chain in enumerate("AB"):
        assert f'background:{CHAIN_PALETTE[i]}"></span>chain {chain}' in doc
    doc = viewer_document(UBI, JS, "cartoon", "secondary structure", residues=residues, ss="HEC")
    assert 'class="legend ss-legend"' in doc and "helix" in doc and "strand" in doc
    assert 'class="legend"' not in viewer_document(UBI, JS, "cartoon", "rainbow", residues=residues)
