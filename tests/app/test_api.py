"""The running app (`python app.py --fold-model <tiny model>`) driven through gradio_client."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from gradio_client.exceptions import AppError

from components.structure.threedmol import LOCAL_FILE
from models.structure.pdb import ca_residues
from models.studio import Studio, StudioConfig
from tests.conftest import INSULIN_A, INSULIN_B, UBIQUITIN
from tests.page_parts import fold_handler


def _fold(client, text):
    return client.predict(text, "cartoon", "pLDDT", api_name="/fold")


def test_fold_returns_viewer_pdb_and_summary(client):
    out = _fold(client, ">ubq test\n" + UBIQUITIN)
    viewer, pdb_path, summary, status, scores_path = out[0], out[1], out[2], out[3], out[6]
    assert viewer.startswith("<iframe") and "srcdoc=" in viewer
    residues = ca_residues(Path(pdb_path).read_text())
    assert len(residues) == len(UBIQUITIN)  # one CA per residue
    b = [r.b_factor for r in residues]
    assert 0 <= min(b) and max(b) <= 100
    assert summary["id"] == "ubq" and summary["length"] == len(UBIQUITIN)
    assert summary["mean_plddt"] == pytest.approx(sum(b) / len(b), abs=0.01)
    assert 0 <= summary["ptm"] <= 1 and summary["device"] == "cpu"
    scores = json.loads(Path(scores_path).read_text())
    assert len(scores["plddt"]) == len(UBIQUITIN)
    assert len(scores["pae"]) == len(UBIQUITIN) and len(scores["pae"][0]) == len(UBIQUITIN)
    assert scores["ptm"] == summary["ptm"]
    assert "Mean pLDDT" in status


def test_fold_complex_names_chains(client):
    _viewer, pdb_path, summary, *_ = _fold(client, f">insulin\n{INSULIN_A}:\n{INSULIN_B}")
    residues = ca_residues(Path(pdb_path).read_text())
    assert [r.chain for r in residues].count("A") == len(INSULIN_A)
    assert [r.chain for r in residues].count("B") == len(INSULIN_B)
    assert summary["chains"] == {"A": len(INSULIN_A), "B": len(INSULIN_B)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MKV@LL", "'@' at residue 4 (line 1, column 4)"),
        ("", "No sequence found"),
        (">only a header", "has no sequence"),
        ("MKVXLL", "'X' at residue 4"),
        ("A" * 401, "401 residues; the folding limit is 400"),
        (">a\nMKV\n>b\nMKV", "this tab takes one protein"),
    ],
)
def test_bad_input_gets_a_clear_message(client, text, expected):
    with pytest.raises(AppError) as info:
        _fold(client, text)
    assert expected in str(info.value)
    assert "Traceback" not in str(info.value)


def test_app_keeps_serving_after_errors(client):
    with pytest.raises(AppError):
        _fold(client, "???")
    _viewer, pdb_path, *_ = _fold(client, "MKTAYIAKQR")
    assert len(ca_residues(Path(pdb_path).read_text())) == 10


def test_3dmol_is_served_by_the_app_itself(app_url):
    with urllib.request.urlopen(app_url) as page:
        assert "cdn.jsdelivr" not in page.read().decode()
    with urllib.request.urlopen(f"{app_url}gradio_api/file={LOCAL_FILE}") as response:
        assert response.status == 200
        assert response.read() == LOCAL_FILE.read_bytes()


def test_missing_fold_model_explains_the_fix_in_the_tab(tmp_path):
    studio = Studio(StudioConfig(fold_model=str(tmp_path / "absent"), device="cpu"))
    fold = fold_handler(studio, tmp_path)
    viewer, pdb, summary, status, plddt, pae, scores, state, *_rest = fold(UBIQUITIN)
    assert pdb is None and plddt is None and state is None
    assert "ESMFold is not available" in viewer  # the message itself is said once, in the status
    for text in (status, summary["error"]):
        assert "--fold-model" in text and "ESMFOLD_MODEL" in text
