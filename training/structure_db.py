"""ProMod3's structure database (`structure_db.dat`, Debian promod3-data) read with NumPy.

ProMod3's own reader needs Debian's python3-promod3 (its own Python and Qt), so this reads the
bytes directly, memory-mapped: nothing but the table of contents is loaded until asked for.

Layout (little-endian; inferred from the bytes of promod3-data 3.2.1+ds-6 and checked by
`training.secondary_checks`: consecutive Cα 3.80 Å apart, pydssp agreeing with the stored DSSP):

    header   77 bytes: u32 magic 1234, u32 version 2, ProMod3's type sizes and options
    u64 n    chains, then per chain: u32 + id, u32 + chain name, u32 offset of its first residue,
             u16 length, i16 first residue number, 3 × f32 shift (Å)
    per-residue arrays, each after a u64 count (= all residues of all chains):
             sequence (1 byte), backbone (N, CA, C, O × xyz as i16 in 0.01 Å, plus the shift),
             dihedrals (2 × i16), accessibility (u16, Å²), a second u16 array (unused here),
             DSSP letter (1 byte), two profiles (40 bytes each; unused here)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC, VERSION = 1234, 2
HEADER_SIZE = 77
# (name, bytes per residue, dtype, shape per residue); the order they are stored in.
ARRAYS = (
    ("sequence", 1, np.uint8, ()),
    ("backbone", 24, "<i2", (4, 3)),
    ("dihedrals", 4, "<i2", (2,)),
    ("accessibility", 2, "<u2", ()),
    ("depth", 2, "<u2", ()),
    ("dssp", 1, np.uint8, ()),
    ("profile", 40, np.uint8, (40,)),
    ("structure_profile", 40, np.uint8, (40,)),
)
COORDINATE_UNIT = 0.01  # Å per stored integer


class StructureDBError(ValueError):
    """The file does not have the layout this reader knows."""


@dataclass(frozen=True)
class Chain:
    pdb_id: str
    chain: str
    sequence: str
    dssp: str  # 8-state letters H G I E B T S C, one per residue
    accessibility: np.ndarray  # (L,) Å², as stored
    backbone: np.ndarray  # (L, 4, 3) float32 Å: N, CA, C, O

    @property
    def name(self) -> str:
        return f"{self.pdb_id}_{self.chain}"


class StructureDB:
    """The chains of one structure_db.dat, by index (`len`, `[i]`), memory-mapped."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        size = self.path.stat().st_size
        with open(self.path, "rb") as f:
            header = f.read(HEADER_SIZE + 8)
            if len(header) < HEADER_SIZE + 8:
                raise StructureDBError(f"{self.path}: {size} bytes, too short for a structure database")
            magic, version = struct.unpack_from("<II", header)
            if (magic, version) != (MAGIC, VERSION):
                raise StructureDBError(
                    f"{self.path}: starts with magic {magic}, version {version}; expected ProMod3's "
                    f"structure database (magic {MAGIC}, version {VERSION})"
                )
            (n,) = struct.unpack_from("<Q", header, HEADER_SIZE)
            self.ids, self.chains, self.offsets, self.lengths, self.shifts = [], [], [], [], []
            for _ in range(n):
                self.ids.append(_text(f))
                self.chains.append(_text(f))
                offset, length, _first = struct.unpack("<IHh", f.read(8))
                self.offsets.append(offset)
                self.lengths.append(length)
                self.shifts.append(struct.unpack("<3f", f.read(12)))
            position = f.tell()
        total = sum(self.lengths)
        self.arrays: dict[str, np.ndarray] = {}
        for name, width, dtype, shape in ARRAYS:
            count = int(np.fromfile(self.path, "<u8", 1, offset=position)[0]) if position + 8 <= size else -1
            if count != total:
                raise StructureDBError(
                    f"{self.path}: the {name} array at byte {position} counts {count} residues; "
                    f"the table of contents lists {total}"
                )
            position += 8
            if position + width * total > size:
                raise StructureDBError(f"{self.path}: the {name} array runs past the end of the file")
            self.arrays[name] = np.memmap(self.path, dtype, "r", position, (total, *shape))
            position += width * total
        if position != size:
            raise StructureDBError(f"{self.path}: {size - position} bytes after the last array")
        self.shifts = np.asarray(self.shifts, np.float32)

    def __len__(self) -> int:
        return len(self.ids)

    def name(self, i: int) -> str:
        return f"{self.ids[i]}_{self.chains[i]}"

    def sequence(self, i: int) -> str:
        start = self.offsets[i]
        return self.arrays["sequence"][start : start + self.lengths[i]].tobytes().decode("ascii")

    def __getitem__(self, i: int) -> Chain:
        start, end = self.offsets[i], self.offsets[i] + self.lengths[i]
        backbone = self.arrays["backbone"][start:end].astype(np.float32) * COORDINATE_UNIT + self.shifts[i]
        return Chain(
            pdb_id=self.ids[i],
            chain=self.chains[i],
            sequence=self.sequence(i),
            dssp=self.arrays["dssp"][start:end].tobytes().decode("ascii"),
            accessibility=np.asarray(self.arrays["accessibility"][start:end], np.float32),
            backbone=backbone.astype(np.float32),
        )


def _text(f) -> str:
    (n,) = struct.unpack("<I", f.read(4))
    return f.read(n).decode("ascii")


def write_structure_db(path: Path, chains: list[Chain]) -> Path:
    """Write `chains` in the same layout (for tests: CI never downloads the 371 MB package).
    Unused arrays are written as zeros; each chain's shift is its first Cα."""
    header = struct.pack("<II", MAGIC, VERSION) + bytes(HEADER_SIZE - 8)
    toc, offset, shifts = [], 0, []
    for chain in chains:
        shift = np.round(chain.backbone[0, 1], 2).astype(np.float32)
        shifts.append(shift)
        for text in (chain.pdb_id, chain.chain):
            toc.append(struct.pack("<I", len(text)) + text.encode("ascii"))
        toc.append(struct.pack("<IHh3f", offset, len(chain.sequence), 1, *shift.tolist()))
        offset += len(chain.sequence)
    columns = {
        "sequence": np.frombuffer("".join(c.sequence for c in chains).encode("ascii"), np.uint8),
        "backbone": np.concatenate(
            [np.round((c.backbone - s) / COORDINATE_UNIT) for c, s in zip(chains, shifts)]
        ).astype("<i2"),
        "accessibility": np.concatenate([np.round(c.accessibility) for c in chains]).astype("<u2"),
        "dssp": np.frombuffer("".join(c.dssp for c in chains).encode("ascii"), np.uint8),
    }
    with open(path, "wb") as f:
        f.write(header + struct.pack("<Q", len(chains)) + b"".join(toc))
        for name, _width, dtype, shape in ARRAYS:
            f.write(struct.pack("<Q", offset))
            f.write(np.ascontiguousarray(columns.get(name, np.zeros((offset, *shape), dtype))).tobytes())
    return path
