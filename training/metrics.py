"""Metrics: scikit-learn's, plus the one convention it lacks (ROC-AUC of a one-class set is NaN)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; NaN (not an exception) when only one class is present, so a
    small sample without positives reads as "not measurable" in a card."""
    labels = np.asarray(labels).astype(bool)
    if labels.all() or not labels.any():
        return float("nan")
    return float(roc_auc_score(labels, np.asarray(scores, dtype=float)))
