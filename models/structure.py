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
    """A predicted structure: PDB text plus per-residue and pairwise confidence."""

    id: str
    chains: tuple[str, ...]
    pdb: str  # pLDDT 0-100 in the B-factor column, chains A, B, ...
    plddt: np.ndarray  # (L,) 0-100, CA atom
    pae: np.ndarray  # (L, L) Angstrom
    ptm: float  # over this protein's residues only (linkers and padding excluded)
    model: str = ""
    device: str = ""
    seconds: float = 0.0
    chunk_size: int | None = None
    notes: list[str] = field(default_factory=list)
    # Per-residue coordinates (L, 3) in Angstrom, as the fold produced them: Cα, and Cβ (Cα for
    # glycine, which has none). Contacts and views are computed from these, not from the PDB text.
    ca: np.ndarray | None = None
    cb: np.ndarray | None = None
    # Complexes: AlphaFold-Multimer's interface pTM (inter-chain pairs only; None for one chain),
    # and each chain's own pTM, by chain letter.
    iptm: float | None = None
    chain_ptm: dict[str, float] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return sum(len(c) for c in self.chains)

    @property
    def mean_plddt(self) -> float:
        return float(np.mean(self.plddt))

    @property
    def chain_ids(self) -> list[str]:
        """Chain letter of every residue, in order."""
        return [string.ascii_uppercase[i] for i, c in enumerate(self.chains) for _ in c]

    @property
    def residue_numbers(self) -> list[int]:
        """1-based residue number within its chain, as written in the PDB."""
        return [n for c in self.chains for n in range(1, len(c) + 1)]

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
        return {
            "id": self.id,
            "length": self.length,
            "chains": {string.ascii_uppercase[i]: len(c) for i, c in enumerate(self.chains)},
            "mean_plddt": round(self.mean_plddt, 2),
            "ptm": round(self.ptm, 4),
            "iptm": None if self.iptm is None else round(self.iptm, 4),
            "chain_ptm": {chain: round(value, 4) for chain, value in self.chain_ptm.items()},
            "seconds": round(self.seconds, 3),
            "device": self.device,
            "model": self.model,
            "chunk_size": self.chunk_size,
            "notes": list(self.notes),
        }

    def scores(self) -> dict:
        """Full confidence scores for download: pLDDT, PAE, pTM (ipTM and per-chain pTM)."""
        return {
            **self.summary(),
            "sequence": ":".join(self.chains),
            "plddt": [round(float(x), 2) for x in self.plddt],
            "pae": [[round(float(x), 2) for x in row] for row in self.pae],
        }
