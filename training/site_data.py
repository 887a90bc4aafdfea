"""Site tables for `python -m training site-head`: a CSV `id,sequence,position,label` in, checked
sites out. Every problem is reported with its file and line, many at once, so a user fixes the
file in one go; `SiteDataError` carries the messages."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from models.shared.sequences import ACCEPTED_LETTERS, STANDARD_AMINO_ACIDS

COLUMNS = ("id", "sequence", "position", "label")
# Optional: a homology group per protein (e.g. an MMseqs2 cluster); validation and test then take
# whole groups, so no protein is tested beside a close homologue it was trained on.
GROUP = "group"
MIN_PER_CLASS = 20  # fewer sites of a class leave validation and test splits with almost none
MIN_PROTEINS = 10  # validation and test take whole proteins: each needs a few of them
MAX_REPORTED = 10  # problems listed before "and N more"


class SiteDataError(ValueError):
    """Unusable site data; `problems` are complete messages for the user, one per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        listed = problems[:MAX_REPORTED]
        if len(problems) > MAX_REPORTED:
            listed.append(f"and {len(problems) - MAX_REPORTED} more")
        super().__init__("\n".join(listed))


@dataclass(frozen=True)
class Site:
    protein: str  # id
    position: int  # 1-based
    label: int  # 1 = modified, 0 = unmodified candidate
    line: int  # in the CSV file


@dataclass
class SiteTable:
    path: Path
    sha256: str
    sequences: dict[str, str]  # id -> sequence, in first-seen order
    sites: list[Site]
    groups: dict[str, str] | None = None  # id -> homology group, when the file has a group column

    @property
    def n_positive(self) -> int:
        return sum(s.label for s in self.sites)


def head_stem(name: str) -> str:
    """File stem and card name of a PTM type's head: `ptm_` + its name in lower-case letters,
    digits and underscores (Phosphorylation (S/T) -> ptm_phosphorylation_s_t)."""
    words = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not words:
        raise ValueError(f"--name {name!r}: give the PTM type a name with letters or digits")
    return f"ptm_{words}"


def check_residues(residues: str) -> str:
    """The candidate residue letters, upper-case and each once; ValueError names a bad letter."""
    letters = "".join(dict.fromkeys(residues.strip().upper()))
    bad = [ch for ch in letters if ch not in STANDARD_AMINO_ACIDS]
    if not letters or bad:
        raise ValueError(
            f"--residues {residues!r}: give one-letter amino-acid codes of the candidate residues "
            f"(e.g. ST for serine and threonine){f'; {bad[0]!r} is not one' if bad else ''}"
        )
    return letters


def read_sites(path: Path, residues: str, min_per_class: int = MIN_PER_CLASS) -> SiteTable:
    """Parse and check a site CSV; raises SiteDataError listing every problem found."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise SiteDataError([f"{name}: cannot read the file ({error.strerror or error})"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SiteDataError([f"{name}: not UTF-8 text (byte {error.start}); save it as UTF-8 CSV"]) from None
    if not text.strip():
        raise SiteDataError([f"{name}: the file is empty; expected a header line {','.join(COLUMNS)}"])

    rows = csv.reader(text.splitlines())
    problems: list[str] = []
    header, header_line = None, 0
    for header in rows:
        header_line = rows.line_num
        if any(cell.strip() for cell in header):
            break
    header = [cell.strip().lower() for cell in header]
    missing = [c for c in COLUMNS if c not in header]
    extra = [c for c in header if c not in (*COLUMNS, GROUP)]
    repeated = [c for c, n in Counter(header).items() if n > 1 and c in COLUMNS]
    if missing or extra or repeated:
        parts = [f"missing column(s) {', '.join(missing)}" if missing else ""]
        parts.append(f"unexpected column(s) {', '.join(repr(c) for c in extra)}" if extra else "")
        parts.append(f"repeated column(s) {', '.join(repeated)}" if repeated else "")
        found = ",".join(header)
        raise SiteDataError(
            [
                f"{name}, line {header_line}: {'; '.join(p for p in parts if p)} "
                f"(the header is '{found}', expected '{','.join(COLUMNS)}')"
            ]
        )
    column = {c: header.index(c) for c in COLUMNS}
    group_column = header.index(GROUP) if GROUP in header else None
    groups: dict[str, str] = {}

    sequences: dict[str, str] = {}
    sequence_line: dict[str, int] = {}
    seen: dict[tuple[str, int], int] = {}
    sites: list[Site] = []
    for cells in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in cells):
            continue
        where = f"{name}, line {line}"
        if len(cells) != len(header):
            problems.append(f"{where}: {len(cells)} fields, expected {len(header)} ({','.join(header)})")
            continue
        protein, sequence, position, label = (cells[column[c]].strip() for c in COLUMNS)
        row_problems = []
        if not protein:
            row_problems.append("the id is empty")
        sequence = sequence.upper()
        bad = [(i + 1, ch) for i, ch in enumerate(sequence) if ch not in ACCEPTED_LETTERS]
        if not sequence:
            row_problems.append("the sequence is empty")
        elif bad:
            listed = ", ".join(f"{ch!r} at position {i}" for i, ch in bad[:3])
            more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
            what = "an amino-acid letter" if len(bad) == 1 else "amino-acid letters"
            row_problems.append(f"the sequence of '{protein}' has {listed}{more}: not {what}")
        elif protein in sequences and sequences[protein] != sequence:
            row_problems.append(
                f"id '{protein}' has a different sequence than on line {sequence_line[protein]} "
                "(one sequence per id: rename one of them)"
            )
        elif protein and protein not in sequences:
            sequences[protein], sequence_line[protein] = sequence, line
        try:
            pos = int(position)
        except ValueError:
            row_problems.append(f"position {position!r} is not an integer (1-based residue number)")
            pos = None
        if pos is not None and sequence and not bad:
            if not 1 <= pos <= len(sequence):
                row_problems.append(
                    f"position {pos} is outside the sequence of '{protein}' "
                    f"(length {len(sequence)}; positions are 1-based, 1..{len(sequence)})"
                )
            elif sequence[pos - 1] not in residues:
                row_problems.append(
                    f"the residue at position {pos} of '{protein}' is {sequence[pos - 1]!r}, "
                    f"not one of --residues {residues}"
                )
        if label not in ("0", "1"):
            row_problems.append(f"label {label!r} is not 0 or 1 (1 = modified site, 0 = unmodified)")
        if not row_problems and (protein, pos) in seen:
            row_problems.append(
                f"site '{protein}' position {pos} is already listed on line {seen[protein, pos]}"
            )
        if group_column is not None and not row_problems:
            group = cells[group_column].strip()
            if not group:
                row_problems.append(f"the group of '{protein}' is empty")
            elif groups.setdefault(protein, group) != group:
                row_problems.append(
                    f"id '{protein}' is in group '{group}' here and '{groups[protein]}' before "
                    "(one group per protein)"
                )
        if row_problems:
            problems.extend(f"{where}: {p}" for p in row_problems)
            continue
        seen[protein, pos] = line
        sites.append(Site(protein, pos, int(label), line))

    if not problems:
        if not sites:
            problems.append(f"{name}: no sites after the header")
        else:
            counts = Counter(s.label for s in sites)
            if len(counts) == 1:
                (only,) = counts
                problems.append(
                    f"{name}: every site has label {only}; training needs both modified (1) and "
                    f"unmodified (0) sites, at least {min_per_class} of each"
                )
            else:
                for label, meaning in ((1, "modified"), (0, "unmodified")):
                    if counts[label] < min_per_class:
                        problems.append(
                            f"{name}: only {counts[label]} sites with label {label} ({meaning}); "
                            f"at least {min_per_class} of each class are needed"
                        )
        if sites and len(sequences) < MIN_PROTEINS:
            problems.append(
                f"{name}: only {len(sequences)} protein(s); validation and test sets are whole proteins, "
                f"so at least {MIN_PROTEINS} different ids are needed"
            )
    if problems:
        raise SiteDataError(problems)
    digest = hashlib.sha256(raw).hexdigest()
    return SiteTable(Path(path), digest, sequences, sites, groups if group_column is not None else None)
