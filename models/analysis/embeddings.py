"""Embeddings export: the backbone's last layer per residue (L, D) and its mean over the
residues (D,), as NumPy `.npy` files (the app's download and predict.py's `embeddings` task).

Per-residue files are float16: half the disk of float32 (a proteome's take gigabytes) at a
relative error under 1e-3 (ESM-2 8M states stay within ±3, far inside float16's range). The
mean is float32, computed from the float32 states before rounding.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models.shared.files import safe_file_name, write_atomic

if TYPE_CHECKING:
    from models.analysis.annotation import Annotation

PER_RESIDUE_DTYPE = np.float16
MEAN_DTYPE = np.float32


def mean_embedding(embedding: np.ndarray) -> np.ndarray:
    """The per-protein embedding: the mean over residues of the (L, D) states, float32."""
    return np.asarray(embedding, dtype=np.float32).mean(axis=0).astype(MEAN_DTYPE)


def npy_bytes(array: np.ndarray) -> bytes:
    """`array` as the bytes of a `.npy` file."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def write_embeddings(annotation: Annotation, root: Path) -> tuple[Path, Path]:
    """Write `<id>.embeddings.npy` (L, D) float16 and `<id>.embedding_mean.npy` (D,) float32
    under `root`; returns their paths. The annotation must have been made with the
    "embeddings" task (its `embedding` filled)."""
    if annotation.embedding is None:
        raise ValueError(f"'{annotation.id}' was annotated without the embeddings task.")
    name = safe_file_name(annotation.id or "protein")
    per_residue, mean = Path(root) / f"{name}.embeddings.npy", Path(root) / f"{name}.embedding_mean.npy"
    write_atomic(per_residue, npy_bytes(annotation.embedding.astype(PER_RESIDUE_DTYPE)))
    write_atomic(mean, npy_bytes(mean_embedding(annotation.embedding)))
    return per_residue, mean
