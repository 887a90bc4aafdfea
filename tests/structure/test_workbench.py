"""The structure workbench through the running app: open a file (/inspect), compare (/compare),
and the files other tools open (ModelCIF, AlphaFold DB PAE JSON) from /fold."""

from __future__ import annotations

import json
from pathlib import Path

import gemmi
import pytest
from gradio_client import handle_file

from models.structure.compare import compare
from models.structure.reading import read_structure, to_structure
from tests.conftest import FIXTURES, INSULIN_A, INSULIN_B, UBIQUITIN

UBI, EJG, MHT = (FIXTURES / f"pdb{code}.pdb" for code in ("1ubi", "1ejg", "3mht"))


def _inspect(client, path: Path, chain: str = ""):
    out = client.predict(handle_file(str(path)), chain, api_name="/inspect")
    viewer, pdb_path, summary, status, plddt, pae, scores, *_rest = out
    return {"viewer": viewer, "summary": summary, "status": status, "scores": scores, "all": out}


def test_opening_a_pdb_entry_gives_the_fold_views_with_b_factors_and_dssp(client):
    opened = _inspect(client, UBI)
    summary = opened["summary"]
    assert summary["length"] == 76 and summary["confidence"] == "B-factor" and summary["mean_plddt"] is None
    assert set(summary["secondary_structure"]) == {"helix", "strand", "coil"}
    scores = json.loads(Path(opened["scores"]).read_text())
    assert len(scores["ss"]) == 76 and set(scores["ss"]) <= set("HEC") and len(scores["rsa"]) == 76
    assert "Mean B-factor" in opened["status"] and "pTM" not in opened["status"]
    sequence_text, notes = opened["all"][-3], opened["all"][-1]
    assert sequence_text.splitlines()[1] == UBIQUITIN
    assert "B-factors (an experimental structure: not pLDDT)" in notes and "A (76 residues)" in notes


def test_a_file_with_ligands_and_dna_reports_what_it_skipped(client):
    notes = _inspect(client, MHT)["all"][-1]
    assert "water" in notes and "SAH" in notes and "DNA" in notes


@pytest.mark.parametrize(
    ("content", "expected"), [(b"", "empty"), (bytes(range(256)) * 40, "binary"), (b"HELLO\n", "")]
)
def test_bad_structure_files_get_a_clear_message(client, tmp_path, content, expected):
    path = tmp_path / "bad.pdb"
    path.write_bytes(content)
    notes = _inspect(client, path)["all"][-1]
    assert "Cannot open this file." in notes and expected in notes.lower() and "Traceback" not in notes


def test_compare_equals_tm_align_through_the_library(client):
    answer = client.predict(handle_file(str(UBI)), handle_file(str(EJG)), api_name="/compare")
    model, reference = (to_structure(read_structure(p, p.name)) for p in (UBI, EJG))
    expected = compare(model.ca, "".join(model.chains), reference.ca, "".join(reference.chains)).to_json()
    assert answer == expected
    assert set(answer) == {
        "tm_score_reference", "tm_score_model", "rmsd", "aligned_length", "sequence_identity", "per_residue",
    }  # fmt: skip
    itself = client.predict(handle_file(str(UBI)), handle_file(str(UBI)), api_name="/compare")
    assert itself["tm_score_reference"] == 1.0 and itself["rmsd"] < 0.01


def test_compare_by_sequence_pairs_scores_the_alignment_pairs(client):
    model, reference = (to_structure(read_structure(p, p.name)) for p in (UBI, EJG))
    files = handle_file(str(UBI)), handle_file(str(EJG))
    by_sequence = client.predict(*files, "sequence", api_name="/compare")
    expected = compare(
        model.ca, "".join(model.chains), reference.ca, "".join(reference.chains), pairing="sequence"
    ).to_json()
    assert by_sequence == expected
    by_structure = client.predict(*files, "structure", api_name="/compare")
    assert by_structure != by_sequence  # two unrelated proteins: the search finds other pairs


def test_fold_offers_modelcif_and_pae_json_other_tools_read(client):
    out = client.predict(">ubq\n" + UBIQUITIN, "cartoon", "pLDDT", api_name="/fold")
    summary, cif_path, pae_path = out[2], out[-2], out[-1]
    assert summary["iptm"] is None  # a monomer has no interface
    block = gemmi.cif.read(cif_path).sole_block()
    local = [float(x) for x in block.find_loop("_ma_qa_metric_local.metric_value")]
    assert local == pytest.approx(json.loads(Path(out[6]).read_text())["plddt"], abs=0.01)
    pae = json.loads(Path(pae_path).read_text())
    assert len(pae) == 1 and len(pae[0]["predicted_aligned_error"]) == len(UBIQUITIN)
    assert pae[0]["max_predicted_aligned_error"] > 0
    header = Path(out[1]).read_text().splitlines()[0]
    assert header.startswith("HEADER") and "PARENT N/A" not in Path(out[1]).read_text()


def test_a_complex_reports_iptm_and_per_chain_ptm(client):
    summary = client.predict(f"{INSULIN_A}:{INSULIN_B}", "cartoon", "pLDDT", api_name="/fold")[2]
    assert 0 <= summary["iptm"] <= 1 and set(summary["chain_ptm"]) == {"A", "B"}
