"""The protein map: the shipped map through the running app (/map, /analyze's figure, honest
placement of training proteins), and the fitting and placing mechanics on a small set."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gradio_client.exceptions import AppError

from models.analysis.protein_map import MAP_CARD, MapCard, ProteinMap, read_map
from models.shared.settings import HEADS_DIR
from tests.conftest import INSULIN_A, INSULIN_B, UBIQUITIN
from tests.page_parts import plotly_values

LOCALIZATION = json.loads((HEADS_DIR / "localization.json").read_text())
MAP = read_map(HEADS_DIR / MAP_CARD)


def _median_spacing(points: np.ndarray) -> float:
    from sklearn.neighbors import NearestNeighbors

    distances, _ = NearestNeighbors(n_neighbors=2).fit(points).kneighbors(points)
    return float(np.median(distances[:, 1]))


def test_map_answer_places_each_chain_with_its_nearest(client):
    answer = client.predict(f">ubq\n{UBIQUITIN}", api_name="/map")
    assert answer["id"] == "ubq"
    (chain,) = answer["chains"]
    assert chain["chain"] == "A" and isinstance(chain["x"], float) and isinstance(chain["y"], float)
    entries = LOCALIZATION["reference_entries"]
    # The five most similar are the Localization tab's, each at its fitted place on the map.
    similar = client.predict(UBIQUITIN, api_name="/localization")["similar_training_proteins"]
    assert [n["entry"] for n in chain["nearest"]] == [s["entry"] for s in similar]
    for n in chain["nearest"]:
        i = entries.index(n["entry"])
        assert (n["x"], n["y"]) == pytest.approx(tuple(MAP.coordinates[i]), abs=1e-3)
    # The nearest point on the map is the reference point closest to (x, y).
    d = np.linalg.norm(MAP.coordinates - [chain["x"], chain["y"]], axis=1)
    assert chain["nearest_on_map"]["entry"] == entries[int(d.argmin())]
    assert chain["nearest_on_map"]["localization"] in LOCALIZATION["config"]["classes"]


def test_a_complex_places_each_chain(client):
    answer = client.predict(f"{INSULIN_A}:{INSULIN_B}", api_name="/map")
    assert [c["chain"] for c in answer["chains"]] == ["A", "B"]
    alone = client.predict(INSULIN_B, api_name="/map")["chains"][0]
    second = answer["chains"][1]
    assert (second["x"], second["y"]) == pytest.approx((alone["x"], alone["y"]), abs=0.05)


def test_training_proteins_land_near_their_own_fitted_point(client):
    """Honest placement: SCL2205 training proteins sent through the app land, in the median,
    closer to their own fitted point than fitted points are to their nearest neighbour."""
    from scldata import loader

    train = loader.load("train")
    entries = LOCALIZATION["reference_entries"]
    rng = np.random.default_rng(0)
    picked = [entries[i] for i in rng.choice(len(entries), 12, replace=False)]
    moved = []
    for entry in picked:
        sequence = train.loc[entry, "seq"]
        if len(sequence) > 2000:  # the app's analysis limit
            continue
        placed = client.predict(f">{entry}\n{sequence}", api_name="/map")["chains"][0]
        own = MAP.coordinates[entries.index(entry)]
        moved.append(float(np.linalg.norm(np.array([placed["x"], placed["y"]]) - own)))
    assert len(moved) >= 10
    assert np.median(moved) < _median_spacing(MAP.coordinates), (np.median(moved), moved)


def test_analyze_draws_the_map_with_every_compartment(client):
    out = client.predict(f">ubq\n{UBIQUITIN}", 0.5, api_name="/analyze")
    figure, note = json.loads(out[-2]["plot"]), out[-1]
    names = [t.get("name") for t in figure["data"]]
    assert set(LOCALIZATION["config"]["classes"]) <= set(names)  # one legend entry per compartment
    assert "your protein" in names and "5 most similar" in names
    # Plotly sends NumPy arrays as typed arrays ({"dtype", "bdata"}): every reference point once.
    drawn = sum(len(plotly_values(t["x"])) for t in figure["data"] if t["type"] == "scattergl")
    assert drawn == len(MAP.coordinates)
    metrics = MAP.card["metrics"]["heldout_nearest_has_own_compartment"]
    assert f"own compartment {metrics['on_the_map']:.0%} of the time" in note
    assert "nearest on the map:" in note


def test_bad_input_is_named(client):
    with pytest.raises(AppError, match="'@' at residue 4"):
        client.predict("MKV@K", api_name="/map")


def test_fit_and_place_on_a_small_set(tmp_path):
    """Four separated groups of unit vectors: each fitted as its own island; a member's vector
    placed again lands within its island, a noisy copy of a group's centre lands in that group."""
    from training.protein_map import fit

    rng = np.random.default_rng(1)
    centres = np.eye(16)[:4]
    labels = np.repeat(np.arange(4), 60)
    vectors = centres[labels] + 0.15 * rng.standard_normal((len(labels), 16))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    coordinates = fit(vectors, seed=0)
    card = {"affinity": {"perplexity": 30, "metric": "cosine", "method": "exact", "random_state": 0},
            "transform": {"perplexity": 5, "k": 25, "n_iter": 250}, "seed": 0}  # fmt: skip
    protein_map = ProteinMap(
        MapCard(tmp_path / "m.json", card, coordinates.astype(np.float16).astype(np.float32)),
        vectors, labels, [f"P{i:05d}" for i in range(len(labels))], ["a", "b", "c", "d"],
    )  # fmt: skip
    again = protein_map.place(vectors[::10])
    assert (labels[protein_map.nearest(again)] == labels[::10]).all()
    probe = centres[2] + 0.05 * rng.standard_normal(16)
    assert labels[protein_map.nearest(protein_map.place(probe / np.linalg.norm(probe)))[0]] == 2
    # Placing one protein or several gives it the same place (each is optimised on its own).
    together = protein_map.place(vectors[:5])
    alone = protein_map.place(vectors[3:4])
    np.testing.assert_allclose(together[3], alone[0], atol=0.05)
