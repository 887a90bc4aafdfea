"""PTM, localization and contacts: shipped heads on the real backbone, through the app and its API."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from gradio_client.exceptions import AppError

from models.analysis.annotation import HEADS_DIR, Annotator
from models.shared.sequences import Protein
from tests.conftest import INSULIN_A, INSULIN_B, UBIQUITIN
from training.metrics import roc_auc

CARDS = {name: json.loads((HEADS_DIR / f"{name}.json").read_text()) for name in ("ptm_sumo", "localization")}


@pytest.fixture(scope="module")
def annotator(real_backbone) -> Annotator:
    annotator = Annotator(real_backbone.spec, max_length=10_000)  # as the training pipeline
    annotator.backbone = real_backbone
    return annotator


def test_cards_record_backbone_data_metrics_and_command():
    for card in CARDS.values():
        assert (
            card["backbone"]["weights_sha256"]
            == "f4210829794c4a804b266fab3ac7d5f71c2d99f0d8de021cc6a8dfa28dff93e4"
        )
        assert card["training_command"].startswith("python -m training")
        assert (HEADS_DIR / card["weights"]).is_file()
    assert set(CARDS["ptm_sumo"]["metrics"]["final"]) == {"Test", "Hard_Test"}
    assert CARDS["localization"]["metrics"]["heldout"]["n"] == 2631
    assert len(CARDS["localization"]["config"]["classes"]) == 13


def test_localization_head_reproduces_its_eval_sample(annotator):
    from scldata import loader

    sample = CARDS["localization"]["regression_sample"]
    df = loader.load("eval").loc[sample["entries"]]
    got = [
        a.top_localization[0]
        for a in annotator.annotate_many([Protein(e, (s,)) for e, s in zip(df.index, df.seq)], contacts=False)
    ]
    agree = np.mean([g == p for g, p in zip(got, sample["predicted"])])
    assert agree >= 0.97, agree
    accuracy = np.mean([g == t for g, t in zip(got, df.scl)])
    assert accuracy == pytest.approx(sample["accuracy"], abs=0.025)


def test_a_training_protein_finds_itself_first_among_similar_proteins(annotator):
    """The reference set's order, accessions and labels line up: a training protein's nearest
    training protein is itself, with similarity ~1 and its own annotated class."""
    from scldata import loader

    train = loader.load("train")
    entry = train.seq.str.len().sort_values().index[100]  # a short one: fast
    (annotation,) = annotator.annotate_many([Protein(entry, (train.seq[entry],))], contacts=False)
    first = annotation.similar[0]
    assert first["entry"] == entry and first["localization"] == train.scl[entry]
    assert first["similarity"] == pytest.approx(1.0, abs=2e-3)
    assert len(annotation.similar) == 5
    assert [s["similarity"] for s in annotation.similar] == sorted(
        (s["similarity"] for s in annotation.similar), reverse=True
    )


def test_sumo_head_reproduces_its_validation_sample(annotator):
    from training.data import SUMO_CENTRE, sumo_split

    sample = CARDS["ptm_sumo"]["regression_sample"]
    windows = {w.name: w for w in sumo_split("Train")}
    chosen = [windows[n] for n in sample["names"]]
    annotations = annotator.annotate_many([Protein(w.name, (w.window,)) for w in chosen], contacts=False)
    scores = [
        next(s.probability for s in a.sites if s.position == SUMO_CENTRE + 1 and s.type == "SUMOylation")
        for a in annotations
    ]
    np.testing.assert_allclose(scores, sample["probabilities"], atol=0.01)
    assert roc_auc([w.label for w in chosen], scores) == pytest.approx(sample["roc_auc"], abs=0.01)


def test_localization_endpoint(client):
    result = client.predict(UBIQUITIN, api_name="/localization")
    classes = CARDS["localization"]["config"]["classes"]
    assert list(result["probabilities"]) == classes  # class names verbatim, all of them
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert result["top"]["class"] == max(result["probabilities"], key=result["probabilities"].get)
    assert result["membrane"] + result["soluble"] == pytest.approx(1.0, abs=1e-3)
    similar = result["similar_training_proteins"]
    assert len(similar) == 5 and all(s["localization"] in classes for s in similar)
    assert all(-1 <= s["similarity"] <= 1.001 for s in similar)


def test_ptm_endpoint_lists_every_candidate_of_every_type(client):
    """/ptm on ubiquitin: every shipped PTM type (phosphorylation, ubiquitination, acetylation,
    SUMOylation, ...), each at every one of its candidate residues, with chain, position,
    probability and type; the cards' calibrated thresholds beside them."""
    site_cards = [json.loads(p.read_text()) for p in sorted(HEADS_DIR.glob("*.json"))]
    site_cards = [c for c in site_cards if c.get("kind") == "site_ensemble"]  # the map's card has no kind
    result = client.predict(">ubq\n" + UBIQUITIN, api_name="/ptm")
    types = {c["config"]["ptm_type"]: c["config"]["residues"] for c in site_cards}
    assert {s["type"] for s in result["sites"]} == {t for t, r in types.items() if set(r) & set(UBIQUITIN)}
    for ptm_type, residues in types.items():
        mine = [s for s in result["sites"] if s["type"] == ptm_type]
        assert [s["position"] for s in mine] == [i + 1 for i, aa in enumerate(UBIQUITIN) if aa in residues]
        assert all(s["chain"] == "A" and s["residue"] in residues for s in mine)
        assert all(0 <= s["probability"] <= 1 for s in mine)
    sumo = [s for s in result["sites"] if s["type"] == "SUMOylation"]
    assert sumo[0]["window"] == "--MQIFVkTLTGKTI"
    assert result["thresholds"] == {
        c["config"]["ptm_type"]: c.get("threshold", {}).get("value", 0.5) for c in site_cards
    }


def test_contacts_endpoint(client):
    result = client.predict(UBIQUITIN, api_name="/contacts")
    contacts = np.array(result["contacts"])
    assert contacts.shape == (len(UBIQUITIN), len(UBIQUITIN))
    np.testing.assert_allclose(contacts, contacts.T, atol=2e-3)


def test_analyze_fills_every_tab_from_one_click(client):
    out = client.predict(">ubq\n" + UBIQUITIN, 0.0, api_name="/analyze")
    status, loc_plot, loc_summary, loc_json, ptm_plot, table, csv_path, ptm_json = out[:8]
    subjects, embeddings, trust, empty, top, files = out[11:14], out[14], out[15], out[16], out[17], out[18]
    assert status == "" and loc_json["top"]["class"] in loc_summary
    # Threshold 0: every candidate of every type is listed, SUMOylation at every lysine.
    assert len(table["data"]) == len(ptm_json["sites"])
    assert sum(row[3] == "SUMOylation" for row in table["data"]) == UBIQUITIN.count("K")
    assert {row[0] for row in table["data"]} == {"A"}  # the chain column
    rows = list(csv.DictReader(Path(csv_path).open()))
    assert [int(r["position"]) for r in rows] == [s["position"] for s in ptm_json["sites"]]
    assert all("ubq" in s and "76 residues" in s for s in subjects)
    per_residue, mean = (np.load(path) for path in embeddings)
    assert per_residue.shape == (len(UBIQUITIN), 320) and mean.shape == (320,)
    sumo_test = CARDS["ptm_sumo"]["metrics"]["final"]["Test"]["roc_auc"]
    assert f"ROC-AUC {sumo_test:.3f}" in trust
    # Threshold 0: every type has a site, so the box holds only the per-type summary rows.
    assert "at or above 0.00" not in empty and "<td>7 of 7</td><td>K29" in empty
    assert 0 < len(top["data"]) <= len(UBIQUITIN) // 5
    assert all(abs(int(j) - int(i)) >= 24 for i, j, _ in top["data"])
    assert sorted(Path(f).suffix for f in files) == [".csv", ".npy"]


def test_a_complex_is_analysed_chain_by_chain(client):
    """Insulin A:B: each chain is a protein; every result names its chain."""
    complex_ = f">insulin\n{INSULIN_A}:{INSULIN_B}"
    ptm = client.predict(complex_, api_name="/ptm")
    sumo = [s for s in ptm["sites"] if s["type"] == "SUMOylation"]
    by_chain = {c: [s["position"] for s in sumo if s["chain"] == c] for c in "AB"}
    assert by_chain == {
        c: [i + 1 for i, aa in enumerate(seq) if aa == "K"] for c, seq in (("A", INSULIN_A), ("B", INSULIN_B))
    }
    loc = client.predict(complex_, api_name="/localization")
    assert [c["chain"] for c in loc["chains"]] == ["A", "B"]
    alone = client.predict(INSULIN_B, api_name="/localization")
    assert loc["chains"][1]["probabilities"] == pytest.approx(alone["probabilities"], abs=1e-6)
    contacts = client.predict(complex_, api_name="/contacts")
    assert [c["length"] for c in contacts["chains"]] == [len(INSULIN_A), len(INSULIN_B)]
    out = client.predict(complex_, 0.0, api_name="/analyze")
    status, ptm_json, subjects = out[0], out[7], out[11:14]
    assert status == ""
    assert {s["chain"] for s in ptm_json["sites"] if s["type"] == "SUMOylation"} == {"B"}  # A has no lysine
    assert "chain A 21 aa" in subjects[0] and "chain B 30 aa" in subjects[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("MKV@K", "'@' at residue 4"), ("A" * 2001, "analysis limit is 2,000")],
)
def test_analysis_bad_input(client, text, expected):
    for api in ("/ptm", "/localization", "/contacts"):
        with pytest.raises(AppError, match=expected):
            client.predict(text, api_name=api)
