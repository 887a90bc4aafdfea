"""Train per-residue PTM site heads (and their logistic-regression probe) on cached embeddings.

Site data is a dict of equal-length arrays, one row per site, so any subset is `v[rows]`:
`centre` (N, layers, D) the site's states at every layer; `states` (N, T, D) a stretch of the
states entering the last layer around the site, `site` (N,) the site's index in that stretch and
optionally `mask` (N, T) which of those positions exist; `labels` (N,); `groups` (N,) protein ids.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, GroupShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from models.analysis.heads import SiteEnsemble, SiteHead
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
        data["site"] = np.full(len(names), SUMO_CENTRE)
    return data


def grouped_split(groups: np.ndarray, size: float | int, seed: int) -> np.ndarray:
    """Boolean mask of held-out rows: whole proteins (scikit-learn's GroupShuffleSplit), so no
    protein straddles the split. `size`: a fraction of the proteins (float) or a count (int)."""
    splitter = GroupShuffleSplit(n_splits=1, test_size=size, random_state=seed)
    _, held = next(splitter.split(np.zeros(len(groups)), groups=groups))
    mask = np.zeros(len(groups), bool)
    mask[held] = True
    return mask


def grouped_folds(groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold index of every row; a protein's rows share a fold (shuffled GroupKFold)."""
    folds = np.zeros(len(groups), int)
    splitter = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for fold, (_, held) in enumerate(splitter.split(np.zeros(len(groups)), groups=groups)):
        folds[held] = fold
    return folds


NEIGHBOURHOOD = 7  # residues either side whose mean state the head reads (±7: a 15-mer)


def site_config(backbone_config, ptm_type: str = "SUMOylation", residues: str = "K") -> dict:
    """One SiteHead's config (a SiteEnsemble's adds "members")."""
    return {
        "ptm_type": ptm_type,
        "residues": residues,
        "layers": backbone_config.num_hidden_layers + 1,
        "dim": backbone_config.hidden_size,
        "heads": backbone_config.num_attention_heads,
        "intermediate": backbone_config.intermediate_size,
        "eps": backbone_config.layer_norm_eps,
        "hidden": 256,
        "dropout": 0.3,
        "neighbourhood": NEIGHBOURHOOD,
    }


def scores(head: SiteHead | SiteEnsemble, data: dict, rows: np.ndarray, batch: int = 512) -> np.ndarray:
    """Probabilities of `rows` of site data."""
    out = []
    for start in range(0, len(rows), batch):
        idx = rows[start : start + batch]
        with torch.no_grad():
            out.append(head.probabilities(*_inputs(data, idx)).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def _inputs(data: dict, idx: np.ndarray):
    centre = torch.from_numpy(data["centre"][idx])
    states = torch.from_numpy(data["states"][idx].astype(np.float32))
    mask = torch.from_numpy(data["mask"][idx]) if "mask" in data else torch.ones(states.shape[:2])
    return centre, (states, mask, torch.from_numpy(data["site"][idx])[:, None])


def train_site_head(
    train: dict, validation: np.ndarray, config: dict, seed: int = 0, epochs: int = 5
) -> tuple[SiteHead, float]:
    seed_everything(seed)
    head = SiteHead(config)
    rows = np.where(~validation)[0]
    val_rows = np.where(validation)[0]
    head.norm.fit(train["centre"][rows].reshape(len(rows), -1))
    labels = torch.from_numpy(train["labels"])
    name = f"{config['ptm_type']} head"

    def batch_loss(batch):
        idx = rows[batch]
        return nn.functional.binary_cross_entropy_with_logits(head(*_inputs(train, idx)), labels[idx])

    score, epoch = fit(
        head,
        len(rows),
        batch_loss,
        lambda: roc_auc(train["labels"][val_rows], scores(head, train, val_rows)),
        epochs=epochs,
        param_groups=[{"params": head.classifier.parameters(), "lr": 1e-3}],
        batch_size=64,
        patience=3,
        seed=seed,
        name=name,
    )
    log.info("%s: best validation ROC-AUC %.4f at epoch %d", name, score, epoch)
    return head, score


MEMBERS = 5  # SiteHeads averaged in a shipped site head (3 gave the same SUMO validation AUC)


def train_site_ensemble(
    train: dict, validation: np.ndarray, config: dict, members: int, seed: int = 0, **kwargs
) -> tuple[SiteEnsemble, float, list[float]]:
    """`members` SiteHeads with `config`, member i trained from seed `seed + i`. Returns the
    ensemble, its validation ROC-AUC and each member's."""
    ensemble = SiteEnsemble({**config, "members": members})
    member_scores = []
    for i in range(members):
        head, score = train_site_head(train, validation, config, seed + i, **kwargs)
        ensemble.members[i].load_state_dict(head.state_dict())
        member_scores.append(score)
    ensemble.eval()
    val_rows = np.where(validation)[0]
    with torch.no_grad():
        score = roc_auc(train["labels"][val_rows], scores(ensemble, train, val_rows))
    log.info("%s ensemble of %d: validation ROC-AUC %.4f", config["ptm_type"], members, score)
    return ensemble, score, member_scores


PROBE_C = (0.01, 0.1, 1.0)  # inverse L2 strengths tried; the best on validation is kept


def train_probe(train: dict, validation: np.ndarray, seed: int = 0) -> tuple[object, callable, float]:
    """Logistic regression on the same frozen features (standardised centre states), its
    regularisation chosen on validation. Returns (model, predict(centre) -> scores, validation AUC)."""
    rows, val_rows = np.where(~validation)[0], np.where(validation)[0]
    x = train["centre"].reshape(len(train["centre"]), -1)
    best = None
    for c in PROBE_C:
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed))
        probe.fit(x[rows], train["labels"][rows])
        score = roc_auc(train["labels"][val_rows], probe.decision_function(x[val_rows]))
        log.info("site probe C=%g: validation ROC-AUC %.4f", c, score)
        if best is None or score > best[1]:
            best = (probe, score)
    probe, score = best

    def predict(centre: np.ndarray) -> np.ndarray:
        return probe.decision_function(centre.reshape(len(centre), -1))

    return probe, predict, float(score)


def grouped_cross_validation(train: dict, config: dict, k: int = 5, seed: int = 0) -> list[float]:
    """Protein-grouped k-fold ROC-AUC of one head (not the ensemble)."""
    folds = grouped_folds(train["groups"], k, seed)
    aucs = []
    for fold in range(k):
        held = folds == fold
        subset = {key: value[~held] for key, value in train.items()}
        inner_val = grouped_split(subset["groups"], VALIDATION_FRACTION, seed + 1 + fold)
        head, _ = train_site_head(subset, inner_val, config, seed=seed, epochs=8)
        rows = np.where(held)[0]
        with torch.no_grad():
            aucs.append(roc_auc(train["labels"][rows], scores(head, train, rows)))
        log.info("grouped CV fold %d: ROC-AUC %.4f", fold, aucs[-1])
    return aucs
