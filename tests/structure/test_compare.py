"""Model-vs-reference comparison against Debian's TMalign (the reference program) on real PDB entries."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import gemmi
import numpy as np
import pytest

import models.structure.compare as compare_module
from models.structure.compare import compare, compare_structures
from models.structure.result import Structure
from tests.conftest import FIXTURES

TMALIGN = shutil.which("TMalign")
needs_tmalign = pytest.mark.skipif(
    TMALIGN is None, reason="Debian's TMalign is missing (scripts/test.sh installs tm-align)"
)


def read_chain(name: str) -> tuple[np.ndarray, str, list[str]]:
    """Cα coordinates, one-letter sequence and residue names of the first protein chain (first
    alternate location; the first residue of a microheterogeneity, as TMalign reads it)."""
    structure = gemmi.read_structure(str(FIXTURES / name))
    structure.remove_alternative_conformations()
    xyz, names = [], []
    for chain in structure[0]:
        for residue in chain:
            atom = residue.find_atom("CA", "*")
            if residue.het_flag == "A" and atom is not None:
                xyz.append(atom.pos.tolist())
                names.append(residue.name)
        if names:  # 3MHT starts with two DNA chains
            break
    sequence = "".join(gemmi.find_tabulated_residue(n).one_letter_code.upper() for n in names)
    return np.array(xyz), sequence, names


def write_ca_pdb(path: Path, ca: np.ndarray, names: list[str]) -> Path:
    lines = [
        f"ATOM  {i:5d}  CA  {name:>3s} A{i:4d}    {x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00           C"
        for i, (name, (x, y, z)) in enumerate(zip(names, ca), start=1)
    ]
    path.write_text("\n".join([*lines, "TER", "END", ""]))
    return path


def run_tmalign(model: Path, reference: Path, tmp: Path) -> dict:
    matrix = tmp / "matrix.txt"
    text = subprocess.run(
        [TMALIGN, str(model), str(reference), "-m", str(matrix)], capture_output=True, text=True, check=True
    ).stdout
    aligned = re.search(
        r"Aligned length=\s*(\d+), RMSD=\s*([\d.]+), Seq_ID=n_identical/n_aligned=\s*([\d.]+)", text
    )
    rows = re.findall(r"^\s*[123]\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$", matrix.read_text(), re.M)
    table = np.array(rows, dtype=float)
    return {
        "tm_score_model": float(
            re.search(r"TM-score= ([\d.]+) \(if normalized by length of Chain_1", text)[1]
        ),
        "tm_score_reference": float(
            re.search(r"TM-score= ([\d.]+) \(if normalized by length of Chain_2", text)[1]
        ),
        "aligned_length": int(aligned[1]),
        "rmsd": float(aligned[2]),
        "sequence_identity": float(aligned[3]),
        "translation": table[:, 0],
        "rotation": table[:, 1:],
    }


def rotation(axis, degrees: float) -> np.ndarray:
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    theta = np.radians(degrees)
    return np.eye(3) + np.sin(theta) * k + (1 - np.cos(theta)) * k @ k


def perturbed(name: str, sigma: float, seed: int):
    """A copy of the entry moved rigidly and shaken by Gaussian noise (a stand-in for a model)."""
    ca, sequence, names = read_chain(name)
    rng = np.random.default_rng(seed)
    moved = ca @ rotation([1, 2, 3], 70).T + [12.0, -5.0, 30.0] + rng.normal(0, sigma, ca.shape)
    return moved, sequence, names


def truncated(name: str, start: int, stop: int):
    ca, sequence, names = read_chain(name)
    return ca[start:stop] @ rotation([0, 1, 0], 40).T, sequence[start:stop], names[start:stop]


# (label, model, reference): real entries, against a shaken or cut copy of themselves and against
# unrelated entries of other sizes.
PAIRS = {
    "1ubi-shaken-vs-1ubi": (lambda: perturbed("pdb1ubi.pdb", 1.0, 0), lambda: read_chain("pdb1ubi.pdb")),
    "1ubi-10-60-vs-1ubi": (lambda: truncated("pdb1ubi.pdb", 10, 60), lambda: read_chain("pdb1ubi.pdb")),
    "1ejg-shaken-vs-1ejg": (lambda: perturbed("pdb1ejg.pdb", 2.5, 1), lambda: read_chain("pdb1ejg.pdb")),
    "1ubi-vs-1ejg": (lambda: read_chain("pdb1ubi.pdb"), lambda: read_chain("pdb1ejg.pdb")),
    "1ake-vs-1ubi": (lambda: read_chain("pdb1ake.pdb"), lambda: read_chain("pdb1ubi.pdb")),
    "1ake-vs-3mht": (lambda: read_chain("pdb1ake.pdb"), lambda: read_chain("pdb3mht.pdb")),
    "3mht-shaken-vs-3mht": (lambda: perturbed("pdb3mht.pdb", 1.5, 2), lambda: read_chain("pdb3mht.pdb")),
}


@needs_tmalign
@pytest.mark.parametrize("label", list(PAIRS))
def test_values_equal_debian_tmalign(label, tmp_path):
    (model_ca, model_seq, model_names), (ref_ca, ref_seq, ref_names) = (make() for make in PAIRS[label])
    result = compare(model_ca, model_seq, ref_ca, ref_seq)
    expected = run_tmalign(
        write_ca_pdb(tmp_path / "model.pdb", model_ca, model_names),
        write_ca_pdb(tmp_path / "reference.pdb", ref_ca, ref_names),
        tmp_path,
    )
    assert result.tm_score_reference == pytest.approx(expected["tm_score_reference"], abs=0.01)
    assert result.tm_score_model == pytest.approx(expected["tm_score_model"], abs=0.01)
    assert result.rmsd == pytest.approx(expected["rmsd"], abs=0.01)
    assert result.aligned_length == expected["aligned_length"]
    assert result.sequence_identity == pytest.approx(expected["sequence_identity"], abs=0.001)
    # The same superposition: the model's atoms land where TMalign's matrix puts them.
    theirs = model_ca @ expected["rotation"].T + expected["translation"]
    assert np.abs(result.superpose(model_ca) - theirs).max() < 0.05
    # Per-residue distances are those of the superposed pairs, counted as TM-align counts them.
    assert len(result.per_residue) == result.aligned_length
    for pair in result.per_residue[:: max(1, len(result.per_residue) // 10)]:
        i, j = pair["model_position"] - 1, pair["reference_position"] - 1
        assert pair["distance"] == pytest.approx(np.linalg.norm(theirs[i] - ref_ca[j]), abs=0.05)


@needs_tmalign
@pytest.mark.parametrize("pair", [("pdb1ubi.pdb", "pdb1ejg.pdb"), ("pdb1ake.pdb", "pdb3mht.pdb")])
def test_chains_read_as_tmalign_reads_the_original_files(pair, tmp_path):
    """The fixture reader gives TMalign's own residues (alternate locations, ligands, DNA)."""
    model, reference = (read_chain(name) for name in pair)
    result = compare(model[0], model[1], reference[0], reference[1])
    expected = run_tmalign(FIXTURES / pair[0], FIXTURES / pair[1], tmp_path)
    assert result.aligned_length == expected["aligned_length"]
    assert result.tm_score_reference == pytest.approx(expected["tm_score_reference"], abs=0.01)
    assert result.rmsd == pytest.approx(expected["rmsd"], abs=0.01)


def test_a_shaken_copy_aligns_residue_to_residue():
    model_ca, sequence, _ = perturbed("pdb1ubi.pdb", 0.5, 3)
    ref_ca, ref_seq, _ = read_chain("pdb1ubi.pdb")
    result = compare(model_ca, sequence, ref_ca, ref_seq)
    assert result.tm_score_reference > 0.9 and result.sequence_identity == 1.0
    assert [(p["model_position"], p["reference_position"]) for p in result.per_residue] == [
        (i, i) for i in range(1, 77)
    ]
    assert np.mean([p["distance"] for p in result.per_residue]) < 1.5  # noise of 0.5 Å per axis


def test_positions_are_within_the_given_chains():
    model_ca, model_seq, _ = truncated("pdb1ubi.pdb", 10, 60)
    ref_ca, ref_seq, _ = read_chain("pdb1ubi.pdb")
    result = compare(model_ca, model_seq, ref_ca, ref_seq)
    offsets = {p["reference_position"] - p["model_position"] for p in result.per_residue if p["distance"] < 1}
    assert offsets == {10}
    assert result.tm_score_model > result.tm_score_reference  # 50 of 76 residues


def test_json_has_exactly_the_documented_keys():
    ca, sequence, _ = read_chain("pdb1ejg.pdb")
    data = compare(ca, sequence, ca, sequence).to_json()
    assert list(data) == [
        "tm_score_reference", "tm_score_model", "rmsd", "aligned_length", "sequence_identity", "per_residue"
    ]  # fmt: skip
    assert data["tm_score_reference"] == 1.0 and data["rmsd"] == 0.0
    assert set(data["per_residue"][0]) == {"model_position", "reference_position", "distance"}


def test_compare_structures_takes_a_named_chain():
    ubi, ubi_seq, _ = read_chain("pdb1ubi.pdb")
    ejg, ejg_seq, _ = read_chain("pdb1ejg.pdb")
    empty = np.zeros((0, 0))
    complex_ = Structure("ab", (ejg_seq, ubi_seq), "", np.zeros(122), empty, 0.5, ca=np.vstack([ejg, ubi]))
    reference = Structure("ubi", (ubi_seq,), "", np.zeros(76), empty, 0.5, ca=ubi)
    result = compare_structures(complex_, reference, model_chain="B")
    assert result.tm_score_reference == pytest.approx(1.0) and result.model_length == 76
    assert compare_structures(complex_, reference).model_length == 46  # first chain by default
    with pytest.raises(ValueError, match="no chain 'C'; its chains are A, B"):
        compare_structures(complex_, reference, model_chain="C")


@pytest.mark.parametrize(
    ("model_seq", "length", "message"),
    [
        ("MKVL", 4, "4 residues; at least 5"),
        ("XXXXXXXX", 8, "not a protein chain"),
        ("MKV1LAGG", 8, "not a protein chain.*'1'"),
        ("MKVLAGG", 8, "8 Cα atoms but a sequence of 7"),
    ],
)
def test_what_cannot_be_aligned_is_a_clear_error(model_seq, length, message):
    ca, sequence, _ = read_chain("pdb1ubi.pdb")
    with pytest.raises(ValueError, match=message):
        compare(ca[:length], model_seq, ca, sequence)


def test_no_aligned_pairs_is_a_clear_error(monkeypatch):
    ca, sequence, _ = read_chain("pdb1ejg.pdb")

    class Unaligned:
        u, t, rmsd, tm_norm_chain1, tm_norm_chain2 = np.eye(3), np.zeros(3), 0.0, 0.0, 0.0
        seqxA, seqyA, seqM = sequence + "-" * 46, "-" * 46 + sequence, " " * 92

    monkeypatch.setattr("tmtools.tm_align", lambda *args: Unaligned)
    with pytest.raises(ValueError, match="nothing alignable"):
        compare_module.compare(ca, sequence, ca, sequence)


TMSCORE = shutil.which("TMscore")


def run_tmalign_with_alignment(model: Path, reference: Path, rows: tuple[str, str], tmp: Path) -> dict:
    """Debian's `TMalign model reference -I alignment.fasta`: TM-align's scores on given pairs."""
    alignment = tmp / "alignment.fasta"
    alignment.write_text(f">model\n{rows[0]}\n>reference\n{rows[1]}\n")
    text = subprocess.run(
        [TMALIGN, str(model), str(reference), "-I", str(alignment)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    aligned = re.search(r"Aligned length=\s*(\d+), RMSD=\s*([\d.]+)", text)
    by = {
        k: float(re.search(rf"TM-score= ([\d.]+) \(if normalized by length of {k}", text)[1])
        for k in ("Chain_1", "Chain_2")
    }
    return {
        "tm_score_model": by["Chain_1"],
        "tm_score_reference": by["Chain_2"],
        "aligned_length": int(aligned[1]),
        "rmsd": float(aligned[2]),
    }


@needs_tmalign
@pytest.mark.parametrize(
    "label", ["1ubi-shaken-vs-1ubi", "1ubi-10-60-vs-1ubi", "3mht-shaken-vs-3mht", "1ubi-vs-1ejg"]
)
def test_sequence_pairing_equals_debian_tmalign_given_the_alignment(label, tmp_path):
    (model_ca, model_seq, model_names), (ref_ca, ref_seq, ref_names) = (make() for make in PAIRS[label])
    result = compare(model_ca, model_seq, ref_ca, ref_seq, pairing="sequence")
    rows = compare_module.sequence_alignment(model_seq, ref_seq)
    expected = run_tmalign_with_alignment(
        write_ca_pdb(tmp_path / "model.pdb", model_ca, model_names),
        write_ca_pdb(tmp_path / "reference.pdb", ref_ca, ref_names),
        rows,
        tmp_path,
    )
    assert result.tm_score_reference == pytest.approx(expected["tm_score_reference"], abs=0.01)
    assert result.tm_score_model == pytest.approx(expected["tm_score_model"], abs=0.01)
    assert result.rmsd == pytest.approx(expected["rmsd"], abs=0.01)
    assert result.aligned_length == expected["aligned_length"]
    # Exactly the alignment's pairs, in order.
    pairs, i, j = [], 0, 0
    for a, b in zip(*rows):
        if a != "-" and b != "-":
            pairs.append((i + 1, j + 1))
        i, j = i + (a != "-"), j + (b != "-")
    assert [(p["model_position"], p["reference_position"]) for p in result.per_residue] == pairs


@pytest.mark.skipif(TMSCORE is None, reason="Debian's TMscore is missing (scripts/test.sh installs tm-align)")
@pytest.mark.parametrize("label", ["1ubi-shaken-vs-1ubi", "1ejg-shaken-vs-1ejg", "3mht-shaken-vs-3mht"])
def test_sequence_pairing_of_one_protein_equals_debian_tmscore(label, tmp_path):
    """Two structures of the same sequence: the scores of the TM-score program, which pairs
    residues by their numbers (the CASP measure of a model against the experiment)."""
    (model_ca, model_seq, names), (ref_ca, ref_seq, _) = (make() for make in PAIRS[label])
    result = compare(model_ca, model_seq, ref_ca, ref_seq, pairing="sequence")
    text = subprocess.run(
        [TMSCORE, str(write_ca_pdb(tmp_path / "m.pdb", model_ca, names)),
         str(write_ca_pdb(tmp_path / "r.pdb", ref_ca, names))],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert result.tm_score_reference == pytest.approx(
        float(re.search(r"TM-score\s+=\s*([\d.]+)", text)[1]), abs=0.01
    )
    assert result.rmsd == pytest.approx(
        float(re.search(r"RMSD of\s+the common residues=\s*([\d.]+)", text)[1]), abs=0.01
    )
    assert result.aligned_length == len(model_seq) and result.sequence_identity == 1.0


def test_sequence_alignment_rows_hold_each_sequence_and_unusual_letters():
    rows = compare_module.sequence_alignment("MKTAYIAKQRQISFVKSHFSRQ", "AYIAKQRUISFVKSHJ")
    assert rows[0].replace("-", "") == "MKTAYIAKQRQISFVKSHFSRQ"
    assert rows[1].replace("-", "") == "AYIAKQRUISFVKSHJ"  # U and J kept as typed, aligned as X
    assert len(rows[0]) == len(rows[1])
    assert rows[0].index("AYIAKQR") == rows[1].index("AYIAKQR")


def test_an_unknown_pairing_is_refused():
    ca, sequence, _ = read_chain("pdb1ejg.pdb")
    with pytest.raises(ValueError, match="one of structure, sequence"):
        compare(ca, sequence, ca, sequence, pairing="residue")
