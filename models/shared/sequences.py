"""Protein sequence input: raw text or FASTA in, validated `Protein` records out.

Every entry point (app tabs, API, CLI) parses through here, so every user sees the same rules
and the same messages. Pure Python: importing this module must never pull in torch.
"""

from __future__ import annotations

import hashlib
import string
import unicodedata
from dataclasses import dataclass

STANDARD_AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
# IUPAC letters that name a residue but not one of the 20 ESMFold can build atoms for.
# Value: how to make the residue foldable, shown to the user.
NON_STANDARD_AMINO_ACIDS = {
    "B": "B (D or N) -> D or N",
    "Z": "Z (E or Q) -> E or Q",
    "J": "J (L or I) -> L or I",
    "U": "U (selenocysteine) -> C",
    "O": "O (pyrrolysine) -> K",
    "X": "X (unknown) -> a known residue, or delete it",
}
ACCEPTED_LETTERS = frozenset(STANDARD_AMINO_ACIDS + "".join(NON_STANDARD_AMINO_ACIDS))
CHAIN_SEPARATOR = ":"
MAX_CHAINS = 26  # PDB chain ids A..Z
DEFAULT_MAX_INPUT_CHARS = 2_000_000
DEFAULT_MAX_RECORDS = 10_000
_MAX_LISTED = 5  # how many offending characters a message names before summarising


class SequenceError(ValueError):
    """Input that is not a usable protein sequence; the message is meant for the user."""


CHAIN_LETTERS = string.ascii_uppercase  # chain names in the folded PDB, in order


@dataclass(frozen=True)
class Protein:
    """One input record: an id (first word of the header) and one or more chains."""

    id: str
    chains: tuple[str, ...]
    description: str = ""

    @property
    def sequence(self) -> str:
        """Chains joined by ':' (the notation users type for complexes)."""
        return CHAIN_SEPARATOR.join(self.chains)

    @property
    def length(self) -> int:
        return sum(len(c) for c in self.chains)

    @property
    def residues(self) -> str:
        """All chains concatenated, without separators."""
        return "".join(self.chains)

    def per_chain(self) -> list[tuple[str, Protein]]:
        """(chain letter, that chain as a one-chain protein) for each chain: A, B, … as in the
        folded PDB. A one-chain protein is itself, under letter A. Sequence-based predictors
        (PTM, localization, contacts) see each chain of a complex as the protein it is."""
        if len(self.chains) == 1:
            return [("A", self)]
        return [
            (letter, Protein(f"{self.id}_{letter}", (chain,), self.description))
            for letter, chain in zip(CHAIN_LETTERS, self.chains)
        ]


def describe_chains(chains: tuple[str, ...]) -> str:
    """ "A (21 aa), B (30 aa)": a complex's chains as messages name them."""
    return ", ".join(f"{c} ({len(s)} aa)" for c, s in zip(CHAIN_LETTERS, chains))


def _describe_char(ch: str) -> str:
    if ch.isprintable() and not ch.isspace():
        return f"'{ch}'"
    name = unicodedata.name(ch, "control character")
    return f"U+{ord(ch):04X} ({name.lower()})"


def _list_items(items: list[str], total: int | None = None) -> str:
    total = len(items) if total is None else total
    shown = ", ".join(items[:_MAX_LISTED])
    if total > _MAX_LISTED:
        shown += f" and {total - _MAX_LISTED:,} more"
    return shown


@dataclass(frozen=True)
class RecordError:
    """A record of a multi-record input that could not be parsed; the others still can."""

    id: str
    index: int  # 1-based record number in the input
    message: str


@dataclass
class _RecordBuilder:
    header: str | None
    header_line: int
    index: int
    chains: list[list[str]]
    bad: list[str]  # the first few offending characters, described
    separators: list[tuple[int, int, int]]  # (residue position, line, column) of each ':'
    stop_at: tuple[int, int, int] | None = None  # (residue position, line, column) of a '*' seen so far
    bad_total: int = 0
    # Sequence characters read so far (residue letters and offending characters alike; not
    # whitespace, digits or ':'), so each offending character is numbered by its own position.
    characters: int = 0

    def flag(self, description: str) -> None:
        # Keep only what a message shows, so a 2 MB binary paste costs no memory.
        self.bad_total += 1
        if len(self.bad) < _MAX_LISTED:
            self.bad.append(description)

    @property
    def id(self) -> str:
        words = (self.header or "").split()
        return words[0] if words else f"sequence_{self.index}"

    @property
    def n_residues(self) -> int:
        return sum(len(c) for c in self.chains)


def _build_record(rec: _RecordBuilder, multi: bool) -> Protein:
    where = f"Record '{rec.id}': " if multi or rec.header else ""
    if rec.bad:
        raise SequenceError(
            f"{where}not an amino-acid sequence: {_list_items(rec.bad, rec.bad_total)}. "
            f"Allowed: the 20 amino-acid letters {STANDARD_AMINO_ACIDS} (any case), "
            "B, Z, J, U, O, X, ':' between chains, and a final '*'."
        )
    if rec.n_residues == 0:
        if rec.header is not None:
            raise SequenceError(f"{where}the header on line {rec.header_line} has no sequence under it.")
        raise SequenceError("No sequence found: paste a protein sequence or FASTA text.")
    for (pos, line, col), left, right in zip(rec.separators, rec.chains, rec.chains[1:]):
        if not left or not right:
            raise SequenceError(
                f"{where}empty chain at residue {pos} (':' on line {line}, column {col}); "
                "':' must separate two non-empty chains, e.g. MKV...:GSH..."
            )
    if len(rec.chains) > MAX_CHAINS:
        raise SequenceError(
            f"{where}{len(rec.chains)} chains; at most {MAX_CHAINS} (PDB chain ids A-Z) are supported."
        )
    chains = tuple("".join(c) for c in rec.chains)
    named = bool((rec.header or "").split())
    return Protein(
        id=rec.id if named else content_name(chains),
        chains=chains,
        description=(rec.header or "").strip(),
    )


def content_name(chains: tuple[str, ...]) -> str:
    """The name of a record without one, from what it is: `seq_MQIFVK_76aa_1a2b3c` (its first
    residues, its length, and a digest of the whole sequence), the same for the same sequence
    every time and different for two different proteins (`sequence_1` named them all alike)."""
    sequence = ":".join(chains)
    digest = hashlib.sha1(sequence.encode()).hexdigest()[:6]
    return f"seq_{chains[0][:6]}_{sum(map(len, chains))}aa_{digest}"


def parse(
    text: str | None,
    *,
    max_chars: int = DEFAULT_MAX_INPUT_CHARS,
    max_records: int = DEFAULT_MAX_RECORDS,
) -> list[Protein]:
    """Parse a raw sequence or (multi-)FASTA into proteins, or raise `SequenceError`.

    Normalised silently: header lines, ';' comment lines, whitespace, digits (line numbers),
    lowercase and one trailing '*'. Everything else that is not an amino-acid letter is an
    error naming the character, its 1-based residue position and its line and column.
    """
    records = parse_records(text, max_chars=max_chars, max_records=max_records)
    for record in records:
        if isinstance(record, RecordError):
            raise SequenceError(record.message)
    return records


def parse_records(
    text: str | None,
    *,
    max_chars: int = DEFAULT_MAX_INPUT_CHARS,
    max_records: int = DEFAULT_MAX_RECORDS,
) -> list[Protein | RecordError]:
    """Like `parse`, but a bad record becomes a `RecordError` in its place instead of failing
    the whole input (batch prediction). Input-wide problems (empty, over a limit) still raise."""
    if text is None or not text.strip():
        raise SequenceError("No sequence found: paste a protein sequence or FASTA text.")
    if len(text) > max_chars:
        raise SequenceError(
            f"Input is {len(text):,} characters; the limit is {max_chars:,}. Split it into smaller files."
        )
    records: list[_RecordBuilder] = []
    current: _RecordBuilder | None = None
    for line_no, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(">"):
            if len(records) >= max_records:
                raise SequenceError(f"More than {max_records:,} records; split the input into smaller files.")
            current = _RecordBuilder(stripped[1:], line_no, len(records) + 1, [[]], [], [])
            records.append(current)
            continue
        if stripped.startswith(";") or not stripped:
            continue
        if current is None:
            current = _RecordBuilder(None, line_no, 1, [[]], [], [])
            records.append(current)
        for col, ch in enumerate(line, start=1):
            if ch.isspace() or ch in string.digits:
                continue
            position = current.characters + 1
            if current.stop_at is not None:
                # A '*' followed by more sequence is an internal stop, not a trailing one.
                sp, sl, sc = current.stop_at
                current.flag(f"'*' at residue {sp} (line {sl}, column {sc})")
                current.stop_at = None
            if ch == CHAIN_SEPARATOR:
                current.separators.append((position, line_no, col))
                current.chains.append([])
                continue
            current.characters += 1
            if ch == "*":
                current.stop_at = (position, line_no, col)
            elif ch.upper() in ACCEPTED_LETTERS and ch.isascii():
                current.chains[-1].append(ch.upper())
            else:
                current.flag(f"{_describe_char(ch)} at residue {position} (line {line_no}, column {col})")
    if not records:  # only ';' comment lines
        raise SequenceError("No sequence found: paste a protein sequence or FASTA text.")
    multi = len(records) > 1
    out: list[Protein | RecordError] = []
    for r in records:
        try:
            out.append(_build_record(r, multi))
        except SequenceError as error:
            out.append(RecordError(r.id, r.index, str(error)))
    return out


def parse_one(text: str | None, **limits: int) -> Protein:
    """Parse input that must hold exactly one record (single-protein tabs)."""
    proteins = parse(text, **limits)
    if len(proteins) > 1:
        raise SequenceError(
            f"Found {len(proteins):,} records ({', '.join(p.id for p in proteins[:3])}"
            f"{', ...' if len(proteins) > 3 else ''}); this tab takes one protein. "
            "Keep one record, or use ':' between chains to fold a complex."
        )
    return proteins[0]


def check_foldable(protein: Protein, max_length: int) -> None:
    """Raise `SequenceError` if ESMFold cannot fold this protein faithfully within the limit.

    ESMFold silently builds no atoms for B/Z/J/U/O/X, so those are refused here with a
    suggested replacement rather than returned as a structure with holes.
    """
    odd: list[str] = []
    position = 0
    for chain_no, chain in enumerate(protein.chains):
        for offset, aa in enumerate(chain, start=1):
            if aa in NON_STANDARD_AMINO_ACIDS:
                where = f"residue {position + offset}"
                if len(protein.chains) > 1:
                    where += f" (chain {string.ascii_uppercase[chain_no]} {offset})"
                odd.append(f"'{aa}' at {where}")
        position += len(chain)
    if odd:
        letters = sorted({item[1] for item in odd})
        hints = "; ".join(NON_STANDARD_AMINO_ACIDS[a] for a in letters)
        raise SequenceError(
            f"ESMFold cannot build atoms for non-standard residues: {_list_items(odd)}. "
            f"Replace them ({hints}) and fold again."
        )
    if protein.length > max_length:
        raise SequenceError(
            f"'{protein.id}' has {protein.length:,} residues; the folding limit is "
            f"{max_length:,} (raise it with --max-fold-length or MAX_FOLD_LENGTH if your "
            "hardware has the memory)."
        )
