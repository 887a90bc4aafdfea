"""Secondary structure and accessibility (models/structure/secondary.py) against Debian's mkdssp 4.2.2."""

from __future__ import annotations

import shutil
import subprocess

import gemmi
import numpy as np
import pytest

from models.structure.reading import read_structure, to_structure
from models.structure.secondary import (
    MAX_ASA_TIEN_2013,
    relative_accessibility,
    secondary_structure,
    ss_fractions,
)
from tests.conftest import FIXTURES, INSULIN_A, INSULIN_B, UBIQUITIN

ENTRIES = ["pdb1ubi", "pdb1ejg", "pdb1ake", "pdb3mht", "pdb3enl", "pdb1pwc"]
MKDSSP = shutil.which("mkdssp")
needs_mkdssp = pytest.mark.skipif(
    MKDSSP is None, reason="Debian's dssp (mkdssp) is not installed (the README test command installs it)"
)


def mkdssp(pdb_path, tmp_path) -> dict[tuple[str, int, str], tuple[str, str, float]]:
    """(chain, number, insertion code) -> (amino acid, 3-state SS, ACC Å²) from mkdssp's classic output."""
    out = tmp_path / (pdb_path.stem + ".dssp")
    subprocess.run([MKDSSP, str(pdb_path), str(out)], check=True, capture_output=True, timeout=120)
    rows, started = {}, False
    for line in out.read_text().splitlines():
        if line.startswith("  #  RESIDUE"):
            started = True
            continue
        if not started or line[13] == "!":  # '!' marks a chain break, not a residue
            continue
        ss = line[16]
        ss3 = "H" if ss in "HGI" else "E" if ss in "EB" else "C"
        rows[(line[11], int(line[5:10]), line[10].strip())] = (line[13], ss3, float(line[34:38]))
    return rows


def reference_input(entry: str, tmp_path):
    """The entry as mkdssp reads it. 1EJG has microheterogeneity (residue 22 Pro/Ser, 25 Leu/Ile):
    mkdssp drops both conformers and breaks the helix there, so it gets the first conformer, as we
    read it (gemmi's rewrite of the same coordinates)."""
    path = FIXTURES / f"{entry}.pdb"
    if entry != "pdb1ejg":
        return path
    st = gemmi.read_structure(str(path))
    st.remove_alternative_conformations()
    first = tmp_path / f"{entry}.first.pdb"
    st.write_pdb(str(first))
    return first


@needs_mkdssp
@pytest.mark.parametrize("entry", ENTRIES)
def test_agrees_with_mkdssp(entry, tmp_path):
    opened = read_structure(FIXTURES / f"{entry}.pdb")
    chain = opened.chain()
    structure = to_structure(opened)
    ss3, ss8 = secondary_structure(structure)
    rsa = relative_accessibility(structure)
    reference = mkdssp(reference_input(entry, tmp_path), tmp_path)
    keys = [(chain.id, n, i) for n, i in zip(chain.numbers, chain.insertion_codes)]
    assert all(k in reference for k in keys), "mkdssp and we should see the same residues"
    # mkdssp names a cystine by its bridge partner letter (a, b, …) instead of C.
    assert "".join(reference[k][0] if reference[k][0].isupper() else "C" for k in keys) == chain.sequence
    agreement = np.mean([ss3[i] == reference[k][1] for i, k in enumerate(keys)])
    assert agreement >= 0.95, f"{entry}: 3-state agreement {agreement:.3f}"
    # mkdssp writes cystines as lower-case letters: the table is indexed by our sequence.
    reference_rsa = np.array([reference[k][2] / MAX_ASA_TIEN_2013[aa] for aa, k in zip(chain.sequence, keys)])
    r = np.corrcoef(rsa, reference_rsa)[0, 1]
    assert r >= 0.9, f"{entry}: RSA Pearson r {r:.3f}"
    assert ss8 is None and len(ss3) == len(rsa) == chain.length and set(ss3) <= set("HEC")


def test_ubiquitin_secondary_structure_is_its_known_fold():
    structure = to_structure(read_structure(FIXTURES / "pdb1ubi.pdb"))
    ss3, _ = secondary_structure(structure)
    # Ubiquitin: the α1 helix 23-34 and a β-hairpin 1-7 / 10-17.
    assert set(ss3[23:33]) == {"H"} and ss3[2:6] == "EEEE" and ss3[12:16] == "EEEE"
    fractions = ss_fractions(ss3)
    assert set(fractions) == {"helix", "strand", "coil"} and sum(fractions.values()) == pytest.approx(
        1.0, abs=2e-4
    )
    assert fractions["helix"] == pytest.approx(ss3.count("H") / 76, abs=1e-4)


def test_buried_and_exposed_residues():
    rsa = relative_accessibility(to_structure(read_structure(FIXTURES / "pdb1ubi.pdb")))
    # Ile 23 and Leu 50 form the core of ubiquitin; the C-terminal Gly 76 hangs in the solvent.
    assert rsa[22] < 0.1 and rsa[49] < 0.1 and rsa[75] > 0.6


def test_ss_fractions_of_nothing():
    assert ss_fractions("") == {"helix": 0.0, "strand": 0.0, "coil": 1.0}


def test_a_fold_carries_what_secondary_structure_needs(tiny_fold_model, tmp_path):
    from models.shared.sequences import Protein
    from models.structure.folding import Folder

    structure = Folder(str(tiny_fold_model), "cpu").fold(Protein("ins", (INSULIN_A, INSULIN_B)))
    assert structure.atom37.shape == (structure.length, 37, 3) and structure.atom37.dtype == np.float32
    assert structure.backbone.shape == (structure.length, 4, 3)
    np.testing.assert_allclose(structure.backbone[:, 1], structure.ca)
    # The same answers from the arrays the fold kept as from the PDB file it wrote.
    reread = read_structure(structure.pdb.encode(), "fold.pdb")
    assert reread.predicted and reread.chain_ids == ["A", "B"]
    for letter, chain in zip("AB", (INSULIN_A, INSULIN_B)):
        assert reread.chain(letter).sequence == chain
    atoms = np.concatenate([reread.chain(c).atom37 for c in "AB"])
    np.testing.assert_allclose(
        atoms,
        structure.atom37 * np.concatenate([reread.chain(c).atom37_mask for c in "AB"])[..., None],
        atol=1e-3,
    )
    ss3, _ = secondary_structure(structure)
    rsa = relative_accessibility(structure)
    assert len(ss3) == len(rsa) == len(INSULIN_A) + len(INSULIN_B) and np.isfinite(rsa).all()


def test_fold_without_atoms_says_why():
    from models.structure.result import Structure
    from models.structure.secondary import SecondaryStructureUnavailable

    bare = Structure("old", (UBIQUITIN,), "", np.zeros(76), np.zeros((76, 76)), 0.5)
    with pytest.raises(SecondaryStructureUnavailable, match="has no atom coordinates"):
        secondary_structure(bare)
    with pytest.raises(SecondaryStructureUnavailable, match="has no atom coordinates"):
        relative_accessibility(bare)
