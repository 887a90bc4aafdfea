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


CURVE_THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))  # 0.05 .. 0.95


def threshold_curve(labels, scores, thresholds=CURVE_THRESHOLDS) -> dict:
    """Precision, recall and sites called (probability >= t) at each threshold t: what a user
    gets at each position of the threshold slider. Precision is None where nothing is called."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=float)
    precision, recall, called = [], [], []
    for t in thresholds:
        hit = scores >= t
        n_called, true_called = int(hit.sum()), int((hit & labels).sum())
        precision.append(round(true_called / n_called, 4) if n_called else None)
        recall.append(round(true_called / labels.sum(), 4) if labels.any() else None)
        called.append(n_called)
    return {"thresholds": list(thresholds), "precision": precision, "recall": recall, "n_called": called}


def pr_auc(labels, scores) -> float | None:
    """Area under the precision-recall curve (scikit-learn's average precision)."""
    from sklearn.metrics import average_precision_score

    labels = np.asarray(labels).astype(int)
    if not 0 < labels.sum() < len(labels):
        return None
    return round(float(average_precision_score(labels, scores)), 4)


def baseline_metrics(labels, scores) -> dict:
    """A baseline's figures on the test split: ROC-AUC and PR-AUC."""
    auc = roc_auc(np.asarray(labels).astype(int), scores)
    return {"roc_auc": None if np.isnan(auc) else round(auc, 4), "pr_auc": pr_auc(labels, scores)}


def site_test_metrics(labels, scores, threshold: float = 0.5) -> dict:
    """A site head's final test-set figures, as its card stores them (metrics.final.<split>)."""
    labels = np.asarray(labels).astype(int)
    curve = threshold_curve(labels, scores)
    at = threshold_curve(labels, scores, (threshold,))
    auc = roc_auc(labels, scores)
    return {
        "roc_auc": None if np.isnan(auc) else round(auc, 4),
        "pr_auc": pr_auc(labels, scores),
        "n_positive": int(labels.sum()),
        "n": int(len(labels)),
        f"precision_at_{threshold}": at["precision"][0] or 0.0,
        f"recall_at_{threshold}": at["recall"][0] or 0.0,
        "threshold_curve": curve,
    }


BIN_WIDTH = 0.05
MIN_BIN = 20  # proteins a bin needs before its accuracy decides anything


def reliability_bins(confidence, correct, width: float = BIN_WIDTH) -> list[dict]:
    """Accuracy of predictions grouped by confidence: one {from, to, n, accuracy} per non-empty
    bin [from, to) of `width` (the last bin includes 1.0)."""
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=bool)
    index = np.minimum((confidence / width).astype(int), round(1 / width) - 1)
    bins = []
    for k in np.unique(index):
        members = index == k
        bins.append(
            {
                "from": round(float(k * width), 2),
                "to": round(float((k + 1) * width), 2),
                "n": int(members.sum()),
                "accuracy": round(float(correct[members].mean()), 4),
            }
        )
    return bins


def level_below_which(bins: list[dict], accuracy: float, min_n: int = MIN_BIN) -> float | None:
    """The upper edge of the highest bin (of at least `min_n`) right less often than `accuracy`:
    above it, every well-filled bin is right at least that often. None when no bin falls short."""
    short = [b for b in bins if b["n"] >= min_n and b["accuracy"] < accuracy]
    return max(b["to"] for b in short) if short else None


def level_from_which(bins: list[dict], accuracy: float, min_n: int = MIN_BIN) -> float | None:
    """The lowest bin edge from which every bin of at least `min_n` is right at least `accuracy`
    of the time (None when the top bin already falls short)."""
    filled = [b for b in bins if b["n"] >= min_n]
    level = None
    for b in reversed(filled):
        if b["accuracy"] < accuracy:
            break
        level = b["from"]
    return level


def share_right(confidence, correct, below: float | None = None, at_least: float | None = None) -> dict:
    """How often predictions in a confidence range are right: {n, of, accuracy}."""
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=bool)
    keep = np.ones(len(confidence), bool)
    if below is not None:
        keep &= confidence < below
    if at_least is not None:
        keep &= confidence >= at_least
    n = int(keep.sum())
    accuracy = round(float(correct[keep].mean()), 4) if n else None
    return {"n": n, "of": int(len(confidence)), "accuracy": accuracy}


def secondary_metrics(true8: np.ndarray, probabilities8: np.ndarray, true_rsa: np.ndarray, rsa: np.ndarray):
    """Per-residue test figures: Q8, Q3 (three-state by summed probabilities), each class's
    recall, RSA Pearson r and two-state (buried < 25%) accuracy. `true8`: class indices in
    models.analysis.secondary_prediction.EIGHT's order."""
    from sklearn.metrics import accuracy_score, recall_score

    from models.analysis.secondary_prediction import BURIED_BELOW, EIGHT, THREE, THREE_OF, three_probabilities

    predicted8 = np.argmax(probabilities8, axis=1)
    true3, predicted3 = THREE_OF[true8], np.argmax(three_probabilities(probabilities8), axis=1)
    recall8 = recall_score(true8, predicted8, labels=range(len(EIGHT)), average=None, zero_division=0)
    recall3 = recall_score(true3, predicted3, labels=range(len(THREE)), average=None, zero_division=0)
    return {
        "residues": int(len(true8)),
        "q8": round(float(accuracy_score(true8, predicted8)), 4),
        "q3": round(float(accuracy_score(true3, predicted3)), 4),
        "recall8": {c: round(float(r), 4) for c, r in zip(EIGHT, recall8)},
        "recall3": {c: round(float(r), 4) for c, r in zip(THREE, recall3)},
        "rsa_pearson_r": round(float(np.corrcoef(true_rsa, rsa)[0, 1]), 4),
        "two_state_accuracy": round(float(np.mean((true_rsa < BURIED_BELOW) == (rsa < BURIED_BELOW))), 4),
    }
