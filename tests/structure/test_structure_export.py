"""ModelCIF, PAE JSON and PDB-with-header files, each read back by a library other than its writer."""

from __future__ import annotations

import datetime as dt
import json

import gemmi
import numpy as np
import pytest
import torch
from transformers import EsmForProteinFolding

from models.shared.sequences import Protein
from models.structure.folding import Folder
from models.structure.writing import APP_NAME, MAX_PAE, app_version, pae_json, pdb_with_header, to_modelcif
from tests.conftest import INSULIN_A, INSULIN_B, UBIQUITIN


@pytest.fixture(scope="module")
def folds(tiny_fold_model) -> dict:
    folder = Folder(str(tiny_fold_model), "cpu")
    return {
        "monomer": folder.fold(Protein("ubq", (UBIQUITIN[:40],))),
        "complex": folder.fold(Protein("insulin", (INSULIN_A, INSULIN_B))),
        "homodimer": folder.fold(Protein("twins", (UBIQUITIN[:20], UBIQUITIN[:20]))),
    }


def pdb_atoms(pdb: str) -> list[str]:
    return [line for line in pdb.splitlines() if line.startswith("ATOM")]


@pytest.mark.parametrize("kind", ["monomer", "complex"])
def test_modelcif_read_by_gemmi_has_plddt_metrics_entities_and_every_atom(folds, kind):
    structure = folds[kind]
    block = gemmi.cif.read_string(to_modelcif(structure)).sole_block()
    local = block.find("_ma_qa_metric_local.", ["label_asym_id", "label_seq_id", "metric_value"])
    assert [(row[0], int(row[1])) for row in local] == [(c, n) for c, n, _ in structure.residues()]
    np.testing.assert_allclose([float(row[2]) for row in local], structure.plddt, atol=0.006)
    metrics = {row[0]: row[1] for row in block.find("_ma_qa_metric.", ["id", "name"])}
    globals_ = {
        metrics[row[0]]: float(row[1])
        for row in block.find("_ma_qa_metric_global.", ["metric_id", "metric_value"])
    }
    assert globals_["pTM"] == pytest.approx(structure.ptm, abs=6e-4)  # modelcif writes 3 decimals
    assert ("ipTM" in globals_) == (kind == "complex")
    if kind == "complex":
        assert globals_["ipTM"] == pytest.approx(structure.iptm, abs=6e-4)
    entities = [row for row in block.find("_entity.", ["id", "type"]) if row[1] == "polymer"]
    assert len(entities) == len(structure.chains)
    written = [
        gemmi.cif.as_string(v).replace("\n", "")
        for v in block.find_values("_entity_poly.pdbx_seq_one_letter_code")
    ]
    assert written == list(structure.chains)
    atoms = block.find("_atom_site.", ["label_asym_id", "label_seq_id", "B_iso_or_equiv"])
    assert len(atoms) == len(pdb_atoms(structure.pdb))
    plddt = dict(zip([(c, n) for c, n, _ in structure.residues()], structure.plddt))
    assert all(abs(float(b) - plddt[(c, int(n))]) < 0.006 for c, n, b in atoms)
    software = {row[0].strip("'"): row[1].strip("'") for row in block.find("_software.", ["name", "version"])}
    assert software["ESMFold"] == structure.model and software[APP_NAME] == app_version()
    # gemmi's structure reader takes it as a model with the same chains and residues.
    model = gemmi.make_structure_from_block(block)[0]
    assert [ch.name for ch in model] == list(dict.fromkeys(structure.chain_ids))
    assert sum(len(ch) for ch in model) == structure.length


def test_identical_chains_share_one_entity(folds):
    block = gemmi.cif.read_string(to_modelcif(folds["homodimer"])).sole_block()
    assert [row[1] for row in block.find("_entity.", ["id", "type"])].count("polymer") == 1
    assert list(block.find_values("_struct_asym.id")) == ["A", "B"]


def test_modelcif_is_the_same_text_every_time(folds):
    assert to_modelcif(folds["complex"]) == to_modelcif(folds["complex"])


def test_pae_json_is_alphafold_dbs_format(folds, tiny_fold_model):
    structure = folds["complex"]
    data = json.loads(pae_json(structure))
    assert isinstance(data, list) and len(data) == 1
    assert list(data[0]) == ["predicted_aligned_error", "max_predicted_aligned_error"]
    matrix = np.array(data[0]["predicted_aligned_error"])
    assert matrix.shape == (structure.length, structure.length)
    np.testing.assert_allclose(matrix, structure.pae, atol=0.005)
    assert matrix.max() <= data[0]["max_predicted_aligned_error"] == MAX_PAE
    model = EsmForProteinFolding.from_pretrained(tiny_fold_model).eval()
    with torch.inference_mode():
        assert float(model.infer("MKV")["max_predicted_aligned_error"]) == MAX_PAE  # ESMFold's own


def test_pdb_header_read_by_gemmi_says_what_produced_it(folds):
    structure = folds["complex"]
    text = pdb_with_header(structure, dt.date(2026, 11, 22))
    assert "PARENT" not in text and "PARENT" in structure.pdb  # transformers' writer adds it
    assert text.splitlines()[0].startswith("HEADER") and "22-NOV-26" in text.splitlines()[0]
    assert all(len(line) <= 80 for line in text.splitlines())
    parsed = gemmi.read_pdb_string(text)
    assert (
        "PREDICTED BY" in parsed.info["_struct.title"]
        and structure.model.upper() in parsed.info["_struct.title"]
    )
    assert parsed.info["_exptl.method"] == "THEORETICAL MODEL"
    remarks = "\n".join(parsed.raw_remarks).upper()
    assert f"{APP_NAME.upper()} {app_version()}" in remarks and "PLDDT" in remarks and "IPTM" in remarks
    assert [ch.name for ch in parsed[0]] == ["A", "B"]
    atoms = [atom for ch in parsed[0] for res in ch for atom in res]
    assert len(atoms) == len(pdb_atoms(structure.pdb))
    assert pdb_atoms(text) == pdb_atoms(structure.pdb)  # coordinates and pLDDT B-factors as folded


def test_pdb_header_without_a_date_is_the_same_every_time(folds):
    first = pdb_with_header(folds["monomer"])
    assert first == pdb_with_header(folds["monomer"])
    assert first.splitlines()[0].rstrip() == "HEADER    PREDICTED PROTEIN STRUCTURE"


def test_a_long_model_path_comes_back_whole_from_the_title(folds):
    # The title wraps at spaces: readers join continuation lines with a space, so a path cut
    # inside (as a 40-character pytest temp dir once was) came back as two words.
    from dataclasses import replace

    model = "/home/someone/checkpoints/protein-models/esmfold-finetuned-v2"
    structure = replace(folds["monomer"], id="a-protein-with-a-long-name", model=model)
    text = pdb_with_header(structure)
    assert all(len(line) <= 80 for line in text.splitlines())
    title = gemmi.read_pdb_string(text).info["_struct.title"]
    made_by = f"{APP_NAME.upper()} {app_version()}"
    assert title == f"A-PROTEIN-WITH-A-LONG-NAME PREDICTED BY {model.upper()} IN {made_by}"
