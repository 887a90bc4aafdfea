"""Train the SUMOylation site head (and its logistic-regression probe) on cached embeddings."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.heads import SiteEnsemble, SiteHead
from models.top_layer import SiteTopLayer
from training.data import SUMO_CENTRE
from training.fit import fit, seed_everything
from training.metrics import roc_auc

log = logging.getLogger(__name__)
VALIDATION_FRACTION = 0.1


def load_sites(path: Path, with_states: bool) -> dict:
    names = json.loads((path / "names.json").read_text())
    data = {
        "centre": np.load(path / "centre.npy"),
        "labels": np.load(path / "labels.npy").astype(np.float32),
        "groups": np.array([n.split("|")[0].rsplit("_", 1)[0] for n in names]),
    }
    if with_states:
        # States entering the last layer (layer index -2 of the hidden stack).
        layer = data["centre"].shape[1] - 2
        data["states"] = np.load(path / f"layer{layer}.npy")
    return data


def concat(parts: list[dict]) -> dict:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def grouped_split(groups: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of validation rows: whole proteins, so no protein straddles the split."""
    unique = np.unique(groups)
    chosen = set(np.random.default_rng(seed).choice(unique, int(len(unique) * fraction), replace=False))
    return np.array([g in chosen for g in groups])


def grouped_folds(groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    unique = np.unique(groups)
    fold_of = dict(zip(np.random.default_rng(seed).permutation(unique), np.arange(len(unique)) % k))
    return np.array([fold_of[g] for g in groups])


NEIGHBOURHOOD = 7  # residues either side whose mean state the head reads (±7: a 15-mer)


def site_config(backbone_config, top_layer: bool) -> dict:
    """One SiteHead's config (a SiteEnsemble's adds "members")."""
    return {
        "ptm_type": "SUMOylation",
        "residues": "K",
        "layers": backbone_config.num_hidden_layers + 1,
        "dim": backbone_config.hidden_size,
        "heads": backbone_config.num_attention_heads,
        "intermediate": backbone_config.intermediate_size,
        "eps": backbone_config.layer_norm_eps,
        "hidden": 256,
        "dropout": 0.3,
        "top_layer": top_layer,
        "neighbourhood": NEIGHBOURHOOD,
    }


def _scores(head: SiteHead | SiteEnsemble, data: dict, rows: np.ndarray, batch: int = 512) -> np.ndarray:
    out = []
    for start in range(0, len(rows), batch):
        idx = rows[start : start + batch]
        out.append(head.probabilities(*_inputs(head, data, idx)).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def _inputs(head: SiteHead | SiteEnsemble, data: dict, idx: np.ndarray):
    centre = torch.from_numpy(data["centre"][idx])
    if not head.needs_states:
        return centre, None
    states = torch.from_numpy(data["states"][idx].astype(np.float32))
    mask = torch.ones(states.shape[:2])
    return centre, (states, mask, torch.full((len(idx), 1), SUMO_CENTRE))


def train_site_head(
    train: dict, validation: np.ndarray, config: dict, esm_model=None, seed: int = 0, epochs: int = 5
) -> tuple[SiteHead, float]:
    seed_everything(seed)
    head = SiteHead(config)
    rows = np.where(~validation)[0]
    val_rows = np.where(validation)[0]
    head.norm.fit(train["centre"][rows].reshape(len(rows), -1))
    groups = [{"params": head.classifier.parameters(), "lr": 1e-3}]
    if config["top_layer"]:
        head.top.load_state_dict(SiteTopLayer.from_esm(esm_model).state_dict())
        groups.append({"params": head.top.parameters(), "lr": 1e-4})
    labels = torch.from_numpy(train["labels"])

    def batch_loss(batch):
        idx = rows[batch]
        return nn.functional.binary_cross_entropy_with_logits(head(*_inputs(head, train, idx)), labels[idx])

    score, epoch = fit(
        head,
        len(rows),
        batch_loss,
        lambda: roc_auc(train["labels"][val_rows], _scores(head, train, val_rows)),
        epochs=epochs,
        param_groups=groups,
        batch_size=64,
        patience=3,
        seed=seed,
        name="SUMO head",
    )
    log.info("SUMO head: best validation ROC-AUC %.4f at epoch %d", score, epoch)
    return head, score


MEMBERS = 5  # SiteHeads averaged in the shipped SUMO head (3 gave the same validation AUC)


def train_site_ensemble(
    train: dict,
    validation: np.ndarray,
    config: dict,
    members: int,
    esm_model=None,
    seed: int = 0,
    **kwargs,
) -> tuple[SiteEnsemble, float, list[float]]:
    """`members` SiteHeads with `config`, member i trained from seed `seed + i`. Returns the
    ensemble, its validation ROC-AUC and each member's."""
    ensemble = SiteEnsemble({**config, "members": members})
    scores = []
    for i in range(members):
        head, score = train_site_head(train, validation, config, esm_model, seed + i, **kwargs)
        ensemble.members[i].load_state_dict(head.state_dict())
        scores.append(score)
    ensemble.eval()
    val_rows = np.where(validation)[0]
    with torch.no_grad():
        score = roc_auc(train["labels"][val_rows], _scores(ensemble, train, val_rows))
    log.info("SUMO ensemble of %d: validation ROC-AUC %.4f", members, score)
    return ensemble, score, scores


def train_probe(train: dict, validation: np.ndarray, seed: int = 0) -> tuple[nn.Module, callable, float]:
    """Logistic regression on the same frozen features (standardised centre states)."""
    seed_everything(seed)
    rows, val_rows = np.where(~validation)[0], np.where(validation)[0]
    x = train["centre"].reshape(len(train["centre"]), -1)
    mean, std = x[rows].mean(0), x[rows].std(0) + 1e-6
    features = torch.from_numpy(((x - mean) / std).astype(np.float32))
    probe = nn.Linear(x.shape[1], 1)
    labels = torch.from_numpy(train["labels"])

    def batch_loss(batch):
        idx = rows[batch]
        return nn.functional.binary_cross_entropy_with_logits(probe(features[idx]).squeeze(-1), labels[idx])

    score, _ = fit(
        probe,
        len(rows),
        batch_loss,
        lambda: roc_auc(train["labels"][val_rows], probe(features[val_rows]).squeeze(-1).numpy()),
        epochs=15,
        weight_decay=1e-1,
        seed=seed,
        name="SUMO probe",
    )

    def predict(centre: np.ndarray) -> np.ndarray:
        z = torch.from_numpy(((centre.reshape(len(centre), -1) - mean) / std).astype(np.float32))
        with torch.no_grad():
            return probe(z).squeeze(-1).numpy()

    return probe, predict, score


def grouped_cross_validation(train: dict, config: dict, k: int = 5, seed: int = 0) -> list[float]:
    """Protein-grouped k-fold ROC-AUC of one head without a top layer (fast enough for k fits)."""
    folds = grouped_folds(train["groups"], k, seed)
    cheap = {**config, "top_layer": False}
    aucs = []
    for fold in range(k):
        held = folds == fold
        inner_val = grouped_split(train["groups"], VALIDATION_FRACTION, seed + 1 + fold) & ~held
        subset = {key: value[~held] for key, value in train.items()}
        head, _ = train_site_head(subset, inner_val[~held], cheap, seed=seed, epochs=8)
        rows = np.where(held)[0]
        with torch.no_grad():
            aucs.append(roc_auc(train["labels"][rows], _scores(head, train, rows)))
        log.info("grouped CV fold %d: ROC-AUC %.4f", fold, aucs[-1])
    return aucs
