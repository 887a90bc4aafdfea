"""`python -m training site-head`: a per-residue site head for any PTM type, from a CSV of sites.

Same recipe and card as the shipped SUMO head: a SiteEnsemble of SiteHeads reading each site's
states at every layer and the ±7-residue neighbourhood mean of the states entering the last
layer, a logistic-regression probe alongside, model selection on validation proteins only, and
one final measurement on held-out test proteins through the app's prediction path.

Each protein goes through the backbone once, whole, like the app runs it: proteins longer than
the backbone's window (1,022 residues for ESM-2) are embedded in overlapping windows stitched
by `Backbone.run`, exactly as at prediction time, so training features and app features agree.
Only what the head reads is kept per site, so memory grows with sites, not residues.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from models.analysis.annotation import Annotator
from models.analysis.backbone import Backbone
from models.shared.sequences import Protein
from training import ptm
from training.cards import common_fields, rounded, write_card
from training.metrics import baseline_metrics, roc_auc, site_test_metrics, threshold_curve
from training.site_data import SiteDataError, SiteTable, head_stem

log = logging.getLogger("training")
TEST_FRACTION = 0.15  # of proteins, held out for the one final measurement
VALIDATION_FRACTION = 0.10  # of proteins, for early stopping and the ensemble's score
SPLIT_TRIES = 100  # seeds tried until train, validation and test each hold both classes
PROTEINS_PER_PASS = 16  # sequences per Backbone.run call: bounds the states held at once
REGRESSION_SAMPLE = 120  # test sites re-checked by tests through the app's prediction path
THRESHOLD = 0.5

RESIDUE_NAMES = {
    "A": "alanine", "C": "cysteine", "D": "aspartate", "E": "glutamate", "F": "phenylalanine",
    "G": "glycine", "H": "histidine", "I": "isoleucine", "K": "lysine", "L": "leucine",
    "M": "methionine", "N": "asparagine", "P": "proline", "Q": "glutamine", "R": "arginine",
    "S": "serine", "T": "threonine", "V": "valine", "W": "tryptophan", "Y": "tyrosine",
}  # fmt: skip


def task_sentence(name: str, residues: str) -> str:
    names = [RESIDUE_NAMES[r] for r in residues]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{name} site probability for every {listed}"


def embed_sites(backbone: Backbone, table: SiteTable, radius: int) -> dict:
    """Site data (see `training.ptm`) for every site of `table`, in its order: the site's states
    at every layer, and the ±radius stretch of states entering the last layer with its mask
    (positions beyond the sequence ends are masked, as the app's neighbourhood mean skips them)."""
    model = backbone.load()
    layers, dim = model.config.num_hidden_layers + 1, model.config.hidden_size
    n, width = len(table.sites), 2 * radius + 1
    out = {
        "centre": np.zeros((n, layers, dim), np.float32),
        "states": np.zeros((n, width, dim), np.float16),
        "mask": np.zeros((n, width), np.float32),
        "site": np.full(n, radius),
        "labels": np.array([s.label for s in table.sites], np.float32),
        # Splits take whole groups: homology clusters when the file has them, else proteins.
        "groups": np.array([table.groups[s.protein] if table.groups else s.protein for s in table.sites]),
    }
    rows_of = defaultdict(list)
    for row, site in enumerate(table.sites):
        rows_of[site.protein].append(row)
    proteins = list(rows_of)
    offsets = np.arange(-radius, radius + 1)
    for start in range(0, len(proteins), PROTEINS_PER_PASS):
        chunk = proteins[start : start + PROTEINS_PER_PASS]
        outputs = backbone.run([table.sequences[p] for p in chunk], contacts=False)
        for protein, output in zip(chunk, outputs):
            rows = np.array(rows_of[protein])
            positions = np.array([table.sites[r].position - 1 for r in rows])
            hidden = output.hidden
            out["centre"][rows] = hidden[:, positions].transpose(1, 0, 2)
            around = positions[:, None] + offsets  # (sites, width)
            inside = (around >= 0) & (around < hidden.shape[1])
            out["states"][rows] = hidden[-2][around.clip(0, hidden.shape[1] - 1)] * inside[..., None]
            out["mask"][rows] = inside
        log.info("embedded %d of %d proteins", min(start + PROTEINS_PER_PASS, len(proteins)), len(proteins))
    return out


def split_by_protein(table: SiteTable, groups: np.ndarray, labels: np.ndarray, seed: int):
    """(test mask, validation mask, seed used): whole proteins, 15% and 10% of them (rounded).
    The first seed from `seed` on whose three parts each hold both classes is used."""
    n_proteins = len(np.unique(groups))
    n_test = max(1, round(TEST_FRACTION * n_proteins))
    n_validation = max(1, round(VALIDATION_FRACTION * n_proteins))
    for split_seed in range(seed, seed + SPLIT_TRIES):
        test = ptm.grouped_split(groups, n_test, split_seed)
        validation = np.zeros(len(groups), bool)
        validation[~test] = ptm.grouped_split(groups[~test], n_validation, split_seed)
        train = ~test & ~validation
        if all(len(np.unique(labels[part])) == 2 for part in (test, validation, train)):
            return test, validation, split_seed
    raise SiteDataError(
        [
            f"{table.path}: no split of its {len(table.sequences)} proteins into train, validation "
            f"({VALIDATION_FRACTION:.0%}) and test ({TEST_FRACTION:.0%}) gives each part both "
            "modified and unmodified sites; add proteins, or spread the modified sites over more of them"
        ]
    )


def score_like_the_app(
    card_path: Path, ptm_type: str, backbone: Backbone, table: SiteTable, rows: np.ndarray
) -> np.ndarray:
    """Probabilities of sites `rows` from the app's own prediction path: the saved head loaded
    by `Annotator` from its folder, one backbone pass over each whole sequence."""
    annotator = Annotator(backbone.spec, heads_dir=card_path.parent, max_length=10**7)
    annotator.backbone = backbone  # already loaded
    wanted = defaultdict(list)
    for row in rows:
        wanted[table.sites[row].protein].append(row)
    proteins = list(wanted)
    probability = {}
    for start in range(0, len(proteins), PROTEINS_PER_PASS):
        chunk = proteins[start : start + PROTEINS_PER_PASS]
        records = [Protein(p, (table.sequences[p],)) for p in chunk]
        for protein, annotation in zip(chunk, annotator.annotate_many(records, contacts=False)):
            by_position = {s.position: s.probability for s in annotation.sites if s.type == ptm_type}
            for row in wanted[protein]:
                probability[row] = by_position[table.sites[row].position]
    return np.array([probability[row] for row in rows])


def calibrated_threshold(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The probability cut with the largest F1 on validation sites (scikit-learn's PR curve),
    two decimals: the page's default threshold for this type."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, cuts = precision_recall_curve(labels.astype(int), probabilities)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return round(float(cuts[int(np.argmax(f1))]), 2) if len(cuts) else THRESHOLD


WINDOW = 7  # the one-hot baseline's ±residues
WINDOW_LETTERS = "ACDEFGHIKLMNPQRSTVWY"


def window_features(table: SiteTable, rows: np.ndarray) -> np.ndarray:
    """One-hot ±7-residue windows (20 letters; any other letter and beyond the ends: all zero)."""
    index = {a: i for i, a in enumerate(WINDOW_LETTERS)}
    width = 2 * WINDOW + 1
    x = np.zeros((len(rows), width * len(WINDOW_LETTERS)), np.float32)
    for k, row in enumerate(rows):
        site = table.sites[row]
        sequence = table.sequences[site.protein]
        for j, offset in enumerate(range(-WINDOW, WINDOW + 1)):
            i = site.position - 1 + offset
            if 0 <= i < len(sequence) and sequence[i] in index:
                x[k, j * len(WINDOW_LETTERS) + index[sequence[i]]] = 1.0
    return x


def window_baseline(
    table: SiteTable, labels: np.ndarray, test: np.ndarray, validation: np.ndarray, seed: int
) -> np.ndarray:
    """The sequence-only baseline on the same split: logistic regression on one-hot ±7 windows,
    its regularisation chosen on validation. Test scores of its best model."""
    from sklearn.linear_model import LogisticRegression

    train = ~test & ~validation
    x = window_features(table, np.arange(len(table.sites)))
    best = None
    for c in ptm.PROBE_C:
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(x[train], labels[train])
        score = roc_auc(labels[validation], model.decision_function(x[validation]))
        if best is None or score > best[1]:
            best = (model, score)
    return best[0].decision_function(x[test])


def _part(table: SiteTable, labels: np.ndarray, groups: np.ndarray, mask: np.ndarray) -> dict:
    return {
        "proteins": len(np.unique(groups[mask])),
        "sites": int(mask.sum()),
        "positive": int(labels[mask].sum()),
    }


def train_site_head(
    args, argv: list[str], table: SiteTable, started: float, card_fields: dict | None = None
) -> Path:
    """Embed the checked sites, split, train, measure, write. Returns the card's path.
    `card_fields`: more for the card (e.g. the data's sources and licences)."""
    name = head_stem(args.name)
    backbone = Backbone(args.backbone)
    model = backbone.load()
    longest = max(len(s) for s in table.sequences.values())
    log.info(
        "%s: %d sites (%d modified) on %d proteins, longest %d residues",
        table.path.name,
        len(table.sites),
        table.n_positive,
        len(table.sequences),
        longest,
    )
    stages = {"loading": time.perf_counter() - started}

    mark = time.perf_counter()
    data = embed_sites(backbone, table, ptm.NEIGHBOURHOOD)
    stages["embedding"] = time.perf_counter() - mark

    mark = time.perf_counter()
    labels, groups = data["labels"], data["groups"]
    test, validation, split_seed = split_by_protein(table, groups, labels, args.seed)
    development = {k: v[~test] for k, v in data.items()}
    _, probe_predict, probe_val = ptm.train_probe(development, validation[~test], args.seed)
    probe_scores = probe_predict(data["centre"][test])
    probe_test = roc_auc(labels[test], probe_scores)
    window_scores = window_baseline(table, labels, test, validation, args.seed)
    config = ptm.site_config(model.config, ptm_type=args.name, residues=args.residues)
    head, head_val, member_val = ptm.train_site_ensemble(
        development, validation[~test], config, args.members, args.seed, epochs=args.epochs
    )
    stages["training"] = time.perf_counter() - mark
    val_rows = np.where(validation[~test])[0]
    val_probabilities = ptm.scores(head, development, val_rows)
    calibrated = calibrated_threshold(development["labels"][val_rows], val_probabilities)

    unit = "homology group (the file's group column)" if table.groups else "protein id"
    card = {
        "kind": "site_ensemble",
        "name": name,
        "task": task_sentence(args.name, args.residues),
        "data": {
            "file": table.path.name,
            "sha256": table.sha256,
            "n_sites": len(table.sites),
            "n_positive": table.n_positive,
            "n_proteins": len(table.sequences),
            "longest_protein": longest,
            "windowed_proteins": sum(len(s) > backbone.max_residues for s in table.sequences.values()),
            "split": (
                f"by {unit} (scikit-learn GroupShuffleSplit, seed {split_seed}): test "
                f"{TEST_FRACTION:.0%} of groups, validation {VALIDATION_FRACTION:.0%}, train the rest"
            ),
            "train": _part(table, labels, groups, ~test & ~validation),
            "validation": _part(table, labels, groups, validation),
            "test": _part(table, labels, groups, test),
        },
        "metrics": {
            "validation_roc_auc": rounded(head_val),
            "member_validation_roc_auc": [rounded(a) for a in member_val],
            "probe_validation_roc_auc": rounded(probe_val),
            "probe_logistic_regression": {"Test": rounded(probe_test)},
            "baselines": {
                "probe_logistic_regression": baseline_metrics(labels[test], probe_scores),
                "one_hot_window_logistic_regression": baseline_metrics(labels[test], window_scores),
            },
        },
        "epochs": args.epochs,
        "threshold": {"value": calibrated, "chosen_by": "the largest F1 on the validation groups"},
        **common_fields(backbone, args.backbone, argv, args.seed),
        **(card_fields or {}),
    }
    card_path = write_card(head, card, args.out, started, stages)

    # The one measurement on test proteins, with the head as saved and the app's path.
    mark = time.perf_counter()
    test_rows = np.where(test)[0]
    probabilities = score_like_the_app(card_path, args.name, backbone, table, test_rows)
    truth = labels[test_rows].astype(int)
    card["metrics"]["final"] = {"Test": site_test_metrics(truth, probabilities, THRESHOLD)}
    at = threshold_curve(truth, probabilities, (calibrated,))
    card["metrics"]["final"]["Test"]["at_calibrated_threshold"] = {
        "threshold": calibrated, "precision": at["precision"][0] or 0.0, "recall": at["recall"][0] or 0.0
    }
    sample = np.sort(
        np.random.default_rng(args.seed).choice(
            len(test_rows), min(REGRESSION_SAMPLE, len(test_rows)), replace=False
        )
    )
    sample_auc = roc_auc(truth[sample], probabilities[sample])
    card["regression_sample"] = {
        "split": "Test",
        "ids": [table.sites[test_rows[i]].protein for i in sample],
        "positions": [table.sites[test_rows[i]].position for i in sample],
        "labels": [int(truth[i]) for i in sample],
        "probabilities": [rounded(probabilities[i]) for i in sample],
        "roc_auc": None if np.isnan(sample_auc) else rounded(sample_auc),
    }
    stages["final_test"] = time.perf_counter() - mark
    card_path = write_card(head, card, args.out, started, stages)
    log.info("stages (s): %s", json.dumps(card["pipeline_seconds"]))
    print(json.dumps({"card": str(card_path), "metrics": card["metrics"]}, indent=2))
    return card_path
