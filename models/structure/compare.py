"""Compare a model with a reference structure: TM-align (through `tmtools`) on Cα atoms.

TM-align is the reference program; `tmtools` binds its C++ code, so the numbers here are
TM-align's own: TM-score normalised by either chain, RMSD and sequence identity over the aligned
pairs, and the rotation/translation that superposes the model onto the reference.

Two ways to pair residues:
- "structure" (default): TM-align's own search for the residue pairs that superpose best,
  whatever the sequences (`TMalign model ref`).
- "sequence": the pairs of a global sequence alignment (biotite, BLOSUM62), then TM-align's
  superposition and scores on exactly those pairs (`TMalign model ref -I alignment`): the
  TM-score program's question, "how close is this model of the same protein", as CASP scores
  predictions. It skips TM-align's search (on 1,000 residues 3 of its 3.7 s are its
  fragment-superposition start, get_initial5) and answers in about 0.5 s; a mutant's model
  against its wild type's is compared this way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.shared.sequences import ACCEPTED_LETTERS
from models.structure.result import Structure

MIN_CHAIN_LENGTH = 5  # TM-align's d0 and search make no sense on shorter chains
PAIRINGS = ("structure", "sequence")


@dataclass
class Comparison:
    """TM-align's answer for one model chain against one reference chain."""

    tm_score_reference: float  # normalised by the reference's length (the one to report)
    tm_score_model: float  # normalised by the model's length
    rmsd: float  # Å, over the aligned Cα pairs after superposition
    aligned_length: int
    sequence_identity: float  # identical aligned pairs / aligned pairs, as TM-align reports it
    # One entry per aligned pair, in alignment order: 1-based positions within each chain and
    # the Cα-Cα distance (Å) after superposing the model onto the reference.
    per_residue: list[dict] = field(default_factory=list)
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))  # (3, 3)
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))  # (3,)
    model_length: int = 0
    reference_length: int = 0
    # The alignment as TM-align prints it (model row, marks, reference row); ':' marks d < 5 Å.
    alignment: tuple[str, str, str] = ("", "", "")

    def superpose(self, coordinates: np.ndarray) -> np.ndarray:
        """Model-frame coordinates (N, 3) moved onto the reference's frame."""
        return np.asarray(coordinates, dtype=float) @ self.rotation.T + self.translation

    def to_json(self) -> dict:
        """The JSON result the API and the download give."""
        return {
            "tm_score_reference": round(self.tm_score_reference, 4),
            "tm_score_model": round(self.tm_score_model, 4),
            "rmsd": round(self.rmsd, 3),
            "aligned_length": self.aligned_length,
            "sequence_identity": round(self.sequence_identity, 4),
            "per_residue": [
                {
                    "model_position": p["model_position"],
                    "reference_position": p["reference_position"],
                    "distance": round(p["distance"], 3),
                }
                for p in self.per_residue
            ],
        }


def _checked(ca, sequence: str, role: str) -> tuple[np.ndarray, str]:
    coordinates = np.asarray(ca, dtype=np.float64)
    sequence = str(sequence).upper()
    if coordinates.size == 0:
        raise ValueError(f"The {role} chain has no residues with a Cα atom.")
    if coordinates.ndim != 2 or coordinates.shape[1] != 3:
        raise ValueError(f"The {role}'s Cα coordinates must be an (N, 3) array, not {coordinates.shape}.")
    if len(sequence) != len(coordinates):
        raise ValueError(
            f"The {role} has {len(coordinates)} Cα atoms but a sequence of {len(sequence)} residues."
        )
    if len(sequence) < MIN_CHAIN_LENGTH:
        raise ValueError(
            f"The {role} chain has {len(sequence)} residues; at least {MIN_CHAIN_LENGTH} are needed "
            "to align it."
        )
    odd = sorted(set(sequence) - ACCEPTED_LETTERS)
    if odd or set(sequence) == {"X"}:
        raise ValueError(
            f"The {role} chain is not a protein chain (its residues are not amino acids"
            + (f": {', '.join(repr(c) for c in odd[:5])}" if odd else "")
            + "); choose a protein chain."
        )
    if not np.isfinite(coordinates).all():
        raise ValueError(f"The {role} has Cα coordinates that are not numbers.")
    return np.ascontiguousarray(coordinates), sequence


def sequence_alignment(model_seq: str, reference_seq: str) -> tuple[str, str]:
    """The two sequences as the rows of a global alignment ('-' for gaps): BLOSUM62, gap open 10,
    extend 1, free end gaps (a model of a whole protein against a structure of part of it)."""
    import biotite.sequence as bseq
    import biotite.sequence.align as balign

    letters = set(bseq.ProteinSequence.alphabet.get_symbols())
    # J, U and O are not in biotite's alphabet; X aligns them without a score of their own.
    encode = lambda s: bseq.ProteinSequence("".join(c if c in letters else "X" for c in s))  # noqa: E731
    matrix = balign.SubstitutionMatrix.std_protein_matrix()
    best = balign.align_optimal(
        encode(model_seq), encode(reference_seq), matrix, gap_penalty=(-10, -1),
        terminal_penalty=False, max_number=1,
    )[0]  # fmt: skip
    rows = ([], [])
    for i, j in best.trace:
        rows[0].append(model_seq[i] if i >= 0 else "-")
        rows[1].append(reference_seq[j] if j >= 0 else "-")
    return "".join(rows[0]), "".join(rows[1])


def compare(
    model_ca, model_seq: str, reference_ca, reference_seq: str, pairing: str = "structure"
) -> Comparison:
    """TM-align the model's Cα atoms (N, 3) onto the reference's (M, 3), pairing residues by
    TM-align's structural search or by a sequence alignment (`pairing`, see the module's
    docstring). Raises ValueError with a readable message when the chains cannot be aligned."""
    from tmtools import tm_align

    if pairing not in PAIRINGS:
        raise ValueError(f"Pairing must be one of {', '.join(PAIRINGS)}, not {pairing!r}.")
    x, seq_x = _checked(model_ca, model_seq, "model")
    y, seq_y = _checked(reference_ca, reference_seq, "reference")
    if pairing == "sequence":
        rows = sequence_alignment(seq_x, seq_y)
        if not any(a != "-" and b != "-" for a, b in zip(*rows)):
            raise ValueError("The model and the reference have nothing alignable (no residue pairs).")
        result = tm_align(x, y, seq_x, seq_y, alignment=list(rows))
    else:
        result = tm_align(x, y, seq_x, seq_y)  # chain 1 = model (moved), chain 2 = reference (fixed)
    rotation, translation = np.asarray(result.u, dtype=float), np.asarray(result.t, dtype=float)
    moved = x @ rotation.T + translation
    pairs, identical = [], 0
    i = j = 0  # positions (0-based) reached in each chain while walking the alignment
    for a, b in zip(result.seqxA, result.seqyA, strict=True):
        if a != "-" and b != "-":
            distance = float(np.linalg.norm(moved[i] - y[j]))
            pairs.append({"model_position": i + 1, "reference_position": j + 1, "distance": distance})
            identical += a == b
        i += a != "-"
        j += b != "-"
    if not pairs:
        raise ValueError("The model and the reference have nothing alignable (TM-align found no pairs).")
    return Comparison(
        tm_score_reference=float(result.tm_norm_chain2),
        tm_score_model=float(result.tm_norm_chain1),
        rmsd=float(result.rmsd),
        aligned_length=len(pairs),
        sequence_identity=identical / len(pairs),
        per_residue=pairs,
        rotation=rotation,
        translation=translation,
        model_length=len(seq_x),
        reference_length=len(seq_y),
        alignment=(result.seqxA, result.seqM, result.seqyA),
    )


def chain_ca(structure: Structure, chain: str | None = None) -> tuple[np.ndarray, str]:
    """Cα coordinates and sequence of one chain (letter A, B, ...; default the first)."""
    if structure.ca is None or not structure.chains:
        raise ValueError(f"{structure.id} has no Cα coordinates to compare.")
    letters = list(dict.fromkeys(structure.chain_ids))  # in order, one per chain
    chain = chain or letters[0]
    if chain not in letters:
        raise ValueError(f"{structure.id} has no chain {chain!r}; its chains are {', '.join(letters)}.")
    rows = np.array(structure.chain_ids) == chain
    return np.asarray(structure.ca)[rows], structure.chains[letters.index(chain)]


def compare_structures(
    model: Structure,
    reference: Structure,
    model_chain: str | None = None,
    reference_chain: str | None = None,
    pairing: str = "structure",
) -> Comparison:
    """`compare` on one chain of each Structure (the first chain unless named)."""
    model_ca, model_seq = chain_ca(model, model_chain)
    reference_ca, reference_seq = chain_ca(reference, reference_chain)
    return compare(model_ca, model_seq, reference_ca, reference_seq, pairing)


def reference_in_model_frame(comparison: Comparison, reference_pdb: str) -> str:
    """The reference's PDB text moved into the model's frame (the inverse of `superpose`), so a
    viewer can draw both without touching the model's own coordinates."""
    import gemmi

    structure = gemmi.read_pdb_string(reference_pdb)
    rotation, translation = np.asarray(comparison.rotation), np.asarray(comparison.translation)
    for model in structure:
        for chain in model:
            for residue in chain:
                for atom in residue:
                    xyz = (np.array(atom.pos.tolist()) - translation) @ rotation
                    atom.pos = gemmi.Position(*map(float, xyz))
    return structure.make_pdb_string()
