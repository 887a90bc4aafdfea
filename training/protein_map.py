"""`python -m training map`: the localization head's reference proteins drawn in 2D (openTSNE).

1. The reference vectors the shipped localization head keeps (SCL2205 training proteins, unit
   vectors in its PCA projection) are embedded with openTSNE (cosine affinities, fixed seed).
2. The coordinates are stored in float16 beside the head (`localization_map.npz`), with the
   parameters that fitted them and those that place new points (`localization_map.json`).
3. Measured, through `models.analysis.protein_map.ProteinMap` as the app uses it:
   - training proteins placed again land near their own fitted point (against the median
     distance between nearest neighbours on the map);
   - SCL2205 held-out proteins: how often the nearest point on the map has the protein's own
     compartment, beside the same figure for the nearest neighbour in the full embedding space.
"""

from __future__ import annotations

import json
import logging
import platform
import shlex
import time
from pathlib import Path

import numpy as np

from models.analysis.heads import load_head
from models.analysis.protein_map import MAP_CARD, ProteinMap, read_map
from models.shared.files import sha256_file

log = logging.getLogger("training")
MAP_FILE = "localization_map.npz"
AFFINITY = {"perplexity": 30, "metric": "cosine", "method": "exact", "random_state": 0}
# openTSNE's own defaults for placing new points, written down so the card says what is used.
TRANSFORM = {"perplexity": 5, "k": 25, "n_iter": 250, "learning_rate": 0.1, "exaggeration": 1.5}
PLACED_AGAIN = 500  # training proteins placed again to check the placement


def fit(reference: np.ndarray, seed: int) -> np.ndarray:
    from openTSNE import TSNE

    tsne = TSNE(
        perplexity=AFFINITY["perplexity"], metric=AFFINITY["metric"], neighbors=AFFINITY["method"],
        random_state=seed, n_jobs=2, verbose=False,
    )  # fmt: skip
    return np.asarray(tsne.fit(reference), dtype=np.float32)


def nearest_neighbour_distances(points: np.ndarray) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    distances, _ = NearestNeighbors(n_neighbors=2).fit(points).kneighbors(points)
    return distances[:, 1]


def heldout_vectors(card_path: Path, spec: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Map vectors of `n` SCL2205 held-out proteins drawn at random (seeded; those of at most one
    backbone window, 1,022 residues), through the app's path (`Annotator`, the shipped head), with
    their labels; and how many held-out proteins there were to draw from."""
    from models.analysis.annotation import Annotator
    from models.shared.sequences import Protein
    from training.data import scl_classes, scl_split

    heldout = scl_split("heldout")
    pool = heldout[heldout.seq.str.len() <= 1022].sort_index()
    rows = np.random.default_rng(seed).choice(len(pool), min(n, len(pool)), replace=False)
    drawn = pool.iloc[np.sort(rows)]
    annotator = Annotator(spec, heads_dir=card_path.parent, max_length=10**7)
    vectors = []
    for start in range(0, len(drawn), 64):
        part = drawn.iloc[start : start + 64]
        records = [Protein(e, (s,)) for e, s in zip(part.index, part.seq)]
        vectors += [a.map_vector for a in annotator.annotate_many(records, contacts=False, tasks=("map",))]
        log.info("held-out proteins through the app's path: %d of %d", start + len(part), len(drawn))
    classes = scl_classes()
    return np.stack(vectors), np.array([classes.index(c) for c in drawn.scl]), len(pool)


def run(args, argv: list[str]) -> Path:
    started = time.perf_counter()
    card_path = Path(args.out) / "localization.json"
    head, card = load_head(card_path)
    reference = head.reference.float().numpy()
    labels = head.reference_labels.numpy()
    entries = card["reference_entries"]
    log.info("fitting the map of %d reference proteins (%d dims)", *reference.shape)
    coordinates = fit(reference, args.seed).astype(np.float16)
    stages = {"fit": time.perf_counter() - started}
    np.savez_compressed(Path(args.out) / MAP_FILE, coordinates=coordinates)
    map_card = {
        "map_of": "localization",
        "task": "the localization head's reference proteins (SCL2205 training set) in two dimensions",
        "file": MAP_FILE,
        "storage": "coordinates float16",
        "reference_size": len(reference),
        "reference_dims": reference.shape[1],
        "localization_weights_sha256": sha256_file(Path(args.out) / card["weights"]),
        "affinity": AFFINITY,
        "fit": "openTSNE.TSNE defaults otherwise: PCA initialisation, 250 iterations of early exaggeration "
        "('auto'), then 500",
        "transform": TRANSFORM,
        "negative_gradient_method": "fft",
        "seed": args.seed,
        "openTSNE": _version("openTSNE"),
        "training_command": shlex.join(["python", "-m", "training", *argv]),
        "python": platform.python_version(),
    }
    map_path = Path(args.out) / MAP_CARD
    map_path.write_text(json.dumps(map_card, indent=2) + "\n")

    # Measured with the map as stored and placed as the app places proteins.
    mark = time.perf_counter()
    protein_map = ProteinMap(read_map(map_path), reference, labels, entries, card["config"]["classes"])
    spacing = float(np.median(nearest_neighbour_distances(protein_map.coordinates)))
    rng = np.random.default_rng(args.seed)
    again = np.sort(rng.choice(len(reference), min(PLACED_AGAIN, len(reference)), replace=False))
    placed = protein_map.place(reference[again])
    moved = np.linalg.norm(placed - protein_map.coordinates[again], axis=1)
    stages["placing_training_proteins"] = time.perf_counter() - mark

    mark = time.perf_counter()
    vectors, truth, pool = heldout_vectors(card_path, card["backbone"]["id"], args.heldout, args.seed)
    stages["embedding_heldout"] = time.perf_counter() - mark
    mark = time.perf_counter()
    on_map = protein_map.place(vectors)
    stages["placing_heldout"] = time.perf_counter() - mark
    map_nearest = labels[protein_map.nearest(on_map)]
    full_nearest = labels[(vectors @ reference.T).argmax(1)]
    map_card["metrics"] = {
        "training_proteins_placed_again": {
            "proteins": len(again),
            "median_distance_to_own_point": round(float(np.median(moved)), 4),
            "median_nearest_neighbour_distance_on_map": round(spacing, 4),
            "share_within_that_distance": round(float(np.mean(moved < spacing)), 4),
        },
        "heldout_nearest_has_own_compartment": {
            "proteins": len(truth),
            "drawn_from": f"{pool:,} SCL2205 held-out proteins of at most 1,022 residues (seed {args.seed})",
            "on_the_map": round(float(np.mean(map_nearest == truth)), 4),
            "in_the_embedding_space": round(float(np.mean(full_nearest == truth)), 4),
            "placing_seconds": round(stages["placing_heldout"], 2),
        },
    }
    map_card["pipeline_seconds"] = {k: round(v, 1) for k, v in stages.items()}
    map_card["pipeline_seconds"]["total"] = round(time.perf_counter() - started, 1)
    map_path.write_text(json.dumps(map_card, indent=2) + "\n")
    print(json.dumps({"card": str(map_path), "metrics": map_card["metrics"]}, indent=2))
    return map_path


def _version(module: str) -> str:
    import importlib.metadata

    return importlib.metadata.version(module)
