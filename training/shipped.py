"""The shipped heads (`python -m training`): SUMOylation sites (esm-sumo) and localization
(SCL2205), each trained on cached embeddings and measured once on its final test sets through the
app's prediction path (`models.annotation.Annotator`)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, top_k_accuracy_score

from models.annotation import Annotator
from models.backbone import Backbone, cache_root
from models.sequences import Protein
from training import data, localization, ptm
from training.cards import common_fields, rounded, write_card
from training.embed_cache import cache_scl, cache_sumo
from training.metrics import roc_auc

log = logging.getLogger("training")
REGRESSION_SAMPLE = 120  # rows re-checked by the test suite through the app's prediction path
SMOKE_LIMIT = 100  # final-test rows measured with --smoke


def annotate_in_chunks(annotator: Annotator, proteins: list[Protein], size: int = 128) -> list:
    # Chunks bound memory: one pass keeps every layer's states for the sequences in flight.
    out = []
    for start in range(0, len(proteins), size):
        out.extend(annotator.annotate_many(proteins[start : start + size], contacts=False))
    return out


def _centre_scores(annotator: Annotator, windows: list[data.SiteWindow]) -> list[float]:
    annotations = annotate_in_chunks(annotator, [Protein(w.name, (w.window,)) for w in windows])
    return [next(s.probability for s in a.sites if s.position == data.SUMO_CENTRE + 1) for a in annotations]


def sumo_regression_sample(annotator: Annotator, validation_names: list[str], seed: int) -> dict:
    """A fixed sample of validation windows, scored the way the app scores any sequence."""
    by_name = {w.name: w for w in data.sumo_split("Train")}
    names = sorted(np.random.default_rng(seed).choice(validation_names, REGRESSION_SAMPLE, replace=False))
    windows = [by_name[n] for n in names]
    scores = _centre_scores(annotator, windows)
    return {
        "split": "Train (validation proteins)",
        "names": [str(n) for n in names],
        "probabilities": [rounded(x) for x in scores],
        "roc_auc": rounded(roc_auc([w.label for w in windows], scores)),
    }


def final_sumo_metrics(annotator: Annotator, limit: int | None = None) -> dict:
    """ROC-AUC on Test and Hard_Test, each window run through Annotator.annotate like any input."""
    out = {}
    for split in ("Test", "Hard_Test"):
        windows = data.sumo_split(split)
        if limit:
            windows = windows[: limit // 2] + windows[-limit // 2 :]
        scores = _centre_scores(annotator, windows)
        out[split] = {
            "roc_auc": rounded(roc_auc([w.label for w in windows], scores)),
            "n_positive": sum(w.label for w in windows),
            "n": len(windows),
        }
    return out


def localization_regression_sample(annotator: Annotator, seed: int) -> dict:
    df = data.scl_split("eval")
    df = df.loc[sorted(np.random.default_rng(seed).choice(df.index, REGRESSION_SAMPLE, replace=False))]
    annotations = annotate_in_chunks(annotator, [Protein(e, (s,)) for e, s in zip(df.index, df.seq)])
    predicted = [a.top_localization[0] for a in annotations]
    return {
        "split": "eval",
        "entries": df.index.tolist(),
        "predicted": predicted,
        "accuracy": rounded(np.mean([p == t for p, t in zip(predicted, df.scl)])),
    }


def final_localization_metrics(annotator: Annotator, classes: list[str], limit: int | None = None) -> dict:
    df = data.scl_split("heldout")
    if limit:
        df = df.iloc[:limit]
    index = {c: i for i, c in enumerate(classes)}
    labels = np.array([index[c] for c in df.scl])
    annotations = annotate_in_chunks(annotator, [Protein(e, (s,)) for e, s in zip(df.index, df.seq)])
    probs = np.array([[a.localization[c] for c in classes] for a in annotations])
    return localization_scores(labels, probs, membrane_classes(classes))


def membrane_classes(classes: list[str]) -> list[int]:
    return [i for i, c in enumerate(classes) if "Membrane" in c.split(";")]


def localization_scores(labels: np.ndarray, probs: np.ndarray, membrane: list[int]) -> dict:
    predicted = probs.argmax(1)
    all_classes = np.arange(probs.shape[1])
    is_membrane = np.isin(labels, membrane)
    return {
        "accuracy": rounded(accuracy_score(labels, predicted)),
        "macro_f1": rounded(f1_score(labels, predicted, average="macro")),
        "top2_accuracy": rounded(top_k_accuracy_score(labels, probs, k=2, labels=all_classes)),
        "top3_accuracy": rounded(top_k_accuracy_score(labels, probs, k=3, labels=all_classes)),
        "membrane_vs_soluble_accuracy": rounded(accuracy_score(is_membrane, probs[:, membrane].sum(1) > 0.5)),
        "n": int(len(labels)),
    }


def train_sumo(paths: dict[str, Path], backbone_config, args) -> tuple:
    """The SUMO SiteEnsemble, its probe and CV report. Returns (head, card, validation mask)."""
    base = ptm.load_sites(paths["Train"], with_states=True)
    validation = ptm.grouped_split(base["groups"], ptm.VALIDATION_FRACTION, args.seed)
    _, probe_predict, probe_val = ptm.train_probe(base, validation, args.seed)
    config = ptm.site_config(backbone_config)
    epochs = {"epochs": 1} if args.smoke else {}
    head, head_val, member_val = ptm.train_site_ensemble(
        base, validation, config, args.members, args.seed, **epochs
    )
    cv = [] if args.skip_cv or args.smoke else ptm.grouped_cross_validation(base, config, seed=args.seed)
    probe_test = {}
    for split in ("Test", "Hard_Test"):
        cached = ptm.load_sites(paths[split], with_states=False)
        probe_test[split] = rounded(roc_auc(cached["labels"], probe_predict(cached["centre"])))
    card = {
        "kind": "site_ensemble",
        "name": "ptm_sumo",
        "task": "SUMOylation site probability for every lysine",
        "data": {
            "package": data.SUMO_PACKAGE,
            "variant": data.SUMO_VARIANT,
            "train_windows": int(len(base["labels"])),
            "train_positive": int(base["labels"].sum()),
            "validation": "10% of Train proteins (grouped)",
            "final_test_sets": ["Test", "Hard_Test"],
        },
        "metrics": {
            "validation_roc_auc": rounded(head_val),
            "member_validation_roc_auc": [rounded(a) for a in member_val],
            "probe_validation_roc_auc": rounded(probe_val),
            "probe_logistic_regression": probe_test,
            "protein_grouped_5fold_cv_roc_auc": [rounded(a) for a in cv],
            "protein_grouped_cv_note": "one head (not the ensemble)",
        },
    }
    return head, card, validation


def train_localization(paths: dict[str, Path], backbone_config, args) -> tuple:
    """The localization head with its reference vote, and its probe. Returns (head, card)."""
    classes = data.scl_classes()
    train = localization.load_proteins(paths["train"], classes)
    evaluation = localization.load_proteins(paths["eval"], classes)
    heldout = localization.load_proteins(paths["heldout"], classes)
    probe = localization.train_probe(train, evaluation, classes, args.seed)
    config = localization.localization_config(backbone_config, classes, train["pooled"].shape[1], True)
    epochs = {"epochs": 1} if args.smoke else {}
    head, _ = localization.train_localization_head(train, evaluation, config, args.seed, **epochs)
    localization.fit_reference(head, train, evaluation)
    membrane = membrane_classes(classes)
    eval_probs = localization.predict_probabilities(head, evaluation)
    card = {
        "kind": "localization",
        "name": "localization",
        "task": "SCL2205 subcellular localization",
        "data": {
            "package": data.SCL_PACKAGE,
            "train": int(len(train["labels"])),
            "eval": int(len(evaluation["labels"])),
            "heldout": int(len(heldout["labels"])),
            "selection": "eval split",
            "final_test_set": "heldout",
        },
        "membrane_classes": [classes[i] for i in membrane],
        # Accessions of the reference set, in the head's order: the app names the most similar
        # training proteins next to each prediction.
        "reference_entries": json.loads((paths["train"] / "entries.json").read_text()),
        "metrics": {
            "eval": localization_scores(evaluation["labels"], eval_probs, membrane),
            "probe_logistic_regression": {
                "eval": localization_scores(evaluation["labels"], probe(evaluation["pooled"]), membrane),
                "heldout": localization_scores(heldout["labels"], probe(heldout["pooled"]), membrane),
            },
        },
    }
    return head, card


def run(args, argv: list[str]) -> None:
    """Embed (cached), train both heads, save, measure the final test sets, save again."""
    started = time.perf_counter()
    backbone = Backbone(args.backbone)
    model = backbone.load()
    fingerprint = backbone.weights_sha256 or hashlib.sha1(args.backbone.encode()).hexdigest()
    cache = args.cache or cache_root() / "training" / fingerprint[:16]
    log.info("backbone %s (%s), cache %s", args.backbone, backbone.path, cache)
    paths = {s: cache_sumo(backbone, s, cache) for s in ("Train", "Test", "Hard_Test")}
    paths.update({s: cache_scl(backbone, s, cache) for s in ("train", "eval", "heldout")})
    stages = {"embedding": time.perf_counter() - started}
    common = common_fields(backbone, args.backbone, argv, args.seed)

    sumo_head, sumo_card, validation = train_sumo(paths, model.config, args)
    loc_head, loc_card = train_localization(paths, model.config, args)
    sumo_card.update(common)
    loc_card.update(common)

    # Save, then measure the final test sets once through the app's prediction path.
    write_card(sumo_head, sumo_card, args.out, started, stages)
    write_card(loc_head, loc_card, args.out, started, stages)
    annotator = Annotator(args.backbone, heads_dir=args.out, max_length=10_000)
    annotator.backbone = backbone  # already loaded
    names = json.loads((paths["Train"] / "names.json").read_text())
    validation_names = sorted({n for n, v in zip(names, validation) if v and "|" not in n})
    sumo_card["regression_sample"] = sumo_regression_sample(annotator, validation_names, args.seed)
    loc_card["regression_sample"] = localization_regression_sample(annotator, args.seed)
    limit = SMOKE_LIMIT if args.smoke else None
    sumo_card["metrics"]["final"] = final_sumo_metrics(annotator, limit)
    loc_card["metrics"]["heldout"] = final_localization_metrics(annotator, data.scl_classes(), limit)
    write_card(sumo_head, sumo_card, args.out, started, stages)
    write_card(loc_head, loc_card, args.out, started, stages)
    print(json.dumps({"ptm_sumo": sumo_card["metrics"], "localization": loc_card["metrics"]}, indent=2))
