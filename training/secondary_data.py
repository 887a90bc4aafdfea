"""Chains for `python -m training secondary`: ProMod3's structure database, split like ProtTrans.

- Debian `promod3-data` (Apache-2.0; its PDB data CC0) is downloaded once with `apt-get download`,
  checked against its pinned sha256, and only `structure_db.dat` is extracted.
- Debian `mmseqs2` clusters every chain at 25% identity (80% coverage), the test fixtures' chains
  clustered with them; train, validation and test are whole clusters.
- Kept out of all three: the PDB entries in tests/fixtures with every chain of their clusters
  (the app's own test compares with them), and every chain whose PDB id's SHA-1 starts with 0,
  with their clusters (an independent check uses them; never evaluated here).
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.ptm_data import _checked, _version, cluster
from training.structure_db import StructureDB

PROMOD3 = {
    "package": "promod3-data=3.2.1+ds-6",
    "deb": "promod3-data_3.2.1+ds-6_all.deb",
    "sha256": "7d1011a2686ea92e263f3daf9940f787351ff94f19eb47646c624754d80b8f56",
    "member": "usr/share/promod3/loop_data/structure_db.dat",
    "licence": "Apache-2.0 (ProMod3); the PDB data CC0",
}
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
MIN_IDENTITY, COVERAGE = 0.25, 0.8
MIN_LENGTH, MAX_LENGTH = 30, 1000  # shorter: peptides; longer: windowed by the backbone, rare (1%)
STANDARD = set("ACDEFGHIKLMNPQRSTVWY")


def fetch_database(work: Path) -> Path:
    """structure_db.dat from the pinned Debian package (downloaded and extracted once)."""
    work.mkdir(parents=True, exist_ok=True)
    target = work / PROMOD3["member"]
    if target.exists():
        return target
    deb = work / PROMOD3["deb"]
    if not deb.exists():
        subprocess.run(["apt-get", "download", PROMOD3["package"]], cwd=work, check=True)
    _checked(deb, PROMOD3["sha256"])
    # Only the one member: the package unpacks to 879 MB, most of it the fragment database.
    extract = f"dpkg-deb --fsys-tarfile {deb.name} | tar -x ./{PROMOD3['member']}"
    subprocess.run(["bash", "-o", "pipefail", "-c", extract], cwd=work, check=True)
    return target


def reserved(pdb_id: str) -> bool:
    """Kept for an independent check: never trained, validated or tested on."""
    return hashlib.sha1(pdb_id.lower().encode()).hexdigest()[0] == "0"


def fixture_chains(folder: Path = FIXTURES) -> dict[str, str]:
    """'fixture:<file>:<chain>' -> sequence of every protein chain in the test fixtures."""
    from models.structure.reading import read_structure

    out = {}
    for path in sorted(folder.glob("*.pdb")):
        for chain in read_structure(path).chains:
            if len(chain.sequence) >= 10:
                out[f"fixture:{path.stem}:{chain.id}"] = chain.sequence
    return out


@dataclass
class Split:
    train: list[int]  # chain indices in the database
    validation: list[int]
    test: list[int]
    report: dict  # counts for the card
    cluster_of: dict[int, str]  # chain index -> its cluster's representative

    def one_per_cluster(self, chains: list[int], limit: int, seed: int) -> list[int]:
        """One chain drawn from each cluster of `chains`, at most `limit` clusters (seeded):
        as ProtTrans, no two training or test chains share 25% identity."""
        rng = np.random.default_rng(seed)
        by_cluster: dict[str, list[int]] = {}
        for i in chains:
            by_cluster.setdefault(self.cluster_of[i], []).append(i)
        names = sorted(by_cluster)
        names = [names[k] for k in rng.permutation(len(names))[:limit]]
        return sorted(int(rng.choice(by_cluster[c])) for c in names)


def usable(db: StructureDB, i: int) -> bool:
    length = db.lengths[i]
    return MIN_LENGTH <= length <= MAX_LENGTH and set(db.sequence(i)) <= STANDARD


def split_chains(
    db: StructureDB, work: Path, seed: int, test_fraction: float, validation_fraction: float,
    fixtures: dict[str, str] | None = None,
) -> Split:  # fmt: skip
    """Cluster, drop the fixtures' and reserved clusters, split the rest by cluster (seeded)."""
    fixtures = fixture_chains() if fixtures is None else fixtures
    work.mkdir(parents=True, exist_ok=True)
    sequences = {db.name(i): db.sequence(i) for i in range(len(db)) if usable(db, i)}
    representative = cluster({**sequences, **fixtures}, work, MIN_IDENTITY, COVERAGE)
    members: dict[str, list[str]] = {}
    for name in sequences:
        members.setdefault(representative[name], []).append(name)
    excluded_by = {"fixture": set(), "reserved": set()}
    for name in fixtures:
        excluded_by["fixture"].add(representative[name])
    for name in sequences:
        if reserved(name.split("_")[0]):
            excluded_by["reserved"].add(representative[name])
    excluded = excluded_by["fixture"] | excluded_by["reserved"]
    kept = sorted(c for c in members if c not in excluded)
    rng = np.random.default_rng(seed)
    order = [kept[i] for i in rng.permutation(len(kept))]
    n_test, n_validation = round(test_fraction * len(kept)), round(validation_fraction * len(kept))
    index = {db.name(i): i for i in range(len(db))}
    parts = {
        "test": order[:n_test],
        "validation": order[n_test : n_test + n_validation],
        "train": order[n_test + n_validation :],
    }
    chains = {k: sorted(index[m] for c in v for m in members[c]) for k, v in parts.items()}
    report = {
        "chains_in_database": len(db),
        "chains_usable": len(sequences),
        "usable": f"{MIN_LENGTH}-{MAX_LENGTH} residues, the 20 standard letters only",
        "clusters": len(members),
        "clustering": f"mmseqs easy-cluster --min-seq-id {MIN_IDENTITY} -c {COVERAGE}",
        "mmseqs": _version(["mmseqs", "version"]),
        "excluded_clusters": {
            # Clusters holding database chains (a fixture alone in its cluster removes nothing).
            "fixtures": len([c for c in excluded_by["fixture"] - excluded_by["reserved"] if c in members]),
            "reserved_sha1_0": len(excluded_by["reserved"]),
            "chains": sum(len(members[c]) for c in excluded if c in members),
        },
        "fixture_chains_clustered": sorted(fixtures),
        **{f"{k}_clusters": len(v) for k, v in parts.items()},
        **{f"{k}_chains": len(v) for k, v in chains.items()},
    }
    cluster_of = {index[m]: c for c in kept for m in members[c]}
    return Split(chains["train"], chains["validation"], chains["test"], report, cluster_of)
