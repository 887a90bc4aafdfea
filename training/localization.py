"""Train the SCL2205 localization head (and its logistic-regression probe) on cached embeddings."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.heads import LocalizationHead
from training.fit import fit, seed_everything
from training.metrics import accuracy, macro_f1

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
    labels, n_classes = validation["labels"], len(head.config["classes"])
    pooled = torch.from_numpy(validation["pooled"])
    best = None
    with torch.no_grad():
        for k in REFERENCE_GRID["k"]:
            for temperature in REFERENCE_GRID["temperature"]:
                vote = head.reference_vote(pooled, k, temperature).numpy()
                for weight in REFERENCE_GRID["weight"]:
                    predicted = ((1 - weight) * classifier + weight * vote).argmax(1)
                    score = accuracy(labels, predicted) + macro_f1(labels, predicted, n_classes)
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
        predicted = predict_probabilities(head, validation).argmax(1)
        return accuracy(validation["labels"], predicted) + macro_f1(
            validation["labels"], predicted, n_classes
        )

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


def train_probe(train: dict, validation: dict, classes: list[str], seed: int = 0):
    """Multinomial logistic regression on the same frozen pooled features the head reads."""
    seed_everything(seed)
    dims = len(classes)
    mean_size = train["pooled"].shape[1]
    x_train, x_val = train["pooled"], validation["pooled"]
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    features = torch.from_numpy(((x_train - mu) / sd).astype(np.float32))
    probe = nn.Linear(mean_size, dims)
    labels = torch.from_numpy(train["labels"])

    def predict(x):
        with torch.no_grad():
            return torch.softmax(probe(torch.from_numpy(((x - mu) / sd).astype(np.float32))), -1).numpy()

    fit(
        probe,
        len(labels),
        lambda idx: nn.functional.cross_entropy(probe(features[idx]), labels[idx]),
        lambda: accuracy(validation["labels"], predict(x_val).argmax(1)),
        epochs=20,
        weight_decay=1e-1,
        seed=seed,
        name="localization probe",
    )
    return predict
