"""The secondary-structure split (training/secondary_data.py): clusters by mmseqs2, the fixtures'
clusters and SHA-1 '0' ids kept out of every part, no cluster across parts."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from tests.training.secondary_fixtures import fixture_chain, random_chains, reserved_id
from training.secondary_data import reserved, split_chains
from training.structure_db import StructureDB, write_structure_db

needs_mmseqs = pytest.mark.skipif(
    shutil.which("mmseqs") is None, reason="Debian's mmseqs2 is not installed (scripts/test.sh installs it)"
)


def test_reserved_is_the_sha1_rule():
    assert reserved(reserved_id()) and reserved(reserved_id().lower())
    assert not reserved("1AKE")  # sha1("1ake") starts with 'b'


@needs_mmseqs
def test_split_keeps_fixtures_and_reserved_clusters_out(tmp_path):
    chains = random_chains(24, seed=1)
    # Another entry of ubiquitin (the 1UBI fixture's sequence) and a near copy: the fixture's cluster.
    ubiquitin = fixture_chain("pdb1ubi", pdb_id="9UBQ")
    near = replace(ubiquitin, pdb_id="9UBR", sequence="A" + ubiquitin.sequence[1:])
    # A reserved id and an unreserved chain of the same sequence: both out.
    kept_out = replace(chains[0], pdb_id=reserved_id())
    partner = replace(chains[0], pdb_id="9PAR")
    db_chains = [*chains[1:], ubiquitin, near, kept_out, partner]
    db = StructureDB(write_structure_db(tmp_path / "s.dat", db_chains))
    split = split_chains(db, tmp_path / "work", seed=0, test_fraction=0.2, validation_fraction=0.1)
    used = {db.name(i) for part in (split.train, split.validation, split.test) for i in part}
    for name in ("9UBQ_A", "9UBR_A", f"{reserved_id()}_A", "9PAR_A"):
        assert name not in used
    assert used == {f"{c.pdb_id}_A" for c in chains[1:]}  # every other chain is used
    assert split.report["excluded_clusters"] == {"fixtures": 1, "reserved_sha1_0": 1, "chains": 4}
    # Whole clusters: no cluster in two parts, and the counts add up.
    parts = [{split.cluster_of[i] for i in p} for p in (split.train, split.validation, split.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert (len(split.test), len(split.validation)) == (round(0.2 * 23), round(0.1 * 23))
    # One chain per cluster, at most `limit` clusters, the same draw for the same seed.
    drawn = split.one_per_cluster(split.train, 5, seed=3)
    assert len(drawn) == 5 and drawn == split.one_per_cluster(split.train, 5, seed=3)
    assert len({split.cluster_of[i] for i in drawn}) == 5
