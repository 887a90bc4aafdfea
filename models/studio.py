"""The facade the app and the CLI share: owns the models, loads them lazily, caches results."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from models.annotation import DEFAULT_MAX_ANALYZE_LENGTH, HEADS_DIR, Annotation, Annotator
from models.backbone import DEFAULT_BACKBONE
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
    backbone: str = DEFAULT_BACKBONE
    heads_dir: str = str(HEADS_DIR)
    max_analyze_length: int = DEFAULT_MAX_ANALYZE_LENGTH
    cache_entries: int = 32


class Studio:
    """One object per process: `fold(protein)` -> `Structure`, memoised per sequence."""

    def __init__(self, config: StudioConfig | None = None):
        self.config = config or StudioConfig()
        self.folder = Folder(self.config.fold_model, self.config.device)
        # The 8M backbone is faster on CPU than the GPU round trip for one sequence; it follows
        # --device only when that names a GPU explicitly.
        backbone_device = self.config.device if self.config.device.startswith("cuda") else "cpu"
        self.annotator = Annotator(
            self.config.backbone, backbone_device, self.config.heads_dir, self.config.max_analyze_length
        )
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

    def cached_structure(self, protein: Protein) -> Structure | None:
        """The structure of this exact sequence if it was already folded (never folds)."""
        with self._cache_lock:
            return self._structures.get(protein.sequence)

    def annotate(self, protein: Protein) -> Annotation:
        """PTM sites, localization and contacts from one backbone pass (memoised)."""
        return self.annotator.annotate(protein)


@gpu_task(duration=180)
def _fold_on_accelerator(folder: Folder, protein: Protein) -> Structure:
    return folder.fold(protein)
