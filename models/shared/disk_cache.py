"""Persistent on-disk cache of results, keyed by (model, task, sequence), shared by app and CLI.

Design choices, each for a failure users would otherwise see:
- One `.npz` file per entry, written to a temporary name and renamed into place, so a crash or
  a second process (the app and `predict.py`, or `accelerate launch` ranks) never leaves a
  half-written entry under a real name. Loaded with `allow_pickle=False`: a cache file is data,
  never code.
- Each entry stores its own key (model, task, sequence); a read that does not match, or that
  fails to parse, deletes the entry and reports a miss, so it is simply recomputed.
- Bounded: when the total size passes `max_bytes` the least recently used entries (by file
  mtime, refreshed on every hit) are deleted.
- A directory that cannot be created or written turns the cache off with one warning; it
  never fails a request.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from models.shared.files import write_atomic

log = logging.getLogger(__name__)

FORMAT_VERSION = 1  # bump when what a task stores changes: old entries then miss
DEFAULT_MAX_BYTES = 2 * 1024**3
_META = "__meta__"


def fingerprint_path(path: str | Path) -> str:
    """Identity of a local checkpoint directory or file: names, sizes and mtimes (cheap; a
    re-saved checkpoint gets new mtimes and so new cache keys)."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for f in files:
        stat = f.stat()
        digest.update(
            f"{f.relative_to(path) if path.is_dir() else f.name}:{stat.st_size}:{stat.st_mtime_ns};".encode()
        )
    return digest.hexdigest()[:16]


class DiskCache:
    """`get(model, task, sequence)` -> dict of arrays (or None); `put(...)` stores one."""

    def __init__(self, root: str | Path | None, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = max_bytes
        self.root: Path | None = None
        self._lock = threading.Lock()
        self._size: int | None = None  # bytes on disk, counted once then tracked
        self.hits = self.misses = 0
        if root is not None:
            self._enable(Path(root))

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def _enable(self, root: Path) -> None:
        try:
            root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=root, prefix=".probe-"):
                pass
        except OSError as error:
            log.warning(
                "Result cache off: %s is not writable (%s); results are computed every time.", root, error
            )
            return
        self.root = root

    def _disable(self, error: OSError) -> None:
        log.warning("Result cache off after a write failure in %s (%s).", self.root, error)
        self.root = None

    @staticmethod
    def key(model: str, task: str, sequence: str) -> str:
        return hashlib.sha256(f"{FORMAT_VERSION}\0{model}\0{task}\0{sequence}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.npz"

    def get(self, model: str, task: str, sequence: str) -> dict | None:
        root = self.root
        if root is None:
            return None
        path = self._path(self.key(model, task, sequence))
        try:
            with np.load(path, allow_pickle=False) as data:
                values = {name: data[name] for name in data.files}
            meta = json.loads(str(values.pop(_META)))
            if meta["key"] != [model, task, sequence]:
                raise ValueError("key mismatch")
        except FileNotFoundError:
            self.misses += 1
            return None
        except Exception as error:  # noqa: BLE001 - any unreadable entry is recomputed, not fatal
            log.warning("Dropping corrupt cache entry %s (%s)", path.name, error)
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        try:
            os.utime(path)  # least-recently-used order follows reads, not only writes
        except OSError:
            pass
        self.hits += 1
        values.update(meta.get("extra", {}))
        return values

    def put(self, model: str, task: str, sequence: str, arrays: dict, extra: dict | None = None) -> None:
        """Store numpy arrays (and JSON-able `extra`, returned merged with them by get)."""
        if self.root is None:
            return
        path = self._path(self.key(model, task, sequence))
        meta = json.dumps({"key": [model, task, sequence], "extra": extra or {}})
        try:
            buffer = io.BytesIO()
            np.savez(buffer, **{_META: np.array(meta)}, **arrays)
            write_atomic(path, buffer.getvalue())
            size = path.stat().st_size
        except OSError as error:
            self._disable(error)
            return
        with self._lock:
            if self._size is None:
                self._size = self._scan()[1]
            else:
                self._size += size
            if self._size > self.max_bytes:
                self._evict()

    def _scan(self) -> tuple[list[tuple[float, int, Path]], int]:
        entries = []
        for path in self.root.glob("??/*.npz") if self.root else []:
            try:
                stat = path.stat()
            except OSError:  # removed by another process meanwhile
                continue
            entries.append((stat.st_mtime, stat.st_size, path))
        return entries, sum(size for _, size, _ in entries)

    def _evict(self) -> None:
        # Rescan: other processes share the directory. Drop down to 90% so each put doesn't evict.
        entries, total = self._scan()
        for _, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= 0.9 * self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
        self._size = total

    def clear(self) -> None:
        for _, _, path in self._scan()[0]:
            path.unlink(missing_ok=True)
        self._size = 0
