"""Protein variants typed by users (K48R, p.Lys48Arg, K48R+E51A), checked against a wild type.

In a complex each variant names its chain as the folded PDB letters it: B:F1A, B:F1A+V2A.

The Mutations tab, the `/mutate` API and `predict.py --variants` all read variants through
here, so every user gets the same notation and the same messages. Pure Python: importing this
module must never pull in torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from models.shared.sequences import (
    CHAIN_LETTERS,
    NON_STANDARD_AMINO_ACIDS,
    STANDARD_AMINO_ACIDS,
    describe_chains,
)

AMINO_ACIDS = STANDARD_AMINO_ACIDS
MAX_VARIANTS = 200  # most variants in one request

THREE_LETTER_CODES = {
    "ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C",
    "GLN": "Q", "GLU": "E", "GLY": "G", "HIS": "H", "ILE": "I",
    "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F", "PRO": "P",
    "SER": "S", "THR": "T", "TRP": "W", "TYR": "Y", "VAL": "V",
    # Letters a wild-type sequence may hold, never a mutant.
    "SEC": "U", "PYL": "O", "ASX": "B", "GLX": "Z", "XLE": "J", "XAA": "X",
}  # fmt: skip

NOTATION_HINT = "write it as K48R, p.Lys48Arg, or K48R+E51A for several changes in one variant"
_SHOWN_CHARS = 40  # how much of an entry a message repeats
_MAX_POSITION_DIGITS = 18  # longer is junk, and str -> int refuses very long digit strings

# Order matters: "delins" must be tried before "del" and "ins".
_NOT_SUBSTITUTIONS = {
    "delins": "deletion-insertions",
    "del": "deletions",
    "ins": "insertions",
    "dup": "duplications",
    "fs": "frameshifts",
    "ext": "extensions",
    "inv": "inversions",
}
_SUBSTITUTION = re.compile(r"(?P<wt>[A-Za-z]+|\*)(?P<position>[0-9]+)(?P<rest>.*)", re.DOTALL)
_MUTANT = re.compile(r"[A-Za-z]+|=")
_NOT_SUBSTITUTION = re.compile("|".join(_NOT_SUBSTITUTIONS), re.IGNORECASE)
_NUCLEOTIDE_PREFIX = re.compile(r"[cgnmr]\.", re.IGNORECASE)
# A reference before the change, as ClinVar and gnomAD write it: NP_000537.3:p.Pro72Arg,
# ENSP00000269305.4:p.(Pro72Arg). The pasted sequence is the reference; the wild-type check
# catches a variant of another protein.
_REFERENCE = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]+(\([^()]*\))?\s*:\s*(?=[pcgnmr]\.)", re.IGNORECASE)
_PROTEIN_PREFIX = re.compile(r"p\.", re.IGNORECASE)
_GLUE = re.compile(r"\s*[+:]\s*")  # spaces around '+' or a chain's ':' do not split an entry
_CHAIN = re.compile(r"\s*(?P<chain>[A-Za-z])\s*:\s*")  # "B:" before a variant or a change
_OPENING = {"[": "]", "(": ")"}
_CLOSING = {"]", ")"}


class VariantListError(ValueError):
    """The variant list as a whole is unusable (empty, too long); the message is for the user."""


@dataclass(frozen=True)
class Substitution:
    """One residue replaced by another; position is 1-based."""

    position: int
    wild_type: str
    mutant: str

    @property
    def label(self) -> str:
        return f"{self.wild_type}{self.position}{self.mutant}"


@dataclass(frozen=True)
class Variant:
    """One entry of the list: one or more substitutions made together, sorted by position."""

    text: str
    substitutions: tuple[Substitution, ...]
    chain: str | None = None  # the chain letter in a complex; None for a one-chain protein

    @property
    def label(self) -> str:
        """Normalised one-letter form, the same however the user typed it: K48R or K48R+E51A,
        and B:F1A in a complex."""
        changes = "+".join(s.label for s in self.substitutions)
        return f"{self.chain}:{changes}" if self.chain else changes

    def apply(self, sequence: str) -> str:
        """The mutant sequence of the chain it changes; ValueError if the variant does not fit."""
        residues = list(sequence)
        for s in self.substitutions:
            if not 1 <= s.position <= len(residues) or residues[s.position - 1] != s.wild_type:
                raise ValueError(f"{self.label} does not fit this sequence at position {s.position}.")
            residues[s.position - 1] = s.mutant
        return "".join(residues)


@dataclass(frozen=True)
class VariantError:
    """An entry that is not a usable variant; the others in the list still are."""

    text: str
    message: str


def _shown(entry: str) -> str:
    return entry if len(entry) <= _SHOWN_CHARS else entry[: _SHOWN_CHARS - 1] + "…"


def _error(entry: str, problems: list[str]) -> VariantError:
    return VariantError(entry, f"{_shown(entry)}: {'; '.join(problems)}.")


def _requoted(error: VariantError, entry: str) -> VariantError:
    """The error of a part of `entry` (read past its chain or reference), quoting the whole
    entry as typed."""
    return VariantError(entry, _shown(entry) + error.message[len(_shown(error.text)) :])


def split_entries(text: str) -> list[str]:
    """Entries separated by commas, semicolons or whitespace; brackets keep `p.[Lys48Arg;Glu51Ala]`
    whole, and spaces around '+' keep `K48R + E51A` whole."""
    entries: list[str] = []
    # A bracket never spans lines, so one unclosed '[' cannot swallow the rest of the list.
    for line in text.splitlines():
        glued = bytearray(len(line))
        for match in _GLUE.finditer(line):
            glued[match.start() : match.end()] = b"\1" * (match.end() - match.start())
        depth = 0
        start = 0
        for i, ch in enumerate(line):
            if ch in _OPENING:
                depth += 1
            elif ch in _CLOSING:
                depth = max(0, depth - 1)
            elif depth == 0 and (ch in ",;" or (ch.isspace() and not glued[i])):
                entries.append(line[start:i])
                start = i + 1
        entries.append(line[start:])
    return [e.strip() for e in entries if e.strip()]


def _closes_at_end(text: str) -> bool:
    depth = 0
    for i, ch in enumerate(text):
        depth += ch in _OPENING
        depth -= ch in _CLOSING
        if depth == 0:
            return i == len(text) - 1
    return False


def _unwrap(text: str) -> str:
    """Drop outer `[...]` / `(...)` pairs around the whole text, e.g. p.[(Lys48Arg;Glu51Ala)],
    but not those of "(K48R)+(E51A)", where the first bracket closes before the end."""
    while text and text[0] in _OPENING and text[-1] == _OPENING[text[0]] and _closes_at_end(text):
        text = text[1:-1].strip()
    return text


def _strip_prefix(text: str) -> str:
    text = text.strip()
    if _PROTEIN_PREFIX.match(text):
        text = text[2:].strip()
    return _unwrap(text)


def _amino_acid(code: str) -> str | None:
    if len(code) == 1:
        return code.upper()  # every ASCII letter names a residue a sequence may hold
    return THREE_LETTER_CODES.get(code.upper())


def _unknown(code: str) -> str:
    return (
        f"'{code}' is not an amino acid (use one of the letters {AMINO_ACIDS} "
        "or a three-letter code such as Lys)"
    )


def _parse_substitution(part: str) -> Substitution | str:
    """One substitution, or what is wrong with it (a phrase for a message)."""
    match = _SUBSTITUTION.fullmatch(part)
    if match is None:
        return f"not a substitution; {NOTATION_HINT}"
    wt_code, digits, rest = match["wt"], match["position"], match["rest"]
    if wt_code == "*" or wt_code.upper() == "TER":
        return "stop-loss changes are not supported, only substitutions of one amino acid by another"
    kind = _NOT_SUBSTITUTION.search(rest)
    if kind is not None or "_" in rest:
        what = _NOT_SUBSTITUTIONS[kind[0].lower()] if kind else "changes to a range of residues"
        return f"{what} are not supported, only substitutions of one amino acid by another (e.g. K48R)"
    if rest == "*" or rest.upper() == "TER":
        return "stop (nonsense) changes are not supported, only substitutions of one amino acid by another"
    if not rest:
        return f"no new amino acid after position {digits}; {NOTATION_HINT}"
    if len(digits.lstrip("0")) > _MAX_POSITION_DIGITS or not _MUTANT.fullmatch(rest):
        return f"not a substitution; {NOTATION_HINT}"
    wild_type = _amino_acid(wt_code)
    if wild_type is None:
        return _unknown(wt_code)
    mutant = wild_type if rest == "=" else _amino_acid(rest)
    if mutant is None:
        return _unknown(rest)
    if mutant not in AMINO_ACIDS:
        name = NON_STANDARD_AMINO_ACIDS[mutant].partition(" -> ")[0]
        return (
            f"the new residue must be one of the 20 standard amino acids {AMINO_ACIDS} "
            f"(or a three-letter code such as Arg), not {name}"
        )
    if mutant == wild_type:
        return f"the new residue is the wild type ({wild_type}), so nothing changes"
    return Substitution(int(digits), wild_type, mutant)


def parse_variant(entry: str) -> Variant | VariantError:
    """Read one entry, without a sequence: notation, amino-acid codes, positions changed twice."""
    entry = entry.strip()
    reference = _REFERENCE.match(entry)
    if reference is not None:
        shown = entry
        parsed = parse_variant(entry[reference.end() :])
        if isinstance(parsed, VariantError):
            return _requoted(parsed, shown)
        return Variant(shown, parsed.substitutions)
    if _NUCLEOTIDE_PREFIX.match(entry):
        return _error(entry, ["DNA and RNA notation is not supported; give the protein change (p.Lys48Arg)"])
    body = _strip_prefix(entry)
    if body.count("[") != body.count("]") or body.count("(") != body.count(")"):
        return _error(
            entry,
            [
                "brackets do not pair up (an unclosed '[' or '(' makes the rest of its line one entry); "
                "write a combined variant as p.[Lys48Arg;Glu51Ala]"
            ],
        )
    parts = [_strip_prefix(p) for p in re.split(r"[;+]", body)]
    combined = len(parts) > 1
    substitutions: list[Substitution] = []
    problems: list[str] = []
    for part in parts:
        parsed = _parse_substitution(part)
        if isinstance(parsed, Substitution):
            substitutions.append(parsed)
        elif combined:
            problems.append(f"in '{_shown(part)}', {parsed}" if part else "an empty change around '+' or ';'")
        else:
            problems.append(parsed)
    if problems:
        return _error(entry, problems)
    substitutions.sort(key=lambda s: s.position)
    for position in sorted({s.position for s in substitutions}):
        changes = [s.label for s in substitutions if s.position == position]
        if len(changes) > 1:
            times = "twice" if len(changes) == 2 else f"{len(changes)} times"
            problems.append(
                f"position {position} is changed {times} ({' and '.join(changes)}); "
                "a combined variant changes each position once"
            )
    if problems:
        return _error(entry, problems)
    return Variant(entry, tuple(substitutions))


def _check_against(variant: Variant, sequence: str) -> Variant | VariantError:
    problems: list[str] = []
    for s in variant.substitutions:
        if not 1 <= s.position <= len(sequence):
            problem = f"position {s.position} is outside the sequence (1-{len(sequence)})"
        elif sequence[s.position - 1] != s.wild_type:
            problem = f"residue {s.position} is {sequence[s.position - 1]}, not {s.wild_type}"
        else:
            continue
        problems.append(f"in {s.label}, {problem}" if len(variant.substitutions) > 1 else problem)
    return _error(variant.text, problems) if problems else variant


def _chain_of(entry: str, chains: tuple[str, ...]) -> tuple[int, str] | VariantError:
    """(index of the chain an entry changes, the entry without its chain prefixes). A one-chain
    protein needs no prefix (and takes "A:"); in a complex every entry names one chain."""
    letters = CHAIN_LETTERS[: len(chains)]
    named = describe_chains(chains)
    match = _CHAIN.match(entry)
    if match is None:
        if len(chains) == 1:
            return 0, entry
        parsed = parse_variant(entry)
        fits = [
            letter
            for letter, chain in zip(letters, chains)
            if isinstance(parsed, Variant) and isinstance(_check_against(parsed, chain), Variant)
        ]
        example = " or ".join(f"{c}:{parsed.label}" for c in fits) if fits else f"{letters[-1]}:{entry}"
        return _error(entry, [f"say which chain it changes, e.g. {example} (the complex has chains {named})"])
    chain = match["chain"].upper()
    rest = entry[match.end() :]
    # A combined variant may repeat the prefix on each change: B:F1A+B:V2A.
    others = {m["chain"].upper() for m in re.finditer(r"[+;\[(]\s*(?P<chain>[A-Za-z])\s*:", rest)}
    rest = re.sub(r"(?<=[+;\[(])\s*[A-Za-z]\s*:\s*", "", rest)
    if chain not in letters:
        which = f"the complex has chains {named}" if len(chains) > 1 else f"one chain here: {named}"
        return _error(entry, [f"there is no chain {chain} ({which})"])
    if others - {chain}:
        return _error(
            entry,
            [
                f"it changes chains {', '.join(sorted(others | {chain}))}; a variant changes one chain "
                "(each chain is predicted on its own): give each chain's changes as its own entry"
            ],
        )
    return letters.index(chain), rest


def check_variants(
    text: str | None, sequence: str | tuple[str, ...], max_variants: int = MAX_VARIANTS
) -> list[Variant | VariantError]:
    """Every entry, in input order, as a `Variant` that fits `sequence` (upper case; a tuple of
    chains for a complex, where each variant names its chain: B:F1A) or a `VariantError`; one
    bad entry never stops the others. Raises `VariantListError` only when the input as a whole
    is unusable (nothing given, more than `max_variants` entries)."""
    chains = (sequence,) if isinstance(sequence, str) else tuple(sequence)
    entries = split_entries(text or "")
    if not entries:
        raise VariantListError(
            "No variants given: type one or more, e.g. K48R, p.Lys48Arg or K48R+E51A, "
            "separated by commas or new lines."
        )
    if len(entries) > max_variants:
        raise VariantListError(
            f"{len(entries):,} variants given; at most {max_variants:,} can be checked in one request. "
            "Split the list."
        )
    results: list[Variant | VariantError] = []
    first_seen: dict[str, int] = {}  # normalised label -> 1-based entry number
    for number, entry in enumerate(entries, start=1):
        located = _chain_of(entry, chains)
        if isinstance(located, VariantError):
            results.append(located)
            continue
        index, body = located
        result = parse_variant(body)
        if isinstance(result, VariantError):
            result = _requoted(result, entry)
        else:
            chain = CHAIN_LETTERS[index] if len(chains) > 1 else None
            result = _check_against(replace(result, text=entry, chain=chain), chains[index])
        if isinstance(result, Variant):
            if result.label in first_seen:
                result = _error(entry, [f"repeats entry {first_seen[result.label]} ({result.label})"])
            else:
                first_seen[result.label] = number
        results.append(result)
    return results
