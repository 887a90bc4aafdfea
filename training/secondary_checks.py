"""Checks that the structure-database reader reads what the file holds (figures go in the card).

- Consecutive Cα–Cα distances: 3.80 Å for a trans peptide; a wrong stride, unit or shift breaks it.
- pydssp on the parsed backbones against the stored DSSP letters (three-state): the coordinates
  and the labels must belong to the same residues.
- Stored accessibility against biotite's on any test fixture entry the database holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.structure_db import StructureDB

EIGHT = "HGIEBTSC"
# The usual reduction (ProtTrans, NetSurfP): helices H G I -> H, strands E B -> E, the rest -> C.
TO_THREE = {"H": "H", "G": "H", "I": "H", "E": "E", "B": "E"}
# pydssp assigns only α-helix (H) and strand (E); compared on its own terms too.
TO_PYDSSP = {"H": "H", "E": "E"}


def three_state(dssp: str, mapping: dict[str, str] = TO_THREE) -> str:
    return "".join(mapping.get(letter, "C") for letter in dssp)


def pydssp_three_state(backbone: np.ndarray) -> str:
    import pydssp

    with np.errstate(invalid="ignore", divide="ignore"):
        index = pydssp.assign(backbone.astype(np.float64), out_type="index")
    return "".join("CHE"[i] for i in np.asarray(index))


def ca_ca_median(db: StructureDB, chains: list[int]) -> float:
    gaps = [np.linalg.norm(np.diff(db[i].backbone[:, 1], axis=0), axis=1) for i in chains]
    return float(np.median(np.concatenate(gaps)))


def pydssp_agreement(db: StructureDB, chains: list[int]) -> dict:
    """Fraction of residues where pydssp on the parsed backbone agrees with the stored DSSP."""
    same_usual = same_own = total = 0
    for i in chains:
        chain = db[i]
        predicted = np.frombuffer(pydssp_three_state(chain.backbone).encode(), np.uint8)
        usual = np.frombuffer(three_state(chain.dssp).encode(), np.uint8)
        own = np.frombuffer(three_state(chain.dssp, TO_PYDSSP).encode(), np.uint8)
        same_usual += int((predicted == usual).sum())
        same_own += int((predicted == own).sum())
        total += len(chain.sequence)
    return {
        "chains": len(chains),
        "residues": total,
        "three_state_usual_mapping": round(same_usual / total, 4),
        "three_state_pydssp_classes": round(same_own / total, 4),
    }


def accessibility_vs_biotite(db: StructureDB, fixtures: Path) -> dict:
    """Pearson r of stored accessibility and biotite's SASA (the app's RSA × Tien's maximum) for
    each fixture chain: against the same PDB chain where the database holds it, else against a
    database chain of the same sequence (another crystal of the same protein, so conformations
    may differ a little; the r says whether the stored numbers are per-residue Å² of that sequence)."""
    from models.structure.reading import read_structure, to_structure
    from models.structure.secondary import MAX_ASA_TIEN_2013, relative_accessibility

    where = {(pid.upper(), ch): i for i, (pid, ch) in enumerate(zip(db.ids, db.chains))}
    sequences = [db.sequence(i) for i in range(len(db))]
    found = {}
    for path in sorted(fixtures.glob("*.pdb")):
        pdb_id = path.stem.removeprefix("pdb").upper()
        opened = read_structure(path)
        for chain in opened.chains:
            i = where.get((pdb_id, chain.id))
            kind = "same PDB chain"
            if i is None or sequences[i] not in chain.sequence:
                same = [
                    j for j, s in enumerate(sequences) if len(s) >= 0.9 * chain.length and s in chain.sequence
                ]
                if not same:
                    continue
                i, kind = same[0], "same sequence"
            start = chain.sequence.index(sequences[i])
            rsa = relative_accessibility(to_structure(opened, chain.id))
            sasa = rsa * np.array([MAX_ASA_TIEN_2013[a] for a in chain.sequence])
            ours = sasa[start : start + len(sequences[i])]
            found[f"{pdb_id}_{chain.id}"] = {
                "database_chain": db.name(i),
                "match": kind,
                "residues": len(sequences[i]),
                "pearson_r": round(float(np.corrcoef(ours, db[i].accessibility)[0, 1]), 4),
            }
    return found


def run_checks(db: StructureDB, fixtures: Path, n_chains: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    chains = sorted(rng.choice(len(db), min(n_chains, len(db)), replace=False).tolist())
    return {
        "ca_ca_median_angstrom": round(ca_ca_median(db, chains), 3),
        "pydssp_vs_stored_dssp": pydssp_agreement(db, chains),
        "accessibility_vs_biotite": accessibility_vs_biotite(db, fixtures),
        "chains_drawn": f"{len(chains)} at random (seed {seed})",
    }
