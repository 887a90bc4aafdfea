"""The shipped heads (`python -m training`): SUMOylation sites (esm-sumo) and localization
(SCL2205), each trained on cached embeddings and measured once on its final test sets through the
app's prediction path (`models.analysis.annotation.Annotator`)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, top_k_accuracy_score

from models.analysis.annotation import Annotator
from models.analysis.backbone import Backbone
from models.shared.files import cache_root
from models.shared.sequences import Protein
from training import data, localization, ptm
from training.cards import common_fields, rounded, write_card
from training.embed_cache import cache_scl, cache_sumo
from training.metrics import (
    MIN_BIN,
    level_below_which,
    level_from_which,
    reliability_bins,
    roc_auc,
    share_right,
    site_test_metrics,
)

log = logging.getLogger("training")
REGRESSION_SAMPLE = 120  # rows re-checked by the test suite through the app's prediction path
SMOKE_LIMIT = 100  # final-test rows measured with --smoke


def annotate_in_chunks(annotator: Annotator, proteins: list[Protein], size: int = 128) -> list:
    # Chunks bound memory: one pass keeps every layer's states for the sequences in flight.
    out = []
    for start in range(0, len(proteins), size):
        out.extend(annotator.annotate_many(proteins[start : start + size], contacts=False))
    return out


def centre_scores(annotator: Annotator, windows: list[data.SiteWindow]) -> list[float]:
    annotations = annotate_in_chunks(annotator, [Protein(w.name, (w.window,)) for w in windows])
    return [next(s.probability for s in a.sites if s.position == data.SUMO_CENTRE + 1) for a in annotations]


def sumo_regression_sample(annotator: Annotator, validation_names: list[str], seed: int) -> dict:
    """A fixed sample of validation windows, scored the way the app scores any sequence."""
    by_name = {w.name: w for w in data.sumo_split("Train")}
    names = sorted(np.random.default_rng(seed).choice(validation_names, REGRESSION_SAMPLE, replace=False))
    windows = [by_name[n] for n in names]
    scores = centre_scores(annotator, windows)
    return {
        "split": "Train (validation proteins)",
        "names": [str(n) for n in names],
        "probabilities": [rounded(x) for x in scores],
        "roc_auc": rounded(roc_auc([w.label for w in windows], scores)),
    }


def final_sumo_metrics(annotator: Annotator, limit: int | None = None) -> dict:
    """ROC-AUC, and precision/recall at each threshold, on Test and Hard_Test; each window is run
    through Annotator.annotate like any input."""
    out = {}
    for split in ("Test", "Hard_Test"):
        windows = data.sumo_split(split)
        if limit:
            windows = windows[: limit // 2] + windows[-limit // 2 :]
        scores = centre_scores(annotator, windows)
        out[split] = site_test_metrics([w.label for w in windows], scores)
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


def annotate_scl(annotator: Annotator, split: str, limit: int | None = None) -> tuple[list[str], list]:
    """(true classes, annotations) of an SCL2205 split, each protein run through
    Annotator.annotate like any input."""
    df = data.scl_split(split)
    if limit:
        df = df.iloc[:limit]
    annotations = annotate_in_chunks(annotator, [Protein(e, (s,)) for e, s in zip(df.index, df.seq)])
    return list(df.scl), annotations


def final_localization_metrics(truth: list[str], annotations: list, classes: list[str]) -> dict:
    index = {c: i for i, c in enumerate(classes)}
    labels = np.array([index[c] for c in truth])
    probs = np.array([[a.localization[c] for c in classes] for a in annotations])
    return localization_scores(labels, probs, membrane_classes(classes))


LOW_CONFIDENCE_ACCURACY = 0.5  # "low confidence": predictions this unsure are right less than half the time


def localization_records(truth: list[str], annotations: list) -> list[dict]:
    """What calibration reads of each prediction: true class, top class and its probability, the
    most similar training protein (None without a reference set)."""
    return [
        {
            "truth": t,
            "top": a.top_localization[0],
            "p": a.top_localization[1],
            "nearest": (a.similar or [None])[0],
        }
        for t, a in zip(truth, annotations)
    ]


def _outcomes(records: list[dict]) -> dict[str, np.ndarray]:
    nearest = [r["nearest"] for r in records]
    return {
        "confidence": np.array([r["p"] for r in records]),
        "correct": np.array([r["top"] == r["truth"] for r in records]),
        "similarity": np.array([n["similarity"] if n else np.nan for n in nearest]),
        "neighbour_agrees": np.array(
            [bool(n) and n["localization"] == r["truth"] for n, r in zip(nearest, records)]
        ),
    }


def localization_calibration(evaluation: list[dict], heldout: list[dict]) -> dict:
    """How far to trust the top class and the similar-proteins list, from `localization_records`
    of SCL2205 eval (where the levels are chosen) and heldout (where they are
    checked). The low-confidence level: the upper edge of the highest 0.05-wide eval bin of
    top-class probability (>= MIN_BIN proteins) whose top class is right less than half the time.
    A close training protein: similarity from which the most similar training protein's class
    is right at least as often as the head's own top class, bin by bin on eval."""
    ev, ho = _outcomes(evaluation), _outcomes(heldout)
    bins = reliability_bins(ev["confidence"], ev["correct"])
    level = level_below_which(bins, LOW_CONFIDENCE_ACCURACY)
    has = ~np.isnan(ev["similarity"]), ~np.isnan(ho["similarity"])
    similarity_bins = reliability_bins(ev["similarity"][has[0]], ev["neighbour_agrees"][has[0]])
    head_accuracy = float(ev["correct"].mean())
    close = level_from_which(similarity_bins, head_accuracy)
    neighbour = ho["similarity"][has[1]], ho["neighbour_agrees"][has[1]]
    return {
        "low_confidence_below": level,
        "rule": (
            "upper edge of the highest 0.05-wide bin of top-class probability on SCL2205 eval "
            f"(bins of at least {MIN_BIN} proteins) whose top class is right less than "
            f"{LOW_CONFIDENCE_ACCURACY:.0%} of the time"
        ),
        "bins": bins,
        "heldout_bins": reliability_bins(ho["confidence"], ho["correct"]),
        "heldout_below": share_right(ho["confidence"], ho["correct"], below=level) if level else None,
        "heldout_at_or_above": (
            share_right(ho["confidence"], ho["correct"], at_least=level) if level else None
        ),
        "similarity": {
            "close_from": close,
            "rule": (
                "lowest similarity from which every 0.05-wide eval bin (at least "
                f"{MIN_BIN} proteins) of the most similar training protein agrees with the true "
                f"class at least as often as the head's own top class on eval ({head_accuracy:.1%})"
            ),
            "bins": similarity_bins,
            "heldout_close": share_right(*neighbour, at_least=close) if close else None,
            "heldout_not_close": share_right(*neighbour, below=close) if close else None,
        },
    }


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
    evaluation, heldout = (annotate_scl(annotator, split, limit) for split in ("eval", "heldout"))
    loc_card["metrics"]["heldout"] = final_localization_metrics(*heldout, data.scl_classes())
    loc_card["calibration"] = localization_calibration(
        localization_records(*evaluation), localization_records(*heldout)
    )
    write_card(sumo_head, sumo_card, args.out, started, stages)
    write_card(loc_head, loc_card, args.out, started, stages)
    print(json.dumps({"ptm_sumo": sumo_card["metrics"], "localization": loc_card["metrics"]}, indent=2))
