"""The PTM site tables of `python -m training ptm-sites`, on small files made with the same tools
(`makeblastdb` for a BLAST database, a ptm-pose-shaped CSV): CI never downloads the data."""

from __future__ import annotations

import csv
import gzip
import hashlib
import shutil
import subprocess

import pytest

from training.ptm_data import (
    MIN_POSITIVE_WITHOUT_PSP,
    TYPES,
    SiteRecord,
    build_type_table,
    cluster,
    read_blast_sequences,
    read_ptm_sites,
    reserved,
    site_matches,
    uses_phosphositeplus,
)
from training.site_data import SiteDataError, read_sites

UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
PHOSPHO_ST = next(t for t in TYPES if t.name == "Phosphorylation (S/T)")
UBIQUITINATION = next(t for t in TYPES if t.name == "Ubiquitination")


def _flank(sequence: str, position: int) -> str:
    left = sequence[max(0, position - 11) : position - 1].rjust(10)
    right = sequence[position : position + 10].ljust(10)
    return left + sequence[position - 1].lower() + right


@pytest.mark.skipif(shutil.which("makeblastdb") is None, reason="Debian's ncbi-blast+ is not installed")
def test_sequences_come_from_a_blast_database_by_accession(tmp_path):
    fasta = tmp_path / "db.fasta"
    fasta.write_text(
        f">P0CG48|GO:0005737,GO:0005634\n{UBIQUITIN}\n>not_an_accession|GO:1\nMKV\n>Q9Y6K9|GO:1\nMSTK\n"
    )
    subprocess.run(["makeblastdb", "-in", fasta, "-dbtype", "prot", "-out", tmp_path / "db"],
                   check=True, capture_output=True)  # fmt: skip
    sequences = read_blast_sequences([tmp_path / "db"])
    assert sequences == {"P0CG48": UBIQUITIN, "Q9Y6K9": "MSTK"}  # the malformed title is skipped


def test_a_site_is_kept_only_where_residue_and_flank_match():
    site = SiteRecord("P0CG48", 6, "K", "Ubiquitination", "Ubiquitination", frozenset({"UniProt"}))
    assert site_matches(UBIQUITIN, site, _flank(UBIQUITIN, 6))  # near the start: space-padded
    assert not site_matches(UBIQUITIN, site, _flank(UBIQUITIN, 6).replace("q", "A").replace("Q", "A"))
    assert not site_matches(UBIQUITIN, SiteRecord("P0CG48", 7, "K", "", "", frozenset()), "")  # T at 7
    end = SiteRecord("P0CG48", 76, "G", "x", "x", frozenset())
    assert site_matches(UBIQUITIN, end, _flank(UBIQUITIN, 76))  # at the end, padded on the right
    assert not site_matches(UBIQUITIN, SiteRecord("P0CG48", 77, "G", "", "", frozenset()), "")


def test_ptm_pose_rows_are_read_from_the_canonical_isoform_only(tmp_path):
    path = tmp_path / "ptm_coordinates.csv.gz"
    columns = ["UniProtKB Accession", "Isoform Type", "Residue", "PTM Position in Isoform", "Modification",
               "Modification Class", "Canonical Flanking Sequence", "Compendia"]  # fmt: skip
    with gzip.open(path, "wt", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerow(["P0CG48", "Canonical", "K", "48", "Ubiquitination", "Ubiquitination",
                         _flank(UBIQUITIN, 48), "PhosphoSitePlus;UniProt"])  # fmt: skip
        writer.writerow(["P0CG48", "Alternative", "K", "6", "Ubiquitination", "Ubiquitination", "", "dbPTM"])
    sites, flanks = read_ptm_sites(path)
    assert sites == [SiteRecord("P0CG48", 48, "K", "Ubiquitination", "Ubiquitination",
                                frozenset({"PhosphoSitePlus", "UniProt"}))]  # fmt: skip
    assert site_matches(UBIQUITIN, sites[0], flanks["P0CG48", 48])


def _phospho(accession, position, sources, residue="S"):
    return SiteRecord(accession, position, residue, "Phosphorylation", "Phosphoserine", frozenset(sources))


def test_positives_negatives_and_the_phosphositeplus_rule():
    sequence = "MSSSKTSSKY"  # S at 2, 3, 4, 7, 8; T at 6
    sites = [
        _phospho("P1", 2, {"UniProt"}),
        _phospho("P1", 3, {"PhosphoSitePlus"}),  # only PSP: neither positive nor negative
        _phospho("P1", 7, {"PhosphoSitePlus", "dbPTM"}),  # another source too: positive
    ]
    # Enough sites without PhosphoSitePlus elsewhere: PSP rows are left out for this type.
    many = [_phospho(f"Q{i}", 2, {"UniProt"}) for i in range(MIN_POSITIVE_WITHOUT_PSP)]
    assert not uses_phosphositeplus(PHOSPHO_ST, sites + many)
    groups = {"P1": "P1"}
    table = build_type_table(PHOSPHO_ST, sites + many, {"P1": sequence}, groups, set(), max_proteins=10)
    assert not table.uses_psp
    labels = {position: label for _, _, position, label, _ in table.rows}
    assert labels == {2: 1, 7: 1, 4: 0, 6: 0, 8: 0}  # 3 is annotated (PSP only): not a negative
    assert {row[4] for row in table.rows} == {"P1"}
    # With too few sites elsewhere, PhosphoSitePlus is used and the table says so.
    table = build_type_table(PHOSPHO_ST, sites, {"P1": sequence}, groups, set(), max_proteins=10)
    assert table.uses_psp and {p for _, _, p, label, _ in table.rows if label} == {2, 3, 7}


def test_reserved_proteins_and_their_clusters_are_never_used():
    reserved_accession = next(f"A{i:05d}" for i in range(10**5) if reserved(f"A{i:05d}"))
    assert hashlib.sha1(reserved_accession.encode()).hexdigest()[0] == "0"
    other = next(f"A{i:05d}" for i in range(10**5) if not reserved(f"A{i:05d}"))
    sites = [
        SiteRecord(a, 6, "K", "Ubiquitination", "Ubiquitination", frozenset({"UniProt"}))
        for a in (reserved_accession, other)
    ]
    groups = {reserved_accession: "c1", other: "c1"}  # one cluster
    sequences = dict.fromkeys(groups, UBIQUITIN)
    table = build_type_table(UBIQUITINATION, sites, sequences, groups, {"c1"}, max_proteins=10)
    assert table.rows == []


@pytest.mark.skipif(shutil.which("mmseqs") is None, reason="Debian's mmseqs2 is not installed")
def test_homologues_share_a_cluster_and_the_site_csv_splits_by_it(tmp_path):
    homologue = UBIQUITIN[:40] + "A" + UBIQUITIN[41:]
    unrelated = "MSTNPKPQRKTKRNTNRRPQDVKFPGGGQIVGGVYLLPRRGPRLGVRATRKTSERSQPRGRRQPIPKARRPEGRTWAQPGYPWPLYGNEGCG"
    groups = cluster({"P1": UBIQUITIN, "P2": homologue, "P3": unrelated}, tmp_path)
    assert groups["P1"] == groups["P2"] != groups["P3"]

    sites = [SiteRecord(a, p, "K", "Ubiquitination", "Ubiquitination", frozenset({"UniProt"}))
             for a in ("P1", "P2") for p in (6, 11, 27, 29, 33)]  # fmt: skip
    sequences = {"P1": UBIQUITIN, "P2": homologue}
    table = build_type_table(UBIQUITINATION, sites, sequences, groups, set(), max_proteins=10)
    assert {(row[0], row[4]) for row in table.rows} == {("P1", groups["P1"]), ("P2", groups["P1"])}


def test_a_site_csv_with_a_group_column_keeps_one_group_per_protein(tmp_path):
    rows = [[f"P{i}", UBIQUITIN, p, int(p in (6, 48)), f"c{i // 2}"] for i in range(10) for p in (6, 11, 48)]
    path = tmp_path / "sites.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([["id", "sequence", "position", "label", "group"], *rows])
    table = read_sites(path, "K", min_per_class=1)
    assert table.groups == {f"P{i}": f"c{i // 2}" for i in range(10)}
    rows[1][4] = "elsewhere"  # P0's second site names another group
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([["id", "sequence", "position", "label", "group"], *rows])
    with pytest.raises(SiteDataError, match="line 3: id 'P0' is in group 'elsewhere' here and 'c0' before"):
        read_sites(path, "K", min_per_class=1)
