"""Secondary structure (DSSP, via pydssp) and relative solvent accessibility (Shrake-Rupley, via biotite).

Both work on a `Structure`'s atom37 coordinates, so a fold and an opened file go the same way.
"""

from __future__ import annotations

import numpy as np

from models.structure.result import Structure

# Theoretical maximum accessible surface area per residue, Å² (Tien et al. 2013, PLoS ONE 8:e80635,
# "theoretical" column), the usual denominator for relative solvent accessibility.
MAX_ASA_TIEN_2013 = {
    "A": 129.0, "R": 274.0, "N": 195.0, "D": 193.0, "C": 167.0, "E": 223.0, "Q": 225.0,
    "G": 104.0, "H": 224.0, "I": 197.0, "L": 201.0, "K": 236.0, "M": 224.0, "F": 240.0,
    "P": 159.0, "S": 155.0, "T": 172.0, "W": 285.0, "Y": 263.0, "V": 174.0,
}  # fmt: skip
PROBE_RADIUS = 1.4  # Å, water (as DSSP)
SASA_POINTS = 200  # dots per atom; DSSP's own accuracy, and ~5x faster than biotite's 1,000
PEPTIDE_BOND_MAX = 2.5  # Å between C(i-1) and N(i) beyond which the chain is broken (as DSSP)
_THREE = {
    "A": "ALA", "R": "ARG", "N": "ASN", "D": "ASP", "C": "CYS", "E": "GLU", "Q": "GLN", "G": "GLY",
    "H": "HIS", "I": "ILE", "L": "LEU", "K": "LYS", "M": "MET", "F": "PHE", "P": "PRO", "S": "SER",
    "T": "THR", "W": "TRP", "Y": "TYR", "V": "VAL",
}  # fmt: skip


class SecondaryStructureUnavailable(ValueError):
    """The structure carries no atom coordinates to compute from."""


def _atoms(structure: Structure) -> tuple[np.ndarray, np.ndarray]:
    if structure.atom37 is None or structure.atom37_mask is None:
        raise SecondaryStructureUnavailable(
            f"{structure.id} has no atom coordinates; fold it again (it came from an older result cache)."
        )
    return np.asarray(structure.atom37, dtype=np.float32), np.asarray(structure.atom37_mask, dtype=bool)


def _chain_starts(structure: Structure) -> np.ndarray:
    starts = np.zeros(structure.length, dtype=bool)
    offset = 0
    for chain in structure.chains:
        starts[offset] = True
        offset += len(chain)
    return starts


def secondary_structure(structure: Structure) -> tuple[str, str | None]:
    """DSSP per residue: 3-state (H helix incl. 3-10 and π, E strand incl. bridge, C other), and
    8-state where the implementation gives it (pydssp does not: None)."""
    import pydssp  # imports torch; only needed here

    backbone = structure.backbone
    if backbone is None:
        _atoms(structure)  # raises with the reason
    length = backbone.shape[0]
    if length < 3:
        return "C" * length, None
    residues = "".join(structure.chains)
    # No amide hydrogen to donate: proline, a chain start, a chain break, or a missing N.
    broken = _chain_starts(structure)
    gap = np.linalg.norm(backbone[1:, 0] - backbone[:-1, 2], axis=-1)
    broken[1:] |= ~(gap <= PEPTIDE_BOND_MAX)  # NaN (missing atom) counts as broken
    donor = np.array([aa != "P" for aa in residues]) & ~broken & ~np.isnan(backbone).any(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        index = pydssp.assign(backbone.astype(np.float64), donor_mask=donor, out_type="index")
    ss3 = "".join("CHE"[i] for i in np.asarray(index))
    return ss3, None


def relative_accessibility(structure: Structure) -> np.ndarray:
    """Relative solvent accessibility per residue: SASA of its heavy atoms (all chains of the
    structure present, probe 1.4 Å) / MAX_ASA_TIEN_2013. NaN for residues with no table entry (X)."""
    import biotite.structure as bs
    from biotite.structure.info import vdw_radius_protor, vdw_radius_single

    from models.structure.reading import ATOM37

    atom37, mask = _atoms(structure)
    residues = "".join(structure.chains)
    res_index, atom_index = np.nonzero(mask)
    names = np.array(ATOM37)[atom_index]
    res_names = np.array([_THREE.get(aa, "UNK") for aa in residues])[res_index]
    array = bs.AtomArray(len(res_index))
    array.coord = atom37[res_index, atom_index]
    array.res_id = res_index + 1
    array.res_name = res_names
    array.atom_name = names
    array.element = np.array([n[0] for n in names])
    array.chain_id = np.array(structure.chain_ids)[res_index]
    radii = np.empty(len(res_index), dtype=np.float32)
    cache: dict[tuple[str, str], float] = {}
    for i, key in enumerate(zip(res_names, names)):
        if key not in cache:
            cache[key] = vdw_radius_protor(*key) or vdw_radius_single(key[1][0])
        radii[i] = cache[key]
    atom_sasa = bs.sasa(array, probe_radius=PROBE_RADIUS, point_number=SASA_POINTS, vdw_radii=radii)
    per_residue = np.bincount(res_index, weights=np.nan_to_num(atom_sasa), minlength=len(residues))
    max_asa = np.array([MAX_ASA_TIEN_2013.get(aa, np.nan) for aa in residues])
    return (per_residue / max_asa).astype(np.float32)


def load_radius_table() -> None:
    """Load biotite's ProtOr radii (it reads its chemical-component table once, ~1-2 s): call at
    start-up so that the first structure opened answers as fast as the next."""
    from biotite.structure.info import vdw_radius_protor

    vdw_radius_protor("ALA", "CA")


def ss_fractions(ss3: str) -> dict[str, float]:
    """Fraction of residues in helix (H), strand (E) and coil (everything else)."""
    n = len(ss3)
    if not n:
        return {"helix": 0.0, "strand": 0.0, "coil": 1.0}
    helix, strand = ss3.count("H"), ss3.count("E")
    return {
        "helix": round(helix / n, 4),
        "strand": round(strand / n, 4),
        "coil": round((n - helix - strand) / n, 4),
    }


def rsa_json(rsa: np.ndarray) -> list[float | None]:
    """RSA for JSON: rounded, null where unknown."""
    return [None if not np.isfinite(x) else round(float(x), 3) for x in rsa]
