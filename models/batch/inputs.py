"""Batch input: uploaded bytes to FASTA text, text to records, each with a file-safe unique name.

Every record is kept, in input order, even one that cannot be predicted: it carries its error
and is reported in summary.csv like the others.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from models.shared.errors import SequenceError
from models.shared.files import safe_file_name
from models.shared.sequences import Protein, RecordError, parse_records
from models.shared.tasks import ALL_TASKS


@dataclass(frozen=True)
class Record:
    """One input record: its protein, or why it cannot be predicted at all."""

    index: int  # 0-based position in the input
    id: str
    name: str  # file-name-safe, unique id used for output files
    protein: Protein | None
    error: str | None = None  # why the record cannot be predicted at all


def parse_tasks(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """'structure,ptm' -> ('structure', 'ptm') in canonical order; unknown names are an error."""
    names = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    unknown = [t for t in names if t not in ALL_TASKS]
    if unknown:
        raise ValueError(f"Unknown task {', '.join(map(repr, unknown))}; choose from {', '.join(ALL_TASKS)}.")
    if not names:
        raise ValueError(f"No task given; choose from {', '.join(ALL_TASKS)}.")
    return tuple(t for t in ALL_TASKS if t in names)


def decode_fasta(raw: bytes, source: str, max_bytes: int) -> str:
    """File bytes -> text: gzip detected by content, UTF-8 (BOM tolerated). Raises
    SequenceError naming the file and what is wrong with it."""
    if raw[:2] == b"\x1f\x8b":
        try:
            # Bounded: a small "zip bomb" must not expand past the limit in memory.
            decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            raw = decompressor.decompress(raw, max_bytes + 1)
        except zlib.error as error:
            raise SequenceError(f"{source} looks gzip-compressed but is damaged ({error}).") from error
    if len(raw) > max_bytes:
        raise SequenceError(
            f"{source} holds more than {max_bytes:,} bytes of text; split it into smaller files."
        )
    if b"\0" in raw[:8192]:
        raise SequenceError(f"{source} is a binary file (NUL bytes), not FASTA text.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SequenceError(
            f"{source} is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start:,}); "
            "give a FASTA text file."
        ) from error


def read_records(text: str, max_chars: int, max_records: int) -> list[Record]:
    """Parse a multi-FASTA into records; bad records carry their error. Raises SequenceError
    only for input-wide problems (empty, over the size or record limit)."""
    records: list[Record] = []
    seen: dict[str, int] = {}
    for index, parsed in enumerate(parse_records(text, max_chars=max_chars, max_records=max_records)):
        name = safe_file_name(parsed.id)
        error = parsed.message if isinstance(parsed, RecordError) else None
        protein = None if isinstance(parsed, RecordError) else parsed
        first = seen.get(name.lower())  # case-insensitive: some file systems are
        if first is not None:
            # Ids name the output files and the CSV rows: a duplicate would overwrite another
            # record's results, so it is reported (under a file name of its own) instead.
            error = (
                f"Record {index + 1} '{parsed.id}': same id as record {first + 1} (ids name the output "
                "files; upper/lower case counts as the same); give every record a unique id."
            )
            protein = None
            name = f"{name}.record{index + 1}"
        seen.setdefault(name.lower(), index)
        records.append(Record(index, parsed.id, name, protein, error))
    return records
