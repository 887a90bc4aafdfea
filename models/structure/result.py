"""`Structure`: what a fold returns, as plain numbers and text (no tensors)."""

from __future__ import annotations

import string
from dataclasses import dataclass, field

import numpy as np

# AlphaFold DB confidence bands: (lower bound, label, colour). Shared by viewer and plots.
PLDDT_BANDS = (
    (90.0, "Very high (pLDDT > 90)", "#0053D6"),
    (70.0, "Confident (90 > pLDDT > 70)", "#65CBF3"),
    (50.0, "Low (70 > pLDDT > 50)", "#FFDB13"),
    (0.0, "Very low (pLDDT < 50)", "#FF7D45"),
)


def plddt_band(score: float) -> int:
    """Index into PLDDT_BANDS for a 0-100 pLDDT score."""
    for i, (lower, _, _) in enumerate(PLDDT_BANDS):
        if score > lower or lower == 0.0:
            return i
    return len(PLDDT_BANDS) - 1


@dataclass
class Structure:
    """A predicted (or opened) structure: PDB text plus per-residue and pairwise confidence."""

    id: str
    chains: tuple[str, ...]
    pdb: str  # pLDDT 0-100 in the B-factor column, chains A, B, ...
    plddt: np.ndarray  # (L,) 0-100, CA atom; an opened experimental file's B-factors (confidence_kind)
    pae: np.ndarray | None  # (L, L) Angstrom; None for an opened file (it has no PAE)
    ptm: float | None  # over this protein's residues only (linkers and padding excluded); None: file
    model: str = ""
    device: str = ""
    seconds: float = 0.0
    chunk_size: int | None = None
    notes: list[str] = field(default_factory=list)
    # Per-residue coordinates (L, 3) in Angstrom, as the fold produced them: Cα, and Cβ (Cα for
    # glycine, which has none). Contacts and views are computed from these, not from the PDB text.
    ca: np.ndarray | None = None
    cb: np.ndarray | None = None
    # What `plddt` holds: "pLDDT" (a fold, or a predicted model opened from a file) or "B-factor"
    # (an experimental structure opened from a file: not a confidence, the plot says so).
    confidence_kind: str = "pLDDT"
    # Heavy atoms in ESMFold's atom37 layout: (L, 37, 3) float32 Å and (L, 37) bool. Secondary
    # structure (backbone N, CA, C, O) and solvent accessibility are computed from these.
    atom37: np.ndarray | None = None
    atom37_mask: np.ndarray | None = None
    # An opened file keeps its own chain letters and residue numbers; a fold numbers A, B, … from 1.
    chain_names: tuple[str, ...] | None = None
    author_numbers: tuple[int, ...] | None = None
    # Complexes: AlphaFold-Multimer's interface pTM (inter-chain pairs only; None for one chain),
    # and each chain's own pTM, by chain letter.
    iptm: float | None = None
    chain_ptm: dict[str, float] = field(default_factory=dict)
    # DSSP 3-state secondary structure per residue ("H", "E", "C") and relative solvent
    # accessibility (0-1, NaN where unknown); filled by models.studio after a fold or an open.
    ss: str | None = None
    rsa: np.ndarray | None = None

    @property
    def length(self) -> int:
        return sum(len(c) for c in self.chains)

    @property
    def mean_plddt(self) -> float:
        return float(np.mean(self.plddt))

    @property
    def chain_letters(self) -> list[str]:
        """Letter of each chain, as written in the PDB."""
        return list(self.chain_names or string.ascii_uppercase[: len(self.chains)])

    @property
    def chain_ids(self) -> list[str]:
        """Chain letter of every residue, in order."""
        return [letter for letter, c in zip(self.chain_letters, self.chains) for _ in c]

    @property
    def residue_numbers(self) -> list[int]:
        """Residue number within its chain, as written in the PDB (1-based for a fold)."""
        if self.author_numbers is not None:
            return list(self.author_numbers)
        return [n for c in self.chains for n in range(1, len(c) + 1)]

    @property
    def backbone(self) -> np.ndarray | None:
        """(L, 4, 3) N, CA, C, O coordinates (NaN where the atom is absent), or None."""
        if self.atom37 is None or self.atom37_mask is None:
            return None
        picked = self.atom37[:, [0, 1, 2, 4]].astype(np.float32)
        picked[~self.atom37_mask[:, [0, 1, 2, 4]]] = np.nan
        return picked

    def residues(self) -> list[tuple[str, int, float]]:
        """(chain letter, residue number, pLDDT) of every residue, in order."""
        return list(zip(self.chain_ids, self.residue_numbers, (float(x) for x in self.plddt)))

    def cb_contacts(self, cutoff: float = 8.0) -> np.ndarray | None:
        """(L, L) 1/0 map of residue pairs whose Cβ atoms lie within `cutoff` Angstrom."""
        if self.cb is None:
            return None
        distances = np.linalg.norm(self.cb[:, None] - self.cb[None], axis=-1)
        return (distances < cutoff).astype(float)

    def summary(self) -> dict:
        """Small JSON-ready summary (what the API and the page headline show)."""
        summary = {
            "id": self.id,
            "length": self.length,
            "chains": {letter: len(c) for letter, c in zip(self.chain_letters, self.chains)},
            "mean_plddt": round(self.mean_plddt, 2),
            "ptm": None if self.ptm is None else round(self.ptm, 4),
            "iptm": None if self.iptm is None else round(self.iptm, 4),
            "chain_ptm": {chain: round(value, 4) for chain, value in self.chain_ptm.items()},
            "seconds": round(self.seconds, 3),
            "device": self.device,
            "model": self.model,
            "chunk_size": self.chunk_size,
            "notes": list(self.notes),
        }
        if self.ss:
            helix, strand = self.ss.count("H") / len(self.ss), self.ss.count("E") / len(self.ss)
            summary["secondary_structure"] = {
                "helix": round(helix, 4),
                "strand": round(strand, 4),
                "coil": round(1 - helix - strand, 4),
            }
        if self.confidence_kind != "pLDDT":  # an experimental file: its B-factors are no pLDDT
            summary["mean_plddt"] = None
            summary["mean_b_factor"] = round(self.mean_plddt, 2)
            summary["confidence"] = self.confidence_kind
        return summary

    def scores(self) -> dict:
        """Full confidence scores for download: pLDDT (or B-factors), PAE, pTM, ipTM, per-chain pTM."""
        per_residue = [round(float(x), 2) for x in self.plddt]
        key = "plddt" if self.confidence_kind == "pLDDT" else "b_factor"
        return {
            **self.summary(),
            "sequence": ":".join(self.chains),
            key: per_residue,
            "pae": None if self.pae is None else [[round(float(x), 2) for x in row] for row in self.pae],
            "ss": self.ss,
            "rsa": None if self.rsa is None else [None if x != x else round(float(x), 3) for x in self.rsa],
        }
