"""The protein map: the localization head's reference proteins (SCL2205 training proteins) drawn
in two dimensions by openTSNE, and new proteins placed on it with openTSNE's `transform`.

Stored beside the localization head (`localization_map.json` + `localization_map.npz`): the fitted
coordinates (float16) and the parameters that fitted them. Placing needs the reference vectors
themselves, which the head already keeps (its `reference` buffer), so only 2 numbers per
protein are added. openTSNE rebuilds its neighbour index over the reference vectors on first use
(seconds, once per process).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAP_CARD = "localization_map.json"


def single_threaded_blas():
    """NumPy's OpenBLAS on one thread while the map computes: the index is built in a background
    thread while torch runs its OpenMP loops, and OpenBLAS's own thread pool meeting them printed
    "Detect OpenMP Loop and this application may hang" thousands of times. One thread costs little
    here (the index is 15,183 x 256)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


class MapMismatch(ValueError):
    """The map was fitted on another localization head's reference proteins."""


@dataclass(frozen=True)
class MapCard:
    path: Path
    card: dict
    coordinates: np.ndarray  # (N, 2) float32, as stored (float16) and widened

    @property
    def affinity(self) -> dict:
        return self.card["affinity"]

    @property
    def transform(self) -> dict:
        return self.card["transform"]


def read_map(path: Path) -> MapCard:
    card = json.loads(Path(path).read_text())
    with np.load(Path(path).parent / card["file"], allow_pickle=False) as data:
        coordinates = data["coordinates"].astype(np.float32)
    return MapCard(Path(path), card, coordinates)


class ProteinMap:
    """Places unit vectors of the localization head's reference projection on the fitted map."""

    def __init__(
        self, card: MapCard, reference: np.ndarray, labels: np.ndarray, entries: list[str], classes: list[str]
    ):
        if len(reference) != len(card.coordinates):
            raise MapMismatch(
                f"The protein map {card.path} holds {len(card.coordinates):,} proteins; the localization "
                f"head keeps {len(reference):,}. Fit it again for this head: python -m training map"
            )
        self.card = card
        self.reference = np.ascontiguousarray(reference, dtype=np.float32)
        self.labels = labels
        self.entries = entries
        self.classes = classes  # the localization head's class names, indexed by `labels`
        self._embedding = None
        self._lock = threading.Lock()
        self._placing = threading.Lock()

    @property
    def coordinates(self) -> np.ndarray:
        return self.card.coordinates

    @property
    def index(self) -> dict[str, int]:
        """UniProt entry -> its row."""
        if not hasattr(self, "_index"):
            self._index = {e: i for i, e in enumerate(self.entries)}
        return self._index

    def embedding(self):
        """openTSNE's TSNEEmbedding of the stored coordinates with affinities over the reference
        vectors (built once; `transform` needs both)."""
        if self._embedding is None:
            with self._lock, single_threaded_blas():
                if self._embedding is None:
                    from openTSNE import TSNEEmbedding
                    from openTSNE.affinity import PerplexityBasedNN

                    affinity = PerplexityBasedNN(self.reference, **self.card.affinity, n_jobs=1)
                    # FFT for the repulsion from the reference points, whatever the number placed:
                    # openTSNE's automatic choice for few points (Barnes-Hut) rebuilds a tree of all
                    # 15,183 reference points at each of 250 iterations, 4.4 s for one protein,
                    # against 0.06 s (scripts/bench_map.py).
                    self._embedding = TSNEEmbedding(
                        self.coordinates.astype(np.float64), affinity,
                        random_state=self.card.card["seed"], n_jobs=1,
                        negative_gradient_method=self.card.card.get("negative_gradient_method", "fft"),
                    )  # fmt: skip
        return self._embedding

    def place(self, vectors: np.ndarray) -> np.ndarray:
        """(n, dims) unit vectors -> (n, 2) map coordinates. Each new point is optimised against
        the fixed reference points only (openTSNE's transform), so a protein lands where it would
        alone, whatever else is placed with it."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if not len(vectors):
            return np.zeros((0, 2), np.float32)
        embedding = self.embedding()
        # One placement at a time: openTSNE's transform changes its embedding.
        with self._placing, single_threaded_blas():
            placed = np.asarray(embedding.transform(vectors, **self.card.transform), dtype=np.float64)
            # openTSNE centres the reference embedding on its bounding box, in place, before its
            # first FFT placement; the map is drawn in the stored frame, so placed points are moved
            # back by the same translation.
            shift = self.coordinates[0].astype(np.float64) - np.asarray(embedding)[0]
        return (placed + shift).astype(np.float32)

    def nearest(self, points: np.ndarray) -> np.ndarray:
        """Index of the reference point nearest each placed point, on the map (2D)."""
        points = np.atleast_2d(points)
        d = ((points[:, None, :] - self.coordinates[None]) ** 2).sum(-1)
        return d.argmin(1)
