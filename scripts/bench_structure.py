"""Time what /inspect computes on a ~1,000-residue structure: read, DSSP, RSA.

The structure is built from real entries (3ENL, 3MHT, 1AKE: 977 residues) placed 150 Å apart and
joined into one chain, renumbered, written as one PDB file (the chain breaks between them are
reported like any gap). Prints seconds per step, best of --repeat, after one warm-up (the app
has its libraries imported and biotite's radius table loaded by then), plus alternatives side by side.

    python scripts/bench_structure.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENTRIES = ("pdb3enl", "pdb3mht", "pdb1ake")


def thousand_residue_pdb() -> str:
    import gemmi

    out = gemmi.Structure()
    model = gemmi.Model("1")
    joined = gemmi.Chain("A")
    number = 0
    for k, entry in enumerate(ENTRIES):
        st = gemmi.read_structure(str(ROOT / "tests" / "fixtures" / f"{entry}.pdb"))
        st.setup_entities()
        st.remove_alternative_conformations()
        peptide = gemmi.PolymerType.PeptideL
        protein = next(ch for ch in st[0] if ch.get_polymer().check_polymer_type() == peptide)
        for residue in protein.get_polymer():
            number += 1
            residue.seqid = gemmi.SeqId(number, " ")
            for atom in residue:
                atom.pos = gemmi.Position(atom.pos.x + 150.0 * k, atom.pos.y, atom.pos.z)
            joined.add_residue(residue)
    model.add_chain(joined)
    out.add_model(model)
    out.setup_entities()
    return out.make_pdb_string()


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    start = time.perf_counter()
    import biotite.structure  # noqa: F401
    import pydssp  # noqa: F401 - imports torch, as the app has already done

    from models.structure.reading import read_structure, to_structure
    from models.structure.secondary import relative_accessibility, secondary_structure

    print(f"imports (once per process, torch included): {time.perf_counter() - start:.2f} s")
    data = thousand_residue_pdb().encode()
    structure = to_structure(read_structure(data, "bench.pdb"))
    start = time.perf_counter()
    relative_accessibility(structure)  # warm-up: biotite loads its radius table once
    secondary_structure(structure)
    print(f"first call (biotite radius table, once per process): {time.perf_counter() - start:.2f} s")
    atoms = int(structure.atom37_mask.sum())
    print(f"structure: {structure.length} residues, {atoms} heavy atoms, one chain")

    t_read, opened = best(lambda: read_structure(data, "bench.pdb"), args.repeat)
    t_struct, structure = best(lambda: to_structure(opened), args.repeat)
    t_dssp, _ = best(lambda: secondary_structure(structure), args.repeat)
    t_rsa, _ = best(lambda: relative_accessibility(structure), args.repeat)
    total = t_read + t_struct + t_dssp + t_rsa
    print(f"read_structure (gemmi)            {t_read:6.3f} s")
    print(f"to_structure (PDB text for viewer) {t_struct:6.3f} s")
    print(f"secondary_structure (pydssp)      {t_dssp:6.3f} s")
    print(f"relative_accessibility (biotite)  {t_rsa:6.3f} s")
    print(f"total                             {total:6.3f} s  (target for /inspect: < 3 s)")

    print("\nalternatives, same structure:")
    import io

    from biotite.structure.io import pdb as biotite_pdb

    t_bio, _ = best(
        lambda: biotite_pdb.PDBFile.read(io.StringIO(data.decode())).get_structure(model=1), args.repeat
    )
    print(f"biotite PDB read instead of gemmi: {t_bio:6.3f} s ({t_bio / t_read:.1f}x gemmi)")
    import numpy as np
    import pydssp as dssp
    import torch

    backbone = np.nan_to_num(structure.backbone).astype(np.float64)
    t_np, _ = best(lambda: dssp.assign(backbone, out_type="index"), args.repeat)
    t_torch, _ = best(lambda: dssp.assign(torch.from_numpy(backbone).float(), out_type="index"), args.repeat)
    print(
        f"pydssp NumPy: {t_np:6.3f} s, pydssp torch (CPU, float32): {t_torch:6.3f} s "
        f"({t_torch / t_np:.1f}x NumPy)"
    )
    import models.structure.secondary as secondary

    for points in (100, 1000):
        secondary.SASA_POINTS, kept = points, secondary.SASA_POINTS
        t_points, _ = best(lambda: relative_accessibility(structure), max(1, args.repeat // 2))
        secondary.SASA_POINTS = kept
        ratio = t_points / t_rsa
        print(f"SASA with {points:4d} points per atom: {t_points:6.3f} s ({ratio:.1f}x the 200 used)")


if __name__ == "__main__":
    main()
