"""`python -m training secondary`: DSSP classes and accessibility per residue, from the sequence.

1. ProMod3's structure database (training.secondary_data: Debian promod3-data, downloaded once),
   its reader checked on the real file (training.secondary_checks; figures go in the card).
2. Chains clustered at 25% identity; train, validation and test are whole clusters, one chain
   drawn per cluster (as ProtTrans: no two chains used share 25% identity).
3. Every layer's states of the frozen backbone per residue (each chain whole, as the app runs it),
   a `SecondaryHead` trained on 8 DSSP classes + RSA, early-stopped on validation Q8.
4. The seed's baseline on the same split: logistic regression (8 classes) and ridge regression
   (RSA) on the last layer alone.
5. One measurement on the test chains through the app's own path (`Annotator`, the saved head).
"""

from __future__ import annotations

import copy
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.analysis.annotation import Annotator
from models.analysis.backbone import Backbone
from models.analysis.heads import SecondaryHead
from models.analysis.secondary_prediction import EIGHT
from models.shared.sequences import Protein
from models.structure.secondary import MAX_ASA_TIEN_2013
from training.cards import common_fields, write_card
from training.metrics import secondary_metrics
from training.secondary_checks import run_checks
from training.secondary_data import FIXTURES, PROMOD3, fetch_database, split_chains
from training.structure_db import StructureDB

log = logging.getLogger("training")
TEST_FRACTION, VALIDATION_FRACTION = 0.10, 0.05  # of clusters
CHAINS_PER_PASS = 16
BATCH_CHAINS = 16
LEARNING_RATE, WEIGHT_DECAY = 1e-3, 1e-2
RSA_WEIGHT = 10.0  # RSA's squared error (~0.03) against the 8-class cross-entropy (~0.8)
BASELINE_RESIDUES = 100_000  # training residues the logistic-regression baseline is fitted on
REGRESSION_SAMPLE = 20  # test chains whose predicted three-state strings the card keeps
NORM_RESIDUES = 200_000  # residues the input standardisation is estimated from
ANCHORS = {
    "ProtTrans (ProtT5-XL-U50 embeddings, CNN; Elnaggar et al. 2022)": {
        "q3": "0.81-0.87", "q8": "0.70-0.77",
        "test_sets": "NEW364, CASP12, TS115, CB513 (≤ 20-25% identity to training, MMseqs2)",
    },
}  # fmt: skip
GOALS = {"q3": 0.75, "q8": 0.62, "rsa_pearson_r": 0.65}
MAX_ASA = np.zeros(256, np.float32)
for _letter, _value in MAX_ASA_TIEN_2013.items():
    MAX_ASA[ord(_letter)] = _value
CLASS_OF = np.full(256, EIGHT.index("C"), np.int64)  # anything unexpected reads as "other"
for _k, _letter in enumerate(EIGHT):
    CLASS_OF[ord(_letter)] = _k


def labels(db: StructureDB, i: int) -> tuple[np.ndarray, np.ndarray]:
    """(L,) class indices in EIGHT's order and (L,) RSA = stored Å² / Tien's maximum, clipped to 1."""
    chain = db[i]
    letters = np.frombuffer(chain.dssp.encode(), np.uint8)
    residues = np.frombuffer(chain.sequence.encode(), np.uint8)
    return CLASS_OF[letters], np.clip(chain.accessibility / MAX_ASA[residues], 0.0, 1.0)


def embed(backbone: Backbone, db: StructureDB, chains: list[int]) -> list[np.ndarray]:
    """(L, layers*D) float16 per chain: every layer's states at each residue."""
    out = []
    for start in range(0, len(chains), CHAINS_PER_PASS):
        part = chains[start : start + CHAINS_PER_PASS]
        for output in backbone.run([db.sequence(i) for i in part], contacts=False):
            hidden = output.hidden  # (layers+1, L, D)
            out.append(hidden.transpose(1, 0, 2).reshape(hidden.shape[1], -1).astype(np.float16))
        if (start // CHAINS_PER_PASS) % 25 == 0:
            log.info("embedded %d of %d chains", start + len(part), len(chains))
    return out


def _batch(features, targets, rows):
    length = max(len(features[r]) for r in rows)
    x = torch.zeros(len(rows), length, features[rows[0]].shape[1])
    mask = torch.zeros(len(rows), length)
    y = torch.zeros(len(rows), length, dtype=torch.long)
    rsa = torch.zeros(len(rows), length)
    for k, r in enumerate(rows):
        n = len(features[r])
        x[k, :n] = torch.from_numpy(features[r].astype(np.float32))
        mask[k, :n] = 1
        y[k, :n] = torch.from_numpy(targets[r][0])
        rsa[k, :n] = torch.from_numpy(targets[r][1])
    return x, mask, y, rsa


def _batches(features, order: np.ndarray) -> list[list[int]]:
    """Chains of similar length together (little padding), batches in `order`'s randomness."""
    by_length = sorted(order.tolist(), key=lambda r: len(features[r]))
    batches = [by_length[k : k + BATCH_CHAINS] for k in range(0, len(by_length), BATCH_CHAINS)]
    return [batches[k] for k in np.random.default_rng(int(order[0])).permutation(len(batches))]


def predict(head: SecondaryHead, features: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    head.eval()
    probabilities, rsa = [], []
    with torch.inference_mode():
        for start in range(0, len(features), BATCH_CHAINS):
            rows = list(range(start, min(start + BATCH_CHAINS, len(features))))
            blank = {r: (np.zeros(len(features[r]), np.int64), np.zeros(len(features[r]))) for r in rows}
            x, mask, _, _ = _batch(features, blank, rows)
            logits = head(x, mask)
            for k, r in enumerate(rows):
                n = len(features[r])
                probabilities.append(torch.softmax(logits[k, :n, : len(EIGHT)], -1).numpy())
                rsa.append(torch.sigmoid(logits[k, :n, len(EIGHT)]).numpy())
    return np.concatenate(probabilities), np.concatenate(rsa)


def train_head(train, validation, config: dict, epochs: int, seed: int) -> tuple[SecondaryHead, list[dict]]:
    """Train on (features, targets) lists; keep the epoch with the best validation Q8."""
    torch.manual_seed(seed)
    head = SecondaryHead(config)
    rng = np.random.default_rng(seed)
    stacked = np.concatenate(train[0])
    drawn = rng.choice(len(stacked), min(NORM_RESIDUES, len(stacked)), replace=False)
    sample = stacked[drawn].astype(np.float32)
    head.norm.fit(sample)
    del stacked, sample
    optimiser = torch.optim.AdamW(head.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    true8 = np.concatenate([t[0] for t in validation[1]])
    true_rsa = np.concatenate([t[1] for t in validation[1]])
    best, history = None, []
    for epoch in range(epochs):
        head.train()
        started, total = time.perf_counter(), 0.0
        for rows in _batches(train[0], rng.permutation(len(train[0]))):
            x, mask, y, rsa = _batch(train[0], train[1], rows)
            logits = head(x, mask)
            inside = mask.bool()
            loss = nn.functional.cross_entropy(logits[..., : len(EIGHT)][inside], y[inside])
            loss = loss + RSA_WEIGHT * ((torch.sigmoid(logits[..., len(EIGHT)]) - rsa)[inside] ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach())
        p8, p_rsa = predict(head, validation[0])
        figures = secondary_metrics(true8, p8, true_rsa, p_rsa)
        history.append({"epoch": epoch + 1, "validation_q8": figures["q8"], "validation_q3": figures["q3"],
                        "validation_rsa_r": figures["rsa_pearson_r"],
                        "seconds": round(time.perf_counter() - started)})  # fmt: skip
        log.info("epoch %d: %s", epoch + 1, history[-1])
        if best is None or figures["q8"] > best[0]:
            best = (figures["q8"], copy.deepcopy(head.state_dict()))
    head.load_state_dict(best[1])
    return head.eval(), history


def baseline(train_last: np.ndarray, train_targets, seed: int):
    """The seed's baseline: logistic regression (8 classes) and ridge (RSA) on the last layer,
    standardised, fitted on BASELINE_RESIDUES training residues drawn at random."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y8 = np.concatenate([t[0] for t in train_targets])
    y_rsa = np.concatenate([t[1] for t in train_targets])
    rows = np.random.default_rng(seed).choice(len(y8), min(BASELINE_RESIDUES, len(y8)), replace=False)
    classes = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, random_state=seed))
    classes.fit(train_last[rows], y8[rows])
    rsa = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(train_last[rows], y_rsa[rows])

    def apply(last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = np.zeros((len(last), len(EIGHT)), np.float32)
        p[:, classes.classes_] = classes.predict_proba(last)
        return p, np.clip(rsa.predict(last), 0, 1)

    return apply


def measure_like_the_app(card_path: Path, backbone: Backbone, db: StructureDB, chains: list[int]):
    """Predictions for `chains` from the app's path (the saved head, loaded by `Annotator`), and
    each chain's last layer for the baseline from the same pass."""
    annotator = Annotator(backbone.spec, heads_dir=card_path.parent, max_length=10**7)
    annotator.backbone = backbone
    probabilities, rsa, last, ss3 = [], [], [], []
    for start in range(0, len(chains), CHAINS_PER_PASS):
        part = chains[start : start + CHAINS_PER_PASS]
        records = [Protein(db.name(i), (db.sequence(i),)) for i in part]
        for a in annotator.annotate_many(records, contacts=False, tasks=("secondary", "embeddings")):
            probabilities.append(a.secondary.probabilities)
            rsa.append(a.secondary.rsa)
            last.append(a.embedding)
            ss3.append(a.secondary.ss3)
    return np.concatenate(probabilities), np.concatenate(rsa), np.concatenate(last), ss3


def _goals(figures: dict) -> dict:
    return {k: {"goal": v, "value": figures[k], "met": figures[k] >= v} for k, v in GOALS.items()}


def run(args, argv: list[str]) -> Path:
    started = time.perf_counter()
    stages = {}
    path = args.database or fetch_database(args.work)
    db = StructureDB(path)
    checks = run_checks(db, FIXTURES, args.check_chains, args.seed)
    log.info("reader checks: %s", json.dumps(checks))
    split = split_chains(db, args.work, args.seed, TEST_FRACTION, VALIDATION_FRACTION)
    chains = {
        "train": split.one_per_cluster(split.train, args.max_train, args.seed),
        "validation": split.one_per_cluster(split.validation, args.max_validation, args.seed + 1),
        "test": split.one_per_cluster(split.test, args.max_test, args.seed + 2),
    }
    log.info("chains: %s", {k: len(v) for k, v in chains.items()})
    stages["data"] = time.perf_counter() - started

    mark = time.perf_counter()
    backbone = Backbone(args.backbone)
    model = backbone.load()
    train = (embed(backbone, db, chains["train"]), [labels(db, i) for i in chains["train"]])
    validation = (embed(backbone, db, chains["validation"]), [labels(db, i) for i in chains["validation"]])
    stages["embedding"] = time.perf_counter() - mark

    mark = time.perf_counter()
    dim = model.config.hidden_size
    last_layer = np.concatenate([f[:, -dim:] for f in train[0]]).astype(np.float32)
    apply_baseline = baseline(last_layer, train[1], args.seed)
    del last_layer
    stages["baseline"] = time.perf_counter() - mark
    mark = time.perf_counter()
    config = {
        "layers": model.config.num_hidden_layers + 1,
        "dim": dim,
        "hidden": args.hidden,
        "kernel": args.kernel,
        "classes": EIGHT,
        "dropout": 0.25,
    }
    head, history = train_head(train, validation, config, args.epochs, args.seed)
    stages["training"] = time.perf_counter() - mark
    del train, validation

    card = {
        "kind": "secondary",
        "name": "secondary_structure",
        "task": "DSSP class (8 states; 3 by summing) and relative solvent accessibility of every residue",
        "data": {
            "source": PROMOD3,
            "file": Path(path).name,
            "reader_checks": checks,
            "split": split.report,
            "chains_used": {k: len(v) for k, v in chains.items()},
            "one_chain_per_cluster": True,
            "rsa": "stored accessibility (Å²) / Tien et al. 2013 theoretical maximum, clipped to 1",
        },
        "history": history,
        "anchors": ANCHORS,
        **common_fields(backbone, args.backbone, argv, args.seed),
    }
    card_path = write_card(head, card, args.out, started, stages)

    mark = time.perf_counter()
    targets = [labels(db, i) for i in chains["test"]]
    true8 = np.concatenate([t[0] for t in targets])
    true_rsa = np.concatenate([t[1] for t in targets])
    p8, p_rsa, last, ss3 = measure_like_the_app(card_path, backbone, db, chains["test"])
    head_figures = secondary_metrics(true8, p8, true_rsa, p_rsa)
    b8, b_rsa = apply_baseline(last)
    baseline_figures = secondary_metrics(true8, b8, true_rsa, b_rsa)
    card["metrics"] = {
        "final": {"Test": {**head_figures, "chains": len(chains["test"])}},
        "baselines": {"logistic_regression_last_layer": baseline_figures},
        "goals": _goals(head_figures),
        "baseline_fitted_on": f"{BASELINE_RESIDUES:,} training residues drawn at random",
    }
    # Re-checked by tests through the app's path where the database is at hand.
    card["regression_sample"] = {
        "chains": [db.name(i) for i in chains["test"][:REGRESSION_SAMPLE]],
        "ss3": ss3[:REGRESSION_SAMPLE],
    }
    stages["final_test"] = time.perf_counter() - mark
    card_path = write_card(head, card, args.out, started, stages)
    print(json.dumps({"card": str(card_path), "metrics": card["metrics"]}, indent=2))
    return card_path
