"""Fixed features the task heads read from one backbone pass (shared by app and training)."""

from __future__ import annotations

import numpy as np

TERMINUS = 25  # residues: sorting signals sit at the ends (signal/transit peptides, PTS1, KDEL)


def pooled_features(hidden: np.ndarray) -> np.ndarray:
    """Per-protein vector from (layers+1, L, D) states: per-layer mean over the protein, over
    the first and the last TERMINUS residues, and the last layer's max."""
    n_term = hidden[:, :TERMINUS].mean(axis=1)
    c_term = hidden[:, -TERMINUS:].mean(axis=1)
    return np.concatenate(
        [hidden.mean(axis=1).ravel(), n_term.ravel(), c_term.ravel(), hidden[-1].max(axis=0)]
    ).astype(np.float32)
