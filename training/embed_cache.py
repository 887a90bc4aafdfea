"""Embed the training data once with the frozen backbone and cache what the heads train on.

Cached per SUMO window: the states of the whole window entering the last layer (the site head
averages them over the site's neighbourhood) and the centre lysine's states at every layer. Per SCL2205
protein: the same pooled features the app computes (`models.analysis.features.pooled_features`) and the
last layer's per-residue states (attention pooling), stored as one float16 array with offsets.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from models.analysis.backbone import Backbone
from models.analysis.features import pooled_features
from training.data import SUMO_CENTRE, scl_split, sumo_split

log = logging.getLogger(__name__)
CHUNK = 256  # sequences per backbone.run call (progress granularity)


def _done(path: Path) -> bool:
    return (path / "done.json").is_file()


def cache_sumo(backbone: Backbone, split: str, out: Path) -> Path:
    """split: 'Train' | 'Test' | 'Hard_Test'."""
    out = out / f"sumo_{split}"
    if _done(out):
        return out
    out.mkdir(parents=True, exist_ok=True)
    windows = sumo_split(split)
    n, length = len(windows), len(windows[0].window)
    dim = backbone.load().config.hidden_size
    layers = backbone.load().config.num_hidden_layers + 1
    # States entering the last layer (hidden index layers - 2; index 0 is the embedding output).
    states = {
        layer: np.lib.format.open_memmap(out / f"layer{layer}.npy", "w+", np.float16, (n, length, dim))
        for layer in (layers - 2,)
    }
    centre = np.zeros((n, layers, dim), np.float32)
    started = time.perf_counter()
    for lo in tqdm(range(0, n, CHUNK), desc=f"SUMO {split}", unit_scale=CHUNK):
        batch = windows[lo : lo + CHUNK]
        for j, result in enumerate(backbone.run([w.window for w in batch], contacts=False)):
            for layer, array in states.items():
                array[lo + j] = result.hidden[layer]
            centre[lo + j] = result.hidden[:, SUMO_CENTRE]
    for array in states.values():
        array.flush()
    np.save(out / "centre.npy", centre)
    np.save(out / "labels.npy", np.array([w.label for w in windows], np.int8))
    (out / "names.json").write_text(json.dumps([w.name for w in windows]))
    (out / "done.json").write_text(json.dumps({"n": n, "seconds": time.perf_counter() - started}))
    return out


def cache_scl(backbone: Backbone, split: str, out: Path) -> Path:
    out = out / f"scl_{split}"
    if _done(out):
        return out
    out.mkdir(parents=True, exist_ok=True)
    df = scl_split(split)
    seqs = df.seq.tolist()
    lengths = np.array([len(s) for s in seqs])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    dim = backbone.load().config.hidden_size
    residues = np.lib.format.open_memmap(out / "residues.npy", "w+", np.float16, (int(offsets[-1]), dim))
    pooled = None
    started = time.perf_counter()
    # Longest first inside each chunk does not matter: run() sorts by length itself.
    for lo in tqdm(range(0, len(seqs), CHUNK), desc=f"SCL2205 {split}", unit_scale=CHUNK):
        for j, result in enumerate(backbone.run(seqs[lo : lo + CHUNK], contacts=False)):
            i = lo + j
            features = pooled_features(result.hidden)
            if pooled is None:
                pooled = np.zeros((len(seqs), features.shape[0]), np.float32)
            pooled[i] = features
            residues[offsets[i] : offsets[i + 1]] = result.hidden[-1]
    residues.flush()
    np.save(out / "pooled.npy", pooled)
    np.save(out / "offsets.npy", offsets)
    (out / "entries.json").write_text(json.dumps(df.index.tolist()))
    (out / "labels.json").write_text(json.dumps(df.scl.tolist()))
    (out / "done.json").write_text(
        json.dumps({"n": len(seqs), "residues": int(offsets[-1]), "seconds": time.perf_counter() - started})
    )
    return out
