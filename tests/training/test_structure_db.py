"""The structure-database reader (training/structure_db.py) and its checks, on small files in
ProMod3's layout written from the test fixtures."""

from __future__ import annotations

import struct
from dataclasses import replace

import numpy as np
import pytest

from tests.training.secondary_fixtures import FIXTURES, fixture_chain, random_chains
from training.secondary_checks import accessibility_vs_biotite, ca_ca_median, pydssp_agreement, three_state
from training.structure_db import HEADER_SIZE, StructureDB, StructureDBError, write_structure_db


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    chains = [fixture_chain("pdb1ubi"), fixture_chain("pdb1ake"), *random_chains(3)]
    path = write_structure_db(tmp_path_factory.mktemp("db") / "structure_db.dat", chains)
    return StructureDB(path), chains


def test_reads_back_every_chain(small_db):
    db, chains = small_db
    assert len(db) == len(chains)
    for i, chain in enumerate(chains):
        got = db[i]
        assert (got.pdb_id, got.chain, got.sequence, got.dssp) == (
            chain.pdb_id, chain.chain, chain.sequence, chain.dssp
        )  # fmt: skip
        np.testing.assert_array_equal(got.accessibility, chain.accessibility)
        # Stored in 0.01 Å steps around the chain's shift.
        assert np.abs(got.backbone - chain.backbone).max() <= 0.006
        assert db.sequence(i) == chain.sequence and db.name(i) == f"{chain.pdb_id}_{chain.chain}"


def test_checks_on_real_geometry(small_db):
    db, _ = small_db
    # Consecutive Cα of a real backbone are 3.80 Å apart; a wrong stride or unit would not be.
    assert ca_ca_median(db, [0, 1]) == pytest.approx(3.80, abs=0.03)
    figures = pydssp_agreement(db, [0, 1])
    assert figures["residues"] == 76 + 214
    assert figures["three_state_usual_mapping"] == 1.0  # the stored labels are pydssp's own here


def test_pydssp_check_catches_labels_of_other_residues(tmp_path):
    """The agreement check is what proves coordinates and labels belong together: labels shifted
    by a few residues must score clearly lower."""
    chain = fixture_chain("pdb1ake")
    shifted = chain.dssp[5:] + chain.dssp[:5]
    db = StructureDB(write_structure_db(tmp_path / "s.dat", [replace(chain, dssp=shifted)]))
    assert pydssp_agreement(db, [0])["three_state_usual_mapping"] < 0.8


def test_accessibility_check_against_biotite(tmp_path):
    """A database chain holding biotite's own SASA of 1UBI correlates at r = 1 with it; the same
    chain's accessibility reversed does not."""
    from models.structure.reading import read_structure, to_structure
    from models.structure.secondary import MAX_ASA_TIEN_2013, relative_accessibility

    opened = read_structure(FIXTURES / "pdb1ubi.pdb")
    sasa = relative_accessibility(to_structure(opened)) * np.array(
        [MAX_ASA_TIEN_2013[a] for a in opened.chain().sequence]
    )
    good = fixture_chain("pdb1ubi")
    good = replace(good, accessibility=np.round(sasa).astype(np.float32))
    db = StructureDB(write_structure_db(tmp_path / "good.dat", [good]))
    found = accessibility_vs_biotite(db, FIXTURES)
    assert found["1UBI_A"]["match"] == "same PDB chain"
    assert found["1UBI_A"]["pearson_r"] > 0.99
    reversed_ = replace(good, pdb_id="9ZZZ", accessibility=good.accessibility[::-1].copy())
    db = StructureDB(write_structure_db(tmp_path / "bad.dat", [reversed_]))
    found = accessibility_vs_biotite(db, FIXTURES)
    assert found["1UBI_A"]["match"] == "same sequence"  # found by its sequence under another id
    assert found["1UBI_A"]["pearson_r"] < 0.5


def test_three_state_mapping():
    assert three_state("HGIEBTSC") == "HHHEECCC"


def test_refuses_files_of_another_layout(small_db, tmp_path):
    db, _ = small_db
    data = bytearray(db.path.read_bytes())
    wrong_magic = tmp_path / "magic.dat"
    wrong_magic.write_bytes(struct.pack("<I", 99) + bytes(data[4:]))
    with pytest.raises(StructureDBError, match="magic 99, version 2; expected ProMod3's structure database"):
        StructureDB(wrong_magic)
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(bytes(data[:-100]))
    with pytest.raises(StructureDBError, match="runs past the end of the file"):
        StructureDB(truncated)
    # One residue fewer in the first array's count than the table of contents lists.
    first_count = db.arrays["sequence"].offset - 8
    (n,) = struct.unpack_from("<Q", data, first_count)
    miscounted = tmp_path / "count.dat"
    data[first_count : first_count + 8] = struct.pack("<Q", n - 1)
    miscounted.write_bytes(bytes(data))
    with pytest.raises(StructureDBError, match=f"counts {n - 1} residues; the table of contents lists {n}"):
        StructureDB(miscounted)
    short = tmp_path / "short.dat"
    short.write_bytes(bytes(data[: HEADER_SIZE - 1]))
    with pytest.raises(StructureDBError, match="too short"):
        StructureDB(short)
