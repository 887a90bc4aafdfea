"""Opening structure files (models/structure/reading.py) on real PDB entries and on broken input."""

from __future__ import annotations

import gzip

import gemmi
import numpy as np
import pytest

from models.structure.pdb import ca_residues
from models.structure.reading import ATOM37, StructureFileError, read_structure, to_structure
from tests.conftest import FIXTURES, UBIQUITIN

ENTRIES = ["pdb1ubi", "pdb1ejg", "pdb1ake", "pdb3mht", "pdb3enl", "pdb1pwc"]
# Protein chains and their lengths (residues with a Cα, first model, first conformer).
EXPECTED_CHAINS = {
    "pdb1ubi": {"A": 76},
    "pdb1ejg": {"A": 46},
    "pdb1ake": {"A": 214},
    "pdb3mht": {"A": 327},
    "pdb3enl": {"A": 436},
    "pdb1pwc": {"A": 345},
}


def fixture_text(entry: str) -> str:
    return (FIXTURES / f"{entry}.pdb").read_text()


def seqres(text: str, chain: str) -> str:
    names = [
        w for ln in text.splitlines() if ln.startswith("SEQRES") and ln[11] == chain for w in ln[19:].split()
    ]
    return gemmi.one_letter_code(names)


def test_atom37_layout_is_esmfolds():
    from transformers.models.esm.openfold_utils import residue_constants

    assert list(ATOM37) == list(residue_constants.atom_types)


@pytest.mark.parametrize("entry", ENTRIES)
def test_each_entry_opens_with_its_protein_chains(entry):
    opened = read_structure(FIXTURES / f"{entry}.pdb")
    assert {c.id: c.length for c in opened.chains} == EXPECTED_CHAINS[entry]
    text = fixture_text(entry)
    for chain in opened.chains:
        # Same residues as the app's own minimal PDB reader finds (Cα, first altloc, no HETATM).
        ours = [(n, i) for n, i in zip(chain.numbers, chain.insertion_codes)]
        assert ours == [(r.number, r.insertion) for r in ca_residues(text) if r.chain == chain.id]
        assert chain.atom37.shape == (chain.length, 37, 3) and chain.atom37.dtype == np.float32
        assert chain.atom37_mask[:, :3].all()  # N, CA, C everywhere in these entries
        np.testing.assert_allclose(chain.ca, chain.atom37[:, 1])
        glycine = np.array([aa == "G" for aa in chain.sequence])
        np.testing.assert_allclose(chain.cb[glycine], chain.ca[glycine])
        assert not opened.predicted and opened.summary()["confidence"] == "B-factor"


def test_sequences_match_seqres_where_complete():
    assert read_structure(FIXTURES / "pdb1ubi.pdb").chain().sequence == UBIQUITIN
    text = fixture_text("pdb3enl")
    assert read_structure(FIXTURES / "pdb3enl.pdb").chain("A").sequence == seqres(text, "A")
    # 1PWC: SEQRES has 349 residues, 345 are modelled; the modelled ones are a run of SEQRES.
    text = fixture_text("pdb1pwc")
    opened = read_structure(FIXTURES / "pdb1pwc.pdb")
    assert opened.chain().sequence in seqres(text, "A")
    assert any("349 residues, 345 have coordinates" in n for n in opened.notes)


def test_waters_ligands_and_non_protein_chains_are_reported():
    opened = read_structure(FIXTURES / "pdb3mht.pdb")
    facts = opened.summary()
    assert facts["waters"] == 70 and facts["ligands"] == ["SAH"]
    assert facts["non_protein_chains"] == ["C (DNA)", "D (DNA)"]
    assert opened.chain_ids == ["A"]
    assert "70 water molecules skipped." in opened.notes
    assert "Heteroatoms/ligands skipped: SAH." in opened.notes
    assert "Chains that are not protein skipped: C (DNA), D (DNA)." in opened.notes
    pnm = read_structure(FIXTURES / "pdb1pwc.pdb").summary()
    assert pnm["ligands"] == ["PNM"] and pnm["waters"] == 507


def test_alternate_locations_keep_the_first():
    opened = read_structure(FIXTURES / "pdb1ejg.pdb")
    assert opened.facts["alternate_location_residues"] == 19
    assert "19 residues with alternate locations: the first location is kept." in opened.notes
    chain = opened.chain()
    # Residue 22 is Pro (altloc A) / Ser (altloc B) in 1EJG: the first is kept, once.
    assert chain.numbers.count(22) == 1 and chain.sequence[21] == "P"
    first_ca = next(
        ln for ln in fixture_text("pdb1ejg").splitlines() if ln.startswith("ATOM") and ln[12:16] == " CA "
    )
    np.testing.assert_allclose(
        chain.ca[0], [float(first_ca[30:38]), float(first_ca[38:46]), float(first_ca[46:54])]
    )


def _edited_ubiquitin(edit) -> bytes:
    lines = fixture_text("pdb1ubi").splitlines()
    return ("\n".join(edit(lines)) + "\n").encode()


def test_insertion_codes_and_gaps_are_kept_and_reported():
    def edit(lines):
        out = []
        for ln in lines:
            if ln.startswith("ATOM"):
                number = int(ln[22:26])
                if 30 <= number <= 33:  # cut residues 30-33: a real chain break
                    continue
                if number == 50:  # 50 -> 49A (an insertion code)
                    ln = ln[:22] + "  49A" + ln[27:]
            out.append(ln)
        return out

    opened = read_structure(_edited_ubiquitin(edit), "cut.pdb")
    chain = opened.chain()
    assert chain.length == 72 and "49A" in chain.labels
    assert chain.sequence == UBIQUITIN[:29] + UBIQUITIN[33:]
    assert opened.facts["insertion_codes"] == 1
    assert opened.facts["gaps"] == ["A 29–34 (4 missing)"]
    assert any("insertion codes" in n for n in opened.notes)
    assert any("Missing residues (chain breaks): A 29–34 (4 missing)" in n for n in opened.notes)
    structure = to_structure(opened)
    assert structure.residue_numbers[28:30] == [29, 34]


def test_non_standard_residue_is_mapped_to_its_parent():
    def edit(lines):  # ubiquitin Met1 as selenomethionine (MSE, HETATM, Se for Sδ)
        out = []
        for ln in lines:
            if ln.startswith("ATOM") and ln[17:20] == "MET":
                ln = "HETATM" + ln[6:17] + "MSE" + ln[20:]
                if ln[12:16] == " SD ":
                    ln = ln[:12] + "SE  " + ln[16:76] + "SE" + ln[78:]
            out.append(ln)
        return out

    opened = read_structure(_edited_ubiquitin(edit), "mse.pdb")
    chain = opened.chain()
    assert chain.sequence == UBIQUITIN
    assert opened.facts["non_standard_residues"] == {"MSE": "M"}
    assert "Non-standard residues: MSE→M." in opened.notes
    assert chain.atom37_mask[0, ATOM37.index("SD")]  # Se kept in the Sδ slot


def test_mmcif_and_gzip_open_the_same(tmp_path):
    plain = read_structure(FIXTURES / "pdb3enl.pdb")
    st = gemmi.read_structure(str(FIXTURES / "pdb3enl.pdb"))
    st.setup_entities()
    cif = tmp_path / "3enl.cif"
    st.make_mmcif_document().write_file(str(cif))
    gz = tmp_path / "3enl.cif.gz"
    gz.write_bytes(gzip.compress(cif.read_bytes()))
    disguised = tmp_path / "3enl.pdb"  # gzip detected by its magic bytes, not by the name
    disguised.write_bytes(gzip.compress((FIXTURES / "pdb3enl.pdb").read_bytes()))
    for path, fmt in ((cif, "mmCIF"), (gz, "mmCIF"), (disguised, "PDB")):
        opened = read_structure(path)
        assert opened.format == fmt
        assert opened.chain().sequence == plain.chain().sequence
        np.testing.assert_allclose(opened.chain().atom37, plain.chain().atom37, atol=1e-3)
        assert opened.facts["waters"] == 353 and opened.facts["ligands"] == ["SO4"]
    assert read_structure(cif.read_bytes(), "x.mmcif").name == "x.mmcif"


def test_predicted_model_rule(tmp_path):
    from models.structure.reading import _PREDICTOR_MARKS

    assert "PARENT N/A" in _PREDICTOR_MARKS
    text = fixture_text("pdb1ubi")
    atoms = "\n".join(ln for ln in text.splitlines() if ln.startswith(("ATOM", "TER", "END")))
    # Only B-factors in 0..100 and no predictor named: a crystal structure, B-factors.
    assert not read_structure(atoms.encode(), "x.pdb").predicted
    # A predictor named in the header: pLDDT.
    alphafold = "TITLE     ALPHAFOLD MONOMER V2.0 PREDICTION FOR UBIQUITIN\n" + atoms
    opened = read_structure(alphafold.encode(), "af.pdb")
    assert opened.predicted and opened.source == "AlphaFold model"
    structure = to_structure(opened)
    assert structure.confidence_kind == "pLDDT" and structure.summary()["mean_plddt"] > 0
    # ESMFold writes pLDDT on 0-1: shown on 0-100.
    scaled = "\n".join(
        ln[:60] + f"{float(ln[60:66]) / 100:6.2f}" + ln[66:] if ln.startswith("ATOM") else ln
        for ln in ("PARENT N/A\n" + atoms).splitlines()
    )
    opened = read_structure(scaled.encode(), "esm.pdb")
    assert opened.predicted and opened.plddt_scale == 100.0
    np.testing.assert_allclose(
        to_structure(opened).plddt, to_structure(read_structure(alphafold.encode())).plddt, atol=0.6
    )
    # A predictor named but B-factors past 100: not pLDDT.
    hot = "\n".join(
        ln[:60] + "150.00" + ln[66:] if ln.startswith("ATOM") else ln for ln in alphafold.splitlines()
    )
    assert not read_structure(hot.encode(), "hot.pdb").predicted


def test_a_fold_written_by_the_app_opens_as_predicted(tmp_path):
    # This app's PDB (OpenFold writer: PARENT N/A, pLDDT 0-100) must read back as a pLDDT model.
    from models.structure.reading import _PREDICTOR_MARKS

    text = "PARENT N/A\n" + "\n".join(
        ln for ln in fixture_text("pdb1ake").splitlines() if ln.startswith("ATOM")
    )
    assert "PARENT N/A" in _PREDICTOR_MARKS and read_structure(text.encode(), "fold.pdb").predicted


def test_structure_for_the_app():
    opened = read_structure(FIXTURES / "pdb3mht.pdb")
    structure = to_structure(opened)
    assert structure.chains == (opened.chain().sequence,)
    assert structure.confidence_kind == "B-factor" and structure.pae is None and structure.ptm is None
    summary = structure.summary()
    assert summary["mean_plddt"] is None and summary["ptm"] is None and summary["confidence"] == "B-factor"
    assert summary["mean_b_factor"] == pytest.approx(float(np.mean(opened.chain().b_factors)), abs=0.01)
    scores = structure.scores()
    assert scores["pae"] is None and len(scores["b_factor"]) == 327 and "plddt" not in scores
    assert structure.backbone.shape == (327, 4, 3)
    # The viewer's PDB: that chain only, its residues, its numbering; no waters, ligands or DNA.
    residues = ca_residues(structure.pdb)
    assert [r.number for r in residues] == list(opened.chain().numbers)
    assert "HOH" not in structure.pdb and "SAH" not in structure.pdb and " DA " not in structure.pdb
    assert "ANISOU" not in to_structure(read_structure(FIXTURES / "pdb1ejg.pdb")).pdb
    assert structure.residues()[0] == ("A", residues[0].number, pytest.approx(residues[0].b_factor, abs=0.01))


def test_chain_selection_and_length_limit():
    opened = read_structure(FIXTURES / "pdb3enl.pdb")
    with pytest.raises(StructureFileError, match="has no protein chain 'B'; its protein chains are A"):
        to_structure(opened, "B")
    with pytest.raises(StructureFileError, match="Chain A of pdb3enl.pdb has 436 residues; the limit is 400"):
        to_structure(opened, "A", max_residues=400)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "x.pdb is empty."),
        (b"   \n\n", "x.pdb is empty."),
        (bytes(range(256)) * 50, "x.pdb is not a text structure file (it looks binary)"),
        (gzip.compress(b""), "x.pdb is empty."),
        (b"\x1f\x8b\x08\x00junk", "x.pdb looks gzip-compressed but cannot be uncompressed"),
        (b">seq\nMKTAYIAK\n", "x.pdb is neither a PDB file"),
        (
            b"data_x\n_atom_site.id 1\n_atom_site.Cartn_x 1.0\nloop_\nloop_ 'a\n",
            "x.pdb cannot be read as mmCIF",
        ),
    ],
)
def test_bad_input_gets_a_clear_message(data, message):
    with pytest.raises(StructureFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_structure(data, "x.pdb")


def test_no_protein_chain_is_refused():
    dna_only = "\n".join(
        ln
        for ln in fixture_text("pdb3mht").splitlines()
        if ln.startswith(("ATOM", "HETATM")) and ln[21] in "CD"
    )
    with pytest.raises(
        StructureFileError, match=r"dna.pdb has no protein chain \(only C \(DNA\), D \(DNA\)\)"
    ):
        read_structure(dna_only.encode(), "dna.pdb")
    waters = "\n".join(ln for ln in fixture_text("pdb1ubi").splitlines() if ln.startswith("HETATM"))
    with pytest.raises(StructureFileError, match="water.pdb has no protein chain"):
        read_structure(waters.encode(), "water.pdb")


def test_unparseable_pdb_line_is_named():
    lines = fixture_text("pdb1ake").splitlines()
    first_atom = next(i for i, ln in enumerate(lines) if ln.startswith("ATOM"))
    lines[first_atom] = lines[first_atom][:20]  # cut short in the middle of the residue name
    message = (
        f"broken.pdb cannot be read as PDB: Problem in line {first_atom + 1}: "
        "The line is too short to be correct."
    )
    with pytest.raises(StructureFileError) as caught:
        read_structure("\n".join(lines).encode(), "broken.pdb")
    assert str(caught.value) == message


def test_missing_file_is_a_clear_message(tmp_path):
    with pytest.raises(StructureFileError, match="Cannot read nope.pdb"):
        read_structure(tmp_path / "nope.pdb")
