"""Real training data, installed from PyPI: SCL2205 (p-scldata) and SUMOylation sites (esm-sumo).

    pip install --no-deps p-scldata==2025.6.0 esm-sumo==0.1.0

esm-sumo is read as data files only (its code would pull scikit-learn/matplotlib).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

SCL_PACKAGE = "p-scldata==2025.6.0"
SUMO_PACKAGE = "esm-sumo==0.1.0"
SUMO_VARIANT = "128-mer Dataset"
SUMO_CENTRE = 64  # 0-based index of the lysine in each 129-residue window


def scl_split(name: str):
    """DataFrame (index UniProt accession; columns seq, scl) for 'train' | 'eval' | 'heldout'."""
    from scldata import loader

    return loader.load(name)


def scl_classes() -> list[str]:
    """The 13 SCL2205 class names, verbatim, in the package's own index order."""
    from scldata import loader

    labels = loader.labels["index_to_label"]
    return [labels[k] for k in sorted(labels, key=int)]


@dataclass(frozen=True)
class SiteWindow:
    name: str  # e.g. SLX4_HUMAN_359: UniProt entry name and lysine position
    window: str  # 129 residues, lysine at SUMO_CENTRE, 'X' beyond the protein ends
    label: int  # 1 = SUMOylated

    @property
    def protein(self) -> str:
        """The protein a window belongs to (its entry name)."""
        return self.name.split("|")[0].rsplit("_", 1)[0]


def _sumo_dir(variant: str = SUMO_VARIANT) -> Path:
    spec = importlib.util.find_spec("esm_sumo")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"esm-sumo is not installed: pip install --no-deps {SUMO_PACKAGE}")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "datasets" / variant


def _read_fasta(path: Path) -> list[tuple[str, str]]:
    records, name, seq = [], None, []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            if name is not None:
                records.append((name, "".join(seq)))
            name, seq = line[1:].split()[0], []
        elif line.strip():
            seq.append(line.strip())
    if name is not None:
        records.append((name, "".join(seq)))
    return records


def sumo_split(name: str, variant: str = SUMO_VARIANT) -> list[SiteWindow]:
    """'Train' | 'Test' | 'Hard_Test' windows, positives first."""
    out = []
    for label, tag in ((1, "pos"), (0, "neg")):
        for rec_name, window in _read_fasta(_sumo_dir(variant) / f"Sumoylation_{tag}_{name}.fasta"):
            out.append(SiteWindow(rec_name, window.upper(), label))
    return out
