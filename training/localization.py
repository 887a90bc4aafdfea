"""Train the SCL2205 localization head (and its logistic-regression probe) on cached embeddings."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from models.analysis.heads import LocalizationHead
from training.fit import fit, seed_everything

log = logging.getLogger(__name__)


def load_proteins(path: Path, classes: list[str]) -> dict:
    index = {c: i for i, c in enumerate(classes)}
    return {
        "pooled": np.load(path / "pooled.npy"),
        "residues": np.load(path / "residues.npy", mmap_mode="r"),
        "offsets": np.load(path / "offsets.npy"),
        "labels": np.array([index[c] for c in json.loads((path / "labels.json").read_text())]),
    }


def localization_config(backbone_config, classes: list[str], pooled_size: int, attention: bool) -> dict:
    return {
        "classes": classes,
        "dim": backbone_config.hidden_size,
        "pooled_size": pooled_size,
        "attention_heads": 8 if attention else 0,
        "attention_dim": 64,
        "hidden": 512,
        "dropout": 0.4,
    }


def selection_score(labels: np.ndarray, predicted: np.ndarray) -> float:
    """What model selection maximises: accuracy + macro-F1 (rare compartments count)."""
    return accuracy_score(labels, predicted) + f1_score(labels, predicted, average="macro")


def class_weights(labels: np.ndarray, n_classes: int, power: float = 0.5) -> torch.Tensor:
    """Inverse-frequency weights, softened: rare compartments count more without dominating."""
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    weights = (counts.sum() / np.maximum(counts, 1)) ** power
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def _batch(data: dict, idx: np.ndarray):
    pooled = torch.from_numpy(data["pooled"][idx])
    lengths = data["offsets"][idx + 1] - data["offsets"][idx]
    residues = torch.zeros(len(idx), int(lengths.max()), data["residues"].shape[1])
    mask = torch.zeros(len(idx), int(lengths.max()))
    for row, (i, n) in enumerate(zip(idx, lengths)):
        start = data["offsets"][i]
        residues[row, :n] = torch.from_numpy(data["residues"][start : start + n].astype(np.float32))
        mask[row, :n] = 1
    return pooled, residues, mask


def predict_probabilities(head: LocalizationHead, data: dict, batch: int = 64) -> np.ndarray:
    order = np.argsort(data["offsets"][1:] - data["offsets"][:-1])  # similar lengths together
    out = np.zeros((len(order), len(head.config["classes"])), np.float32)
    with torch.no_grad():
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            out[idx] = head.probabilities(*_batch(data, idx)).numpy()
    return out


REFERENCE_DIMS = 256
REFERENCE_GRID = {"k": (10, 25, 50), "temperature": (10.0, 20.0), "weight": (0.2, 0.3, 0.4)}


def fit_reference(head: LocalizationHead, train: dict, validation: dict) -> dict:
    """Add the training proteins as a reference set and choose how many neighbours vote, how
    sharply, and how much their vote weighs against the classifier (by validation accuracy +
    macro-F1). Similar proteins tend to share a compartment; the vote brings that in directly."""
    head.set_reference(train["pooled"], train["labels"], REFERENCE_DIMS)
    classifier = predict_probabilities(head, validation)  # no "reference" in config yet: classifier only
    labels = validation["labels"]
    pooled = torch.from_numpy(validation["pooled"])
    best = None
    with torch.no_grad():
        for k in REFERENCE_GRID["k"]:
            for temperature in REFERENCE_GRID["temperature"]:
                vote = head.reference_vote(pooled, k, temperature).numpy()
                for weight in REFERENCE_GRID["weight"]:
                    predicted = ((1 - weight) * classifier + weight * vote).argmax(1)
                    score = selection_score(labels, predicted)
                    if best is None or score > best[0]:
                        best = (score, k, temperature, weight)
    score, k, temperature, weight = best
    head.config["reference"] = {
        "dims": REFERENCE_DIMS,
        "size": int(len(train["labels"])),
        "k": k,
        "temperature": temperature,
        "weight": weight,
    }
    log.info("reference vote: k=%d temperature=%g weight=%g, validation %.4f", k, temperature, weight, score)
    return head.config["reference"]


def train_localization_head(
    train: dict, validation: dict, config: dict, seed: int = 0, epochs: int = 14
) -> tuple[LocalizationHead, float]:
    seed_everything(seed)
    head = LocalizationHead(config)
    head.norm.fit(train["pooled"])
    n_classes = len(config["classes"])
    loss_fn = nn.CrossEntropyLoss(weight=class_weights(train["labels"], n_classes), label_smoothing=0.05)
    labels = torch.from_numpy(train["labels"])
    # Mini-batches are blocks of proteins of similar length (little padding), in shuffled order.
    by_length = np.argsort(train["offsets"][1:] - train["offsets"][:-1], kind="stable")
    block = 32
    n_blocks = -(-len(by_length) // block)

    def batch_loss(batch):
        idx = by_length[int(batch[0]) * block : (int(batch[0]) + 1) * block]
        return loss_fn(head(*_batch(train, idx)), labels[idx])

    def validate():
        return selection_score(validation["labels"], predict_probabilities(head, validation).argmax(1))

    score, epoch = fit(
        head,
        n_blocks,
        batch_loss,
        validate,
        epochs=epochs,
        lr=5e-4,
        weight_decay=5e-2,
        batch_size=1,
        patience=4,
        seed=seed,
        name="localization head",
    )
    log.info("localization head: best validation (accuracy + macro-F1) %.4f at epoch %d", score, epoch)
    return head, score


PROBE_C = (0.01, 0.1, 1.0)  # inverse L2 strengths tried; the best on validation is kept


def train_probe(train: dict, validation: dict, classes: list[str], seed: int = 0):
    """Multinomial logistic regression on the same frozen pooled features the head reads, its
    regularisation chosen by validation accuracy. Returns predict(pooled) -> probabilities."""
    best = None
    for c in PROBE_C:
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed))
        probe.fit(train["pooled"], train["labels"])
        score = accuracy_score(validation["labels"], probe.predict(validation["pooled"]))
        log.info("localization probe C=%g: validation accuracy %.4f", c, score)
        if best is None or score > best[1]:
            best = (probe, score)
    probe = best[0]

    def predict(x: np.ndarray) -> np.ndarray:
        # One column per class index, also for a class that never occurs in training.
        out = np.zeros((len(x), len(classes)))
        out[:, probe.classes_] = probe.predict_proba(x)
        return out

    return predict
