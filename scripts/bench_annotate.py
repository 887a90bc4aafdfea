"""One backbone pass for every head vs the naive way, side by side in one run.

    python scripts/bench_annotate.py [--n 100] [--token-budget 2048]

Naive (as in the Hugging Face protein notebooks): one sequence at a time, the tokenizer, and a
separate model call per task: a forward for the localization features, another for the
per-residue PTM features, and `predict_contacts` (a third, eager-attention forward).
One-pass: `Annotator.annotate_many` — token-budget batches, one forward per sequence returning
hidden states and attention-derived contacts, all heads applied to it.
Each mode runs in its own child process so its peak RSS is its own. Needs p-scldata (the sample
is SCL2205 eval sequences <= 1,022 residues, fixed seed) and the shipped heads.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sample(n: int) -> list[str]:
    from scldata import loader

    df = loader.load("eval")
    df = df[df.seq.str.len() <= 1022].sample(n, random_state=0)
    return df.seq.tolist()


def naive(sequences: list[str], queue) -> None:
    import torch
    from transformers import EsmModel, EsmTokenizer

    from models.analysis.annotation import Annotator
    from models.analysis.backbone import Backbone
    from models.analysis.features import pooled_features

    torch.set_num_threads(2)
    backbone = Backbone()
    backbone.load()
    path = backbone.path
    heads = Annotator().heads()
    tokenizer = EsmTokenizer.from_pretrained(path)
    model = EsmModel.from_pretrained(path, add_pooling_layer=False, attn_implementation="eager").eval()
    started = time.perf_counter()
    with torch.inference_mode():
        for seq in sequences:
            inputs = tokenizer(seq, return_tensors="pt")
            # Task 1: localization features.
            hidden = model(**inputs, output_hidden_states=True).hidden_states
            stack = torch.stack(hidden)[:, 0, 1:-1].numpy()
            heads.localization.module.predict(pooled_features(stack), stack[-1])
            # Task 2: PTM sites, a separate call.
            hidden = model(**inputs, output_hidden_states=True).hidden_states
            stack = torch.stack(hidden)[:, 0, 1:-1].numpy()
            for site in heads.sites:
                site.module.predict(stack, [i for i, aa in enumerate(seq) if aa in site.card.residues])
            # Task 3: contacts, a third call.
            model.predict_contacts(inputs["input_ids"], inputs["attention_mask"])
    queue.put(("naive", time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def one_pass(sequences: list[str], queue, token_budget: int) -> None:
    import torch

    from models.analysis.annotation import Annotator
    from models.shared.sequences import Protein

    torch.set_num_threads(2)
    annotator = Annotator()
    annotator.backbone.token_budget = token_budget
    annotator.heads()
    started = time.perf_counter()
    for start in range(0, len(sequences), 32):
        chunk = sequences[start : start + 32]
        annotator.annotate_many([Protein(f"s{start + i}", (s,)) for i, s in enumerate(chunk)])
    queue.put(("one-pass", time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--token-budget", type=int, default=2048)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sequences = sample(args.n)
    residues = sum(map(len, sequences))
    ctx = mp.get_context("spawn")
    results = {}
    for _name, target, extra in (("naive", naive, ()), ("one-pass", one_pass, (args.token_budget,))):
        queue = ctx.Queue()
        process = ctx.Process(target=target, args=(sequences, queue, *extra))
        process.start()
        label, seconds, rss_kb = queue.get()
        process.join()
        results[label] = {
            "seconds": round(seconds, 2),
            "residues_per_s": round(residues / seconds),
            "sequences_per_s": round(len(sequences) / seconds, 2),
            "peak_rss_mb": round(rss_kb / 1024),
        }
    ratio = results["naive"]["seconds"] / results["one-pass"]["seconds"]
    print(
        json.dumps(
            {
                "sequences": len(sequences),
                "residues": residues,
                **results,
                "speedup_one_pass_vs_naive": round(ratio, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
