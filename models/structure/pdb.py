"""Minimal PDB reading: the residues, their CA B-factors and the coordinate lines.

Pure Python (no torch) because the viewer in components/ needs it too.
"""

from __future__ import annotations

from dataclasses import dataclass

_COORDINATE_RECORDS = ("ATOM  ", "HETATM", "MODEL ", "ENDMDL", "TER", "END")


@dataclass(frozen=True)
class Residue:
    chain: str
    number: int
    insertion: str
    name: str
    b_factor: float  # of the CA atom


def ca_residues(pdb_text: str) -> list[Residue]:
    """One entry per residue with a CA atom, first model and first alternate location only."""
    residues: list[Residue] = []
    seen: set[tuple[str, int, str]] = set()
    for line in pdb_text.splitlines():
        if line.startswith("ENDMDL"):
            break
        if not line.startswith("ATOM  ") or line[12:16].strip() != "CA":
            continue
        key = (line[21], int(line[22:26]), line[26].strip())
        if key in seen:  # alternate location of a CA already read
            continue
        seen.add(key)
        residues.append(Residue(key[0], key[1], key[2], line[17:20].strip(), float(line[60:66])))
    return residues


THREE_LETTER = dict(
    zip(
        "ALA ARG ASN ASP CYS GLN GLU GLY HIS ILE LEU LYS MET PHE PRO SER THR TRP TYR VAL".split(),
        "ARNDCQEGHILKMFPSTWYV",
    )
)


def chain_sequence(pdb_text: str) -> str:
    """One letter per residue with a CA atom (as `ca_residues` reads them); X for a residue
    name outside the 20 standard amino acids."""
    return "".join(THREE_LETTER.get(r.name, "X") for r in ca_residues(pdb_text))


def coordinate_lines(pdb_text: str) -> str:
    """Only the records a viewer needs (no free-text headers, no waters), for embedding in HTML."""
    keep = [
        ln
        for ln in pdb_text.splitlines()
        if ln.startswith(_COORDINATE_RECORDS) and ln[17:20] != "HOH"  # waters only clutter a view
    ]
    return "\n".join(keep) + "\n"


def cb_coordinates(pdb_text: str) -> list[tuple[float, float, float]]:
    """Cβ position of every residue (Cα for glycine), in residue order, first model only."""
    coords: dict[tuple[str, int, str], tuple[float, float, float]] = {}
    order: list[tuple[str, int, str]] = []
    for line in pdb_text.splitlines():
        if line.startswith("ENDMDL"):
            break
        if not line.startswith("ATOM  "):
            continue
        key = (line[21], int(line[22:26]), line[26].strip())
        name = line[12:16].strip()
        if key not in order and name == "CA":
            order.append(key)
        if name == "CB" or (name == "CA" and line[17:20] == "GLY"):
            coords.setdefault(key, (float(line[30:38]), float(line[38:46]), float(line[46:54])))
    return [coords[k] for k in order if k in coords]
