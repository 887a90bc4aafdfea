"""Small structure databases in ProMod3's layout, built from the test fixtures (CI never downloads
the 371 MB package)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from models.structure.reading import ATOM37, read_structure
from training.secondary_checks import pydssp_three_state
from training.structure_db import Chain

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BACKBONE_ATOMS = ("N", "CA", "C", "O")
LETTERS = "ACDEFGHIKLMNPQRSTVWY"


def fixture_chain(entry: str, pdb_id: str | None = None, dssp: str | None = None) -> Chain:
    """The fixture's first chain as a database chain: its backbone, DSSP three-state from pydssp
    (as letters H/E/C) unless given, accessibility 0..n."""
    chain = read_structure(FIXTURES / f"{entry}.pdb").chain()
    index = [ATOM37.index(a) for a in BACKBONE_ATOMS]
    backbone = chain.atom37[:, index].astype(np.float32)
    return Chain(
        pdb_id=pdb_id or entry.removeprefix("pdb").upper(),
        chain=chain.id,
        sequence=chain.sequence,
        dssp=dssp or pydssp_three_state(backbone),
        accessibility=np.arange(chain.length, dtype=np.float32) % 200,
        backbone=backbone,
    )


def unreserved_ids(n: int, start: int = 0) -> list[str]:
    """PDB-like ids whose SHA-1 does not start with 0 (so the split may use them)."""
    out, k = [], start
    while len(out) < n:
        pdb_id = f"9{k:03d}"
        if hashlib.sha1(pdb_id.lower().encode()).hexdigest()[0] != "0":
            out.append(pdb_id)
        k += 1
    return out


def reserved_id() -> str:
    k = 0
    while hashlib.sha1(f"8{k:03d}".lower().encode()).hexdigest()[0] != "0":
        k += 1
    return f"8{k:03d}"


def random_chains(n: int, seed: int = 0, template: str = "pdb1ake") -> list[Chain]:
    """`n` chains of unrelated random sequences (each its own 25% cluster), 40-90 residues, on
    stretches of a real backbone (so DSSP and geometry agree), their DSSP from pydssp."""
    rng = np.random.default_rng(seed)
    base = fixture_chain(template)
    out = []
    for pdb_id in unreserved_ids(n):
        length = int(rng.integers(40, 90))
        start = int(rng.integers(0, len(base.sequence) - length))
        backbone = base.backbone[start : start + length]
        out.append(
            Chain(
                pdb_id=pdb_id,
                chain="A",
                sequence="".join(rng.choice(list(LETTERS), length)),
                dssp=pydssp_three_state(backbone),
                accessibility=rng.uniform(0, 150, length).astype(np.float32).round(),
                backbone=backbone,
            )
        )
    return out
