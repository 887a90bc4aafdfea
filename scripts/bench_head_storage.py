"""Float32 vs compact-storage heads, side by side on the same backbone pass.

    python scripts/bench_head_storage.py --original DIR_F32 --reduced assets/heads \
        [--cache FILE.npz] [--sweep 256,128,64] [--limit N] [--write-cards]

One backbone pass per sequence of the held-out sets (SUMO Test + Hard_Test windows, SCL2205
heldout, SCL2205 eval for the reference vote); both head sets read the same hidden states along
the app's path (`SiteEnsemble.predict` at the lysine; `pooled_features` into the localization
classifier, blended with the reference vote as `predict_with_similar` does: the vote runs batched
afterwards, checked against `predict_with_similar` on the first proteins of each split) and are
scored as the training pipeline scores the cards. `--cache` keeps what the backbone pass gave
(pooled features, classifier outputs, SUMO scores) so another reference set is scored in seconds.
`--sweep` also scores the original
localization head with its reference set cut to each number of principal components and stored
compactly (vote alone and blended, eval split: the split the vote was tuned on).
`--write-cards` records the reduced heads' measurements in the reduced cards (the float32 numbers
move to `metrics_float32`) and re-scores their regression samples through `Annotator`.
Get the float32 heads of a commit with `git show REV:assets/heads/NAME > DIR_F32/NAME`.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# torch, the models and the training pipeline are imported where used, so --help answers at once.
if TYPE_CHECKING:
    import numpy as np

    from models.analysis.backbone import Backbone

CHUNK = 32  # sequences per backbone call: bounds the hidden states held at once
CHECKED = 16  # proteins per split on which the batched blend is checked against the app's path


def passes(backbone: Backbone, sequences: list[str], label: str):
    """Yield each sequence's hidden states (layers+1, L, D), one backbone pass per sequence."""
    started = time.perf_counter()
    for start in range(0, len(sequences), CHUNK):
        for output in backbone.run(sequences[start : start + CHUNK], contacts=False):
            yield output.hidden
        done = min(start + CHUNK, len(sequences))
        print(f"  {label}: {done}/{len(sequences)} ({time.perf_counter() - started:.0f} s)", flush=True)


SCL_SPLITS = ("heldout", "eval")


def fingerprint(loc, site) -> str:
    """Identity of what the cache holds for the reduced heads: everything but the reference set."""
    digest = hashlib.sha256()
    for prefix, head in (("loc.", loc), ("site.", site)):
        for name, tensor in sorted(head.state_dict().items()):
            if name not in ("projection", "reference", "reference_labels"):
                digest.update((prefix + name).encode() + tensor.float().numpy().tobytes())
    return digest.hexdigest()


def classifier_probabilities(head, pooled: np.ndarray, last_layer: np.ndarray) -> np.ndarray:
    import torch

    residues = torch.from_numpy(last_layer)[None]
    logits = head(torch.from_numpy(pooled)[None], residues, torch.ones(residues.shape[:2]))
    return torch.softmax(logits, -1)[0].numpy()


def blend(head, classifier: np.ndarray, pooled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`LocalizationHead.probabilities` from the classifier part and the reference vote, batched:
    (blended, vote)."""
    import torch

    reference = head.config["reference"]
    vote = head.reference_vote(torch.from_numpy(pooled), reference["k"], reference["temperature"]).numpy()
    return (1 - reference["weight"]) * classifier + reference["weight"] * vote, vote


def embed(backbone, loc, site, limit) -> dict[str, np.ndarray]:
    """From one backbone pass per sequence: both site heads' scores at each SUMO window's lysine;
    per SCL protein the pooled features and both localization classifiers' probabilities (the
    reference vote is computed later, batched, for any reference set)."""
    import numpy as np

    from models.analysis.features import pooled_features
    from training import data

    arrays = {}
    for split in ("Test", "Hard_Test"):
        windows = data.sumo_split(split)
        windows = windows[: limit // 2] + windows[-limit // 2 :] if limit else windows
        arrays[f"{split}_labels"] = np.array([w.label for w in windows])
        scores = {name: [] for name in site}
        for hidden in passes(backbone, [w.window for w in windows], split):
            for name, head in site.items():
                scores[name].append(float(head.predict(hidden, [data.SUMO_CENTRE])[0]))
        for name, values in scores.items():
            arrays[f"{split}_{name}"] = np.array(values)
    index = {c: i for i, c in enumerate(loc["original"].config["classes"])}
    for split in SCL_SPLITS:
        df = data.scl_split(split)
        df = df.iloc[:limit] if limit else df
        arrays[f"{split}_labels"] = np.array([index[c] for c in df.scl])
        pooled_all, classifier = [], {name: [] for name in loc}
        for i, hidden in enumerate(passes(backbone, df.seq.tolist(), split)):
            pooled = pooled_features(hidden)
            pooled_all.append(pooled)
            for name, head in loc.items():
                classifier[name].append(classifier_probabilities(head, pooled, hidden[-1]))
                if i < CHECKED:  # the batched decomposition is the app's path
                    app = head.predict_with_similar(pooled, hidden[-1], 0)[0]
                    here = blend(head, classifier[name][-1][None], pooled[None])[0][0]
                    assert np.abs(app - here).max() < 1e-5, (name, np.abs(app - here).max())
        arrays[f"{split}_pooled"] = np.array(pooled_all)
        for name, values in classifier.items():
            arrays[f"{split}_classifier_{name}"] = np.array(values)
    return arrays


def sumo_scores(arrays) -> dict:
    import numpy as np

    from training.cards import rounded
    from training.metrics import roc_auc

    out = {}
    for split in ("Test", "Hard_Test"):
        labels = arrays[f"{split}_labels"]
        out[split] = {
            name: {
                "roc_auc": rounded(roc_auc(labels, arrays[f"{split}_{name}"])),
                "n_positive": int(labels.sum()),
                "n": len(labels),
            }
            for name in ("original", "reduced")
        }
        out[split]["max_abs_dp"] = float(
            np.abs(arrays[f"{split}_original"] - arrays[f"{split}_reduced"]).max()
        )
    return out


def localization_scores(arrays, split, loc) -> dict:
    import numpy as np
    from sklearn.metrics import accuracy_score

    from training.cards import rounded
    from training.shipped import localization_scores as card_scores  # the cards' scoring
    from training.shipped import membrane_classes

    classes = loc["original"].config["classes"]
    labels, pooled = arrays[f"{split}_labels"], arrays[f"{split}_pooled"]
    probs, votes = {}, {}
    for name, head in loc.items():
        probs[name], votes[name] = blend(head, arrays[f"{split}_classifier_{name}"], pooled)
    out = {name: card_scores(labels, p, membrane_classes(classes)) for name, p in probs.items()}
    out["max_abs_dp"] = float(np.abs(probs["original"] - probs["reduced"]).max())
    out["vote_accuracy"] = {name: rounded(accuracy_score(labels, v.argmax(1))) for name, v in votes.items()}
    return out


def sweep(arrays, original, dims_list) -> list[dict]:
    """Eval scores of the original head with its reference set cut to each `dims` and stored
    compactly; the classifier part is the reduced head's (int8, whatever the reference dims)."""
    import numpy as np
    from sklearn.metrics import accuracy_score

    from models.analysis.heads import decode_state, encode_state
    from training.cards import rounded
    from training.shipped import localization_scores as card_scores  # the cards' scoring
    from training.shipped import membrane_classes

    classes = original.config["classes"]
    labels, pooled = arrays["eval_labels"], arrays["eval_pooled"]
    unchanged = blend(original, arrays["eval_classifier_original"], pooled)[0]
    rows = []
    for dims in dims_list:
        head = copy.deepcopy(original)
        if dims != head.config["reference"]["dims"]:
            head.truncate_reference(dims)
        head.load_state_dict(decode_state(encode_state(head.state_dict())))
        probs, vote = blend(head, arrays["eval_classifier_reduced"], pooled)
        scored = card_scores(labels, probs, membrane_classes(classes))
        stored_rows = head.reference.shape[0] + head.projection.shape[0]
        megabytes = stored_rows * (dims + 2) / 1e6  # int8 values + a float16 scale per row
        rows.append(
            {
                "dims": dims,
                "vote_accuracy": rounded(accuracy_score(labels, vote.argmax(1))),
                **scored,
                "MB": megabytes,
                "max_abs_dp": float(np.abs(probs - unchanged).max()),
            }
        )
    return rows


def print_table(title: str, rows: dict) -> None:
    print(f"\n{title}")
    keys = [k for k in rows["original"] if k not in ("n", "n_positive")]
    print(f"  {'metric':<30}{'original':>10}{'reduced':>10}{'delta':>10}")
    for k in keys:
        a, b = rows["original"][k], rows["reduced"][k]
        print(f"  {k:<30}{a:>10.4f}{b:>10.4f}{b - a:>+10.4f}")
    print(f"  {'max |dp| (head output)':<30}{rows['max_abs_dp']:>30.2e}")


def write_cards(reduced_dir: Path, backbone: Backbone, results: dict) -> None:
    """Reduced measurements into the reduced cards; the float32 ones under `metrics_float32`;
    regression samples re-scored through the app's Annotator on the reduced heads."""
    import numpy as np

    from models.analysis.annotation import Annotator
    from models.shared.sequences import Protein
    from training import data
    from training.cards import rounded
    from training.metrics import roc_auc

    annotator = Annotator(backbone.spec, heads_dir=reduced_dir, max_length=10_000)
    annotator.backbone = backbone
    changed = {}

    path = reduced_dir / "ptm_sumo.json"
    card = json.loads(path.read_text())
    card["metrics_float32"] = {"final": {s: results["sumo"][s]["original"] for s in ("Test", "Hard_Test")}}
    card["metrics"]["final"] = {s: results["sumo"][s]["reduced"] for s in ("Test", "Hard_Test")}
    sample = card["regression_sample"]
    windows = {w.name: w for w in data.sumo_split("Train")}
    chosen = [windows[n] for n in sample["names"]]
    annotations = annotator.annotate_many([Protein(w.name, (w.window,)) for w in chosen], contacts=False)
    probabilities = [
        rounded(next(s.probability for s in a.sites if s.position == data.SUMO_CENTRE + 1))
        for a in annotations
    ]
    changed["ptm_sumo"] = sum(a != b for a, b in zip(probabilities, sample["probabilities"]))
    sample["probabilities"] = probabilities
    sample["roc_auc"] = rounded(roc_auc([w.label for w in chosen], probabilities))
    card["storage"]["metrics_measured_with_this_storage"] = ["metrics.final", "regression_sample"]
    path.write_text(json.dumps(card, indent=2) + "\n")

    path = reduced_dir / "localization.json"
    card = json.loads(path.read_text())
    card["metrics_float32"] = {"heldout": results["heldout"]["original"]}
    card["metrics"]["heldout"] = results["heldout"]["reduced"]
    measured = ["metrics.heldout", "regression_sample"]
    if "eval" in results:
        card["metrics_float32"]["eval"] = results["eval"]["original"]
        card["metrics"]["eval"] = results["eval"]["reduced"]
        vote = results["eval"]["vote_accuracy"]
        card["storage"]["reference_vote_eval_accuracy"] = {
            "float32": vote["original"],
            "stored": vote["reduced"],
        }
        measured.append("metrics.eval")
    sample = card["regression_sample"]
    df = data.scl_split("eval").loc[sample["entries"]]
    annotations = annotator.annotate_many(
        [Protein(e, (s,)) for e, s in zip(df.index, df.seq)], contacts=False
    )
    predicted = [a.top_localization[0] for a in annotations]
    changed["localization"] = sum(a != b for a, b in zip(predicted, sample["predicted"]))
    sample["predicted"] = predicted
    sample["accuracy"] = rounded(np.mean([p == t for p, t in zip(predicted, df.scl)]))
    card["storage"]["metrics_measured_with_this_storage"] = measured
    path.write_text(json.dumps(card, indent=2) + "\n")
    print(f"\ncards written; regression-sample values that changed: {changed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--original", type=Path, required=True, help="folder of the float32 heads + cards")
    parser.add_argument("--reduced", type=Path, required=True, help="folder of the compact heads + cards")
    parser.add_argument(
        "--cache", type=Path, default=None, help="npz of the backbone-derived inputs: reused if present"
    )
    parser.add_argument("--sweep", default="", help="reference dims to score on eval, e.g. 256,128,64")
    parser.add_argument(
        "--limit", type=int, default=None, help="first N sequences of each split (a smoke run)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--write-cards", action="store_true")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads; 1 runs many times faster on a shared machine"
    )
    args = parser.parse_args()
    import numpy as np
    import torch

    from models.analysis.backbone import Backbone
    from models.analysis.heads import load_head

    torch.set_num_threads(args.threads)

    torch.set_grad_enabled(False)
    backbone = Backbone()
    backbone.load()
    dirs = {"original": args.original, "reduced": args.reduced}
    loc = {name: load_head(d / "localization.json")[0] for name, d in dirs.items()}
    site = {name: load_head(d / "ptm_sumo.json")[0] for name, d in dirs.items()}
    for name, d in dirs.items():
        sizes = {p.name: p.stat().st_size for p in sorted(d.glob("*.safetensors"))}
        print(f"{name}: {sizes}, reference dims {loc[name].config['reference']['dims']}")

    key = fingerprint(loc["reduced"], site["reduced"]) + f"/limit={args.limit}"
    if args.cache and args.cache.is_file():
        arrays = dict(np.load(args.cache))
        if str(arrays.pop("key")) != key:
            parser.error(f"{args.cache} holds other reduced heads (or another --limit): delete it")
        print(f"backbone-derived inputs from {args.cache}")
    else:
        arrays = embed(backbone, loc, site, args.limit)
        if args.cache:
            np.savez(args.cache, key=np.array(key), **arrays)

    results = {"sumo": sumo_scores(arrays)}
    for split in ("Test", "Hard_Test"):
        print_table(f"SUMO {split} (ROC-AUC)", results["sumo"][split])
    for split in SCL_SPLITS:
        results[split] = localization_scores(arrays, split, loc)
        print_table(f"Localization {split} (n={len(arrays[split + '_labels'])})", results[split])
    print(f"\nreference vote alone, eval accuracy: {results['eval']['vote_accuracy']}")
    if args.sweep:
        results["sweep"] = sweep(arrays, loc["original"], [int(x) for x in args.sweep.split(",")])
        print("\nreference dims sweep (eval; compact storage; classifier part = reduced head's)")
        columns = (
            "vote_accuracy",
            "accuracy",
            "macro_f1",
            "top2_accuracy",
            "top3_accuracy",
            "MB",
            "max_abs_dp",
        )
        print(f"  {'dims':>6}" + "".join(f"{c[:10]:>11}" for c in columns))
        for row in results["sweep"]:
            print(f"  {row['dims']:>6}" + "".join(f"{row[c]:>11.4f}" for c in columns))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.write_cards:
        if args.limit:
            parser.error("--write-cards needs a full run (no --limit)")
        write_cards(args.reduced, backbone, results)


if __name__ == "__main__":
    main()
