"""Secondary structure and accessibility from the sequence, through the running app (the shipped
head): /secondary against mkdssp on the 1AKE fixture, its answer's shape, /analyze's tracks,
/mutate's three-state changes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gradio_client.exceptions import AppError

from models.analysis.secondary_prediction import EIGHT, THREE_OF
from models.shared.settings import HEADS_DIR
from models.structure.reading import read_structure
from tests.conftest import FIXTURES, INSULIN_A, INSULIN_B, UBIQUITIN
from tests.page_parts import plotly_values
from tests.structure.test_secondary import mkdssp, needs_mkdssp

CARD = json.loads((HEADS_DIR / "secondary_structure.json").read_text())


@needs_mkdssp
def test_secondary_agrees_with_mkdssp_on_1ake(client, tmp_path):
    """The issue's check: three-state from the sequence alone against DSSP of the crystal structure."""
    chain = read_structure(FIXTURES / "pdb1ake.pdb").chain()
    reference = mkdssp(FIXTURES / "pdb1ake.pdb", tmp_path)
    observed = "".join(reference[(chain.id, n, i)][1] for n, i in zip(chain.numbers, chain.insertion_codes))
    answer = client.predict(f">1ake\n{chain.sequence}", api_name="/secondary")
    (predicted,) = answer["chains"]
    same = np.mean([p == o for p, o in zip(predicted["ss3"], observed)])
    assert len(predicted["ss3"]) == len(observed) == 214
    assert same >= 0.70, f"three-state agreement with mkdssp {same:.3f}"


def test_secondary_answer_shape(client):
    answer = client.predict(f">ubq\n{UBIQUITIN}", api_name="/secondary")
    assert answer["id"] == "ubq"
    (chain,) = answer["chains"]
    n = len(UBIQUITIN)
    assert chain["chain"] == "A" and len(chain["ss8"]) == len(chain["ss3"]) == len(chain["rsa"]) == n
    assert set(chain["ss8"]) <= set(EIGHT) and set(chain["ss3"]) <= set("HEC")
    probabilities = np.array([chain["probabilities"][c] for c in EIGHT]).T  # (L, 8)
    assert probabilities.shape == (n, 8)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=0.01)  # rounded to 3 decimals
    # ss8 is each residue's most probable class; ss3 the most probable summed class.
    assert chain["ss8"] == "".join(EIGHT[i] for i in probabilities.argmax(1))
    three = np.zeros((n, 3))
    np.add.at(three.T, THREE_OF, probabilities.T)
    assert chain["ss3"] == "".join("HEC"[i] for i in three.argmax(1))
    assert all(0.0 <= x <= 1.0 for x in chain["rsa"])


def test_a_complex_gets_each_chain(client):
    answer = client.predict(f"{INSULIN_A}:{INSULIN_B}", api_name="/secondary")
    assert [(c["chain"], len(c["ss3"])) for c in answer["chains"]] == [("A", 21), ("B", 30)]
    alone = client.predict(INSULIN_B, api_name="/secondary")["chains"][0]
    assert answer["chains"][1]["ss8"] == alone["ss8"]  # each chain is embedded on its own


def test_bad_input_is_named(client):
    with pytest.raises(AppError, match="'@' at residue 4"):
        client.predict("MKV@K", api_name="/secondary")


def test_analyze_draws_the_tracks_and_says_how_far_to_trust_them(client):
    out = client.predict(f">ubq\n{UBIQUITIN}", 0.5, api_name="/analyze")
    plot, note = out[-4], out[-3]  # then the map's plot and note
    figure = json.loads(plot["plot"])
    names = {t.get("name") for t in figure["data"]}
    assert {"helix", "strand", "coil", "RSA predicted"} <= names
    bars = [t for t in figure["data"] if t["type"] == "bar"]
    drawn = sorted(x for t in bars for x in plotly_values(t["x"]))
    assert drawn == list(range(1, len(UBIQUITIN) + 1))  # one predicted row, every residue once
    test = CARD["metrics"]["final"]["Test"]
    assert f"three-state accuracy is {test['q3']:.0%}" in note
    assert "Predicted from the sequence alone." in note and "Three-state agreement" not in note  # no fold yet


def test_mutate_lists_three_state_changes(client):
    """Each reported change is what /secondary gives for the wild type and the mutant."""
    variants = "G10P, V26P"
    report = client.predict(UBIQUITIN, variants, 0.5, api_name="/mutate")
    wild = client.predict(UBIQUITIN, api_name="/secondary")["chains"][0]["ss3"]
    for effect in report["variants"]:
        position = int(effect["variant"][1:-1])
        mutant_sequence = UBIQUITIN[: position - 1] + effect["variant"][-1] + UBIQUITIN[position:]
        mutant = client.predict(mutant_sequence, api_name="/secondary")["chains"][0]["ss3"]
        expected = [i + 1 for i, (a, b) in enumerate(zip(wild, mutant)) if a != b]
        changed = effect["secondary_changed"]
        assert [r["position"] for r in changed["residues"]] == expected and changed["count"] == len(expected)
        assert all(r["wild_type"] == wild[r["position"] - 1] for r in changed["residues"])
