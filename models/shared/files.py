"""Files on disk: where caches live, content digests, atomic writes and safe file names.

Pure Python (no numpy or torch), so `components/` may use it too.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

TEMP_PREFIX = ".tmp-"  # half-written files; readers (the batch ZIP) skip names starting with it

# Windows refuses these as file names, with or without an extension, in any case.
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10))}
# Letters, digits and ._+=- are valid on every common file system and inert in shells and URLs.
_UNSAFE = re.compile(r"[^A-Za-z0-9._+=-]")
_MAX_NAME = 120
_KEEP = 100  # characters of a too-long name kept before its digest


def cache_root() -> Path:
    """PROTEIN_STUDIO_CACHE, else $XDG_CACHE_HOME/protein-studio (~/.cache/protein-studio)."""
    base = os.environ.get("PROTEIN_STUDIO_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "protein-studio"
    )
    return Path(base)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks (weights files are large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write `data` (str as UTF-8) to `path` so that readers see the old file or the whole new
    one, never a part: a temporary file in the same directory, then `os.replace`.

    The temporary file is opened like any new file (permissions from the umask, unlike
    `mkstemp`'s owner-only ones), with a random name and exclusive creation, so concurrent
    writers never share one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(8)}{path.suffix}")
    handle = tmp.open("xb")
    try:
        with handle:
            handle.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def safe_file_name(text: str) -> str:
    """A file name (without extension) for `text`, valid on Linux, macOS and Windows.

    Kept as it is when already safe; otherwise unusual characters become '_', a leading '.'
    (hidden, or our own temporary files) or a reserved Windows name gets a '_' in front, and a
    digest of the whole text is appended after '~', so two texts that differ only in what was
    replaced or cut still get different names. Safe names never contain '~', so a changed name
    cannot collide with an unchanged one. Callers that need case-insensitive uniqueness (some
    file systems ignore case) check that themselves.
    """
    name = _UNSAFE.sub("_", text)
    if name[:1] in ("", ".") or name.split(".")[0].upper() in _RESERVED:
        name = f"_{name}"
    if name != text or len(name) > _MAX_NAME or name.endswith("."):  # Windows drops a final '.'
        name = f"{name[:_KEEP]}~{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    return name
