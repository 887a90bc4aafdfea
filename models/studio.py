"""The facade the app and the CLI share: owns the models, loads them lazily, caches results."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from models.folding import DEFAULT_FOLD_MODEL, Folder
from models.gpu import gpu_task
from models.sequences import Protein, check_foldable
from models.structure import Structure

DEFAULT_MAX_FOLD_LENGTH = 1000


@dataclass
class StudioConfig:
    fold_model: str = DEFAULT_FOLD_MODEL
    device: str = "auto"
    max_fold_length: int = DEFAULT_MAX_FOLD_LENGTH
    cache_entries: int = 32


class Studio:
    """One object per process: `fold(protein)` -> `Structure`, memoised per sequence."""

    def __init__(self, config: StudioConfig | None = None):
        self.config = config or StudioConfig()
        self.folder = Folder(self.config.fold_model, self.config.device)
        self._structures: OrderedDict[str, Structure] = OrderedDict()
        self._cache_lock = threading.Lock()

    def fold(self, protein: Protein) -> Structure:
        """Validate, then fold (or answer from the cache). Raises SequenceError and the
        folding errors of `models.folding` with user-facing messages."""
        check_foldable(protein, self.config.max_fold_length)
        key = protein.sequence
        with self._cache_lock:
            cached = self._structures.get(key)
            if cached is not None:
                self._structures.move_to_end(key)
        if cached is None:
            cached = _fold_on_accelerator(self.folder, protein)
            with self._cache_lock:
                self._structures[key] = cached
                while len(self._structures) > self.config.cache_entries:
                    self._structures.popitem(last=False)
        # Same coordinates, but the caller's record id.
        return cached if cached.id == protein.id else replace(cached, id=protein.id)


@gpu_task(duration=180)
def _fold_on_accelerator(folder: Folder, protein: Protein) -> Structure:
    return folder.fold(protein)
