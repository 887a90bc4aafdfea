"""Trust notes from the cards, empty states in words, percentages that add up, and the contacts
view (figure, top long-range list, CSV / .npy downloads, lines for the 3D viewer). Pure functions:
no model runs here."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from components.analysis.annotation_plots import contacts_figure, localization_figure
from components.analysis.contacts_view import (
    contact_lines,
    contacts_csv_text,
    top_contacts_rows,
    write_contact_files,
)
from components.analysis.percentages import class_percentages, split_percentages
from components.analysis.tabs import localization_summary, similar_table
from components.analysis.trust import (
    contacts_trust_html,
    curve_point,
    localization_confidence_note,
    ptm_empty_states_html,
    ptm_trust_html,
)
from components.structure.viewer import viewer_document
from models.analysis.contacts import read_contacts_card
from models.analysis.head_cards import read_head_cards
from models.shared.settings import HEADS_DIR
from tests.conftest import FIXTURES, ROOT, UBIQUITIN

CARDS = read_head_cards([HEADS_DIR])
SUMO = next(card for card in CARDS.sites if card.ptm_type == "SUMOylation")
LOCALIZATION = CARDS.localization.card
SUMO_TYPES = [("SUMOylation", "K")]


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


# --- percentages ---------------------------------------------------------------------------


def _shown(text: str) -> int:
    return round(float(text.rstrip("%")) * 10)


@pytest.mark.parametrize("concentration", [0.05, 0.3, 1.0, 10.0])
def test_class_percentages_add_up_to_100_0_as_displayed(concentration):
    rng = np.random.default_rng(int(concentration * 100))
    classes = LOCALIZATION["config"]["classes"]
    for _ in range(500):
        probabilities = dict(zip(classes, rng.dirichlet(np.full(len(classes), concentration))))
        shown = class_percentages(probabilities)
        assert sum(_shown(v) for v in shown.values()) == 1000
        for name, p in probabilities.items():  # each within one displayed step of the truth
            assert abs(_shown(shown[name]) - 1000 * p) < 1.0
        ranked = sorted(classes, key=probabilities.get)
        assert [_shown(shown[c]) for c in ranked] == sorted(_shown(shown[c]) for c in ranked)


def test_membrane_and_soluble_always_read_100_0_together():
    rng = np.random.default_rng(0)
    for p in [0.0, 1.0, 0.00049, 0.9995, 0.12345, *rng.random(2000)]:
        membrane, soluble = split_percentages(p)
        assert _shown(membrane) + _shown(soluble) == 1000
        assert abs(_shown(membrane) - 1000 * p) <= 0.5 + 1e-9


def test_raw_and_json_rounded_probabilities_show_the_same_figures():
    rng = np.random.default_rng(1)
    for _ in range(300):
        raw = dict(zip("abcdefghijklm", rng.dirichlet(np.ones(13))))
        assert class_percentages(raw) == class_percentages({k: round(v, 6) for k, v in raw.items()})


def _loc_json(probabilities: dict, similar=()) -> dict:
    membrane = sum(p for c, p in probabilities.items() if "Membrane" in c.split(";"))
    ranked = sorted(probabilities.items(), key=lambda kv: -kv[1])
    return {
        "probabilities": {k: round(v, 6) for k, v in probabilities.items()},
        "top": {"class": ranked[0][0], "probability": round(ranked[0][1], 4)},
        "top3": [{"class": k, "probability": round(v, 4)} for k, v in ranked[:3]],
        "membrane": round(membrane, 4),
        "soluble": round(1 - membrane, 4),
        "similar_training_proteins": list(similar),
    }


def test_summary_list_matches_the_plot_labels_and_sums_membrane_and_soluble():
    classes = LOCALIZATION["config"]["classes"]
    rng = np.random.default_rng(2)
    for _ in range(50):
        probabilities = dict(zip(classes, rng.dirichlet(np.full(13, 0.3))))
        summary = _text(localization_summary(_loc_json(probabilities), LOCALIZATION))
        bars = localization_figure({"A": probabilities}, LOCALIZATION["membrane_classes"]).data[0]
        label = dict(zip(bars.y, bars.text))
        for name in sorted(classes, key=lambda c: -probabilities[c])[:3]:
            assert f"{name}: {label[name]}" in summary
        membrane, soluble = re.search(r"Membrane ([\d.]+)% · soluble ([\d.]+)%", summary).groups()
        assert round(float(membrane) * 10) + round(float(soluble) * 10) == 1000


# --- localization: low confidence, similar proteins -----------------------------------------


def _with_top(p: float) -> dict:
    classes = LOCALIZATION["config"]["classes"]
    rest = (1 - p) / (len(classes) - 1)
    return {c: (p if i == 0 else rest) for i, c in enumerate(classes)}


def test_low_confidence_note_appears_below_the_calibrated_level_and_not_above():
    calibration = LOCALIZATION["calibration"]
    level = calibration["low_confidence_below"]
    below = _text(localization_confidence_note(_with_top(level - 0.011), LOCALIZATION))
    assert below.startswith("Low confidence: the top class is below")
    assert f"below {level:.0%}" in below
    accuracy = calibration["heldout_below"]["accuracy"]
    assert f"right {accuracy:.0%} of the time" in below
    assert f"{calibration['heldout_below']['n']:,} of {calibration['heldout_below']['of']:,}" in below
    assert localization_confidence_note(_with_top(level + 0.011), LOCALIZATION) == ""
    assert localization_confidence_note(_with_top(0.99), LOCALIZATION) == ""
    # The summary carries it exactly when the note does.
    assert "Low confidence" in localization_summary(_loc_json(_with_top(level - 0.05)), LOCALIZATION)
    assert "Low confidence" not in localization_summary(_loc_json(_with_top(level + 0.05)), LOCALIZATION)
    # No calibration in the card: no note, no error.
    assert localization_confidence_note(_with_top(0.1), {"metrics": {}}) == ""


def test_similar_proteins_link_to_uniprot_and_explain_the_scale():
    similar = [
        {"entry": "P69905", "localization": "Cytoplasm", "similarity": 0.9712},
        {"entry": "Q9<x>", "localization": "Nucleus", "similarity": 0.5},
    ]
    table = similar_table(similar, LOCALIZATION)
    assert (
        "<a href='https://www.uniprot.org/uniprotkb/P69905/entry' target='_blank' "
        "rel='noopener noreferrer'>P69905</a>" in table
    )
    assert "Q9%3Cx%3E/entry" in table and "Q9&lt;x&gt;</a>" in table  # never raw markup
    caption = _text(table)
    assert "cosine similarity" in caption and "PCA projection" in caption and "1 = identical" in caption
    close = LOCALIZATION["calibration"]["similarity"]
    assert f"{close['close_from']:.2f}" in caption
    assert f"theirs {close['heldout_close']['accuracy']:.0%} of the time" in caption
    assert f"below {close['close_from']:.2f}, {close['heldout_not_close']['accuracy']:.0%}" in caption


# --- PTM: trust from the card, empty states -------------------------------------------------


def test_ptm_trust_figures_are_the_cards():
    final = SUMO.test_metrics
    for threshold in (0.5, 0.25, 0.52, 0.9):
        text = _text(ptm_trust_html([SUMO], threshold))
        assert f"ROC-AUC {final['Test']['roc_auc']:.3f} on esm-sumo Test" in text
        assert f"{final['Hard_Test']['roc_auc']:.3f} on esm-sumo Hard_Test" in text
        assert (
            f"({final['Test']['n']:,} lysine residues, {final['Test']['n_positive']:,} of them sites)" in text
        )
        point = curve_point(final["Test"]["threshold_curve"], threshold)
        assert abs(point["threshold"] - threshold) <= 0.025 + 1e-9
        assert f"At {point['threshold']:.2f}" in text
        assert f"precision {point['precision']:.2f}" in text and f"recall {point['recall']:.2f}" in text
        assert f"{point['n_called']:,} called" in text
    assert "nearest to 0.52" in _text(ptm_trust_html([SUMO], 0.52))
    assert "nearest" not in _text(ptm_trust_html([SUMO], 0.5))
    point = curve_point(final["Test"]["threshold_curve"], 0.5)
    assert point["precision"] == final["Test"]["precision_at_0.5"]
    assert point["recall"] == final["Test"]["recall_at_0.5"]


def test_curve_has_every_threshold_and_recall_falls_as_it_rises():
    curve = SUMO.test_metrics["Test"]["threshold_curve"]
    assert curve["thresholds"] == [round(0.05 * k, 2) for k in range(1, 20)]
    assert curve["recall"] == sorted(curve["recall"], reverse=True)
    assert curve["n_called"] == sorted(curve["n_called"], reverse=True)


def test_ptm_trust_of_a_site_head_card_with_precision_at_one_threshold_only(tmp_path):
    card = {
        "kind": "site_ensemble",
        "name": "ptm_phospho",
        "weights": "ptm_phospho.safetensors",
        "data": {"file": "sites.csv"},
        "config": {"ptm_type": "Phospho", "residues": "ST", "dim": 320},
        "metrics": {
            "final": {
                "Test": {
                    "roc_auc": 0.81,
                    "n": 400,
                    "n_positive": 100,
                    "precision_at_0.5": 0.6,
                    "recall_at_0.5": 0.45,
                }
            }
        },
    }
    (tmp_path / "ptm_phospho.json").write_text(json.dumps(card))
    (phospho,) = read_head_cards([tmp_path]).sites
    text = _text(ptm_trust_html([phospho], 0.5))
    assert "Phospho: ROC-AUC 0.810 on the test proteins held out from sites.csv" in text
    assert "(400 serine / threonine residues, 100 of them sites)" in text
    assert "precision 0.60" in text and "recall 0.45" in text


def test_empty_state_names_the_highest_site_per_type():
    sequence = "MKAKSTK"
    sites = [
        {"position": 2, "residue": "K", "type": "SUMOylation", "probability": 0.12},
        {"position": 4, "residue": "K", "type": "SUMOylation", "probability": 0.32},
        {"position": 7, "residue": "K", "type": "SUMOylation", "probability": 0.2},
        {"position": 5, "residue": "S", "type": "Phospho", "probability": 0.7},
        {"position": 6, "residue": "T", "type": "Phospho", "probability": 0.4},
    ]
    types = [("SUMOylation", "K"), ("Phospho", "ST"), ("Methylation", "R")]
    text = _text(ptm_empty_states_html(sequence, sites, 0.5, types))
    assert "No SUMOylation site at or above 0.50; the highest is K4 at 0.32." in text
    assert "Phospho" not in text  # S5 is above the threshold
    assert "No arginine in this sequence, so no Methylation site to score." in text
    assert ptm_empty_states_html(sequence, sites, 0.3, types[:2]) == ""
    # A near miss never reads as the threshold itself.
    near = [{**sites[0], "probability": 0.4996}]
    assert "the highest is K2 at 0.4996." in _text(ptm_empty_states_html("MK", near, 0.5, SUMO_TYPES))


def test_empty_state_without_candidate_residues():
    text = _text(ptm_empty_states_html("MAAGG", [], 0.5, [("SUMOylation", "K"), ("Phospho", "ST")]))
    assert "No lysine in this sequence, so no SUMOylation site to score." in text
    assert "No serine or threonine in this sequence, so no Phospho site to score." in text


# --- contacts ---------------------------------------------------------------------------------


def _random_map(length: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.random((length, length)) ** 3
    return (m + m.T) / 2


def test_top_contacts_are_long_range_sorted_and_l_over_5():
    contacts = _random_map(103)
    rows = top_contacts_rows(contacts)
    assert len(rows) == 103 // 5
    assert all(j - i >= 24 and 1 <= i < j <= 103 for i, j, _ in rows)
    assert [p for *_, p in rows] == sorted((p for *_, p in rows), reverse=True)
    i, j = np.triu_indices(103, 24)
    assert rows[0][2] == round(contacts[i, j].max(), 3)
    best = sorted(contacts[i, j], reverse=True)[: len(rows)]
    assert [p for *_, p in rows] == [round(float(x), 3) for x in best]
    assert top_contacts_rows(_random_map(20)) == []  # no pair 24 apart


def test_contacts_csv_has_exactly_the_pairs_above_0_1_once_1_based():
    contacts = _random_map(60, seed=3)
    rows = list(csv.DictReader(io.StringIO(contacts_csv_text(contacts))))
    pairs = {(int(r["i"]), int(r["j"])) for r in rows}
    expected = {(i + 1, j + 1) for i in range(60) for j in range(i + 1, 60) if contacts[i, j] > 0.1}
    assert pairs == expected and len(rows) == len(expected)
    assert all(abs(float(r["probability"]) - contacts[int(r["i"]) - 1, int(r["j"]) - 1]) < 1e-4 for r in rows)


def test_contact_files_are_written_per_map(tmp_path):
    contacts = _random_map(40, seed=4).astype(np.float32)
    csv_path, npy_path = write_contact_files("sp|P0CG48|UBQ/1", contacts, tmp_path)
    assert Path(csv_path).read_text() == contacts_csv_text(contacts)
    np.testing.assert_array_equal(np.load(npy_path), contacts)
    assert Path(csv_path).parent == Path(npy_path).parent and Path(csv_path).parent.parent == tmp_path
    other, _ = write_contact_files("sp|P0CG48|UBQ/1", contacts * 0.5, tmp_path)
    assert Path(other).parent != Path(csv_path).parent


def test_contacts_figure_is_a_square_with_its_colour_bar_beside_it():
    fig = contacts_figure(_random_map(80))
    layout = fig.layout
    m = layout.margin
    assert layout.width - m.l - m.r == layout.height - m.t - m.b  # the plot area is square
    assert 600 <= layout.width <= 700
    assert list(layout.xaxis.domain) == list(layout.yaxis.domain) == [0, 1]
    assert layout.yaxis.scaleanchor == "x" and layout.yaxis.scaleratio == 1
    bar = fig.data[0].colorbar
    assert 1.0 < bar.x <= 1.05 and bar.xanchor == "left" and bar.len == 1.0
    assert not layout.title.text  # a title would make Gradio widen the top margin
    structure = np.zeros((80, 80))
    assert "Lower: ESMFold" in contacts_figure(_random_map(80), structure).layout.annotations[0].text


def test_contact_lines_reach_the_viewer_between_ca_atoms():
    contacts = _random_map(50, seed=5)
    ca = np.random.default_rng(6).normal(size=(50, 3)) * 10
    lines = contact_lines(contacts, ca)
    assert len(lines) == 10
    for (start, end, p), (i, j, q) in zip(lines, top_contacts_rows(contacts)):
        np.testing.assert_allclose(start, ca[i - 1]) and np.testing.assert_allclose(end, ca[j - 1])
        assert round(p, 3) == q
    assert contact_lines(contacts, ca[:49]) == []  # another sequence's structure: nothing drawn
    doc = viewer_document((FIXTURES / "pdb1ubi.pdb").read_text(), "x.js", contacts=lines[:2])
    assert doc.count(".addCylinder(") == 2 and '"dashed": true' in doc
    assert f'"x": {lines[0][0][0]}' in doc
    assert ".addCylinder(" not in viewer_document((FIXTURES / "pdb1ubi.pdb").read_text(), "x.js")


def test_contacts_trust_figure_is_the_cards():
    card = read_contacts_card()
    assert card["min_separation"] == 24 and len(card["entries"]) >= 5
    assert card["mean_precision"] == pytest.approx(
        np.mean([e["precision"] for e in card["entries"]]), abs=1e-4
    )
    for entry in card["entries"]:
        assert (ROOT / entry["file"]).is_file()
    text = _text(contacts_trust_html(card))
    assert f"On {len(card['entries'])} real structures" in text
    assert f"right {card['mean_precision']:.0%} of the time" in text
    for entry in card["entries"]:
        assert f"{entry['pdb']} ({entry['precision']:.0%})" in text
    assert "not the backbone loaded now" in _text(contacts_trust_html(card, "0" * 64))
    assert "not the backbone" not in _text(contacts_trust_html(card, card["backbone"]["weights_sha256"]))
    assert contacts_trust_html(None) == ""


def test_ubiquitin_is_scored_from_its_own_fixture():
    card = read_contacts_card()
    ubi = next(e for e in card["entries"] if e["pdb"] == "1UBI")
    assert ubi["length"] == len(UBIQUITIN) and ubi["pairs_scored"] == len(UBIQUITIN) // 5


# --- how the calibration is chosen ----------------------------------------------------------


def test_low_confidence_level_is_where_top_1_accuracy_falls_below_half():
    from training.metrics import level_below_which, level_from_which, reliability_bins
    from training.shipped import localization_calibration

    rng = np.random.default_rng(7)
    confidence = rng.uniform(0.1, 1.0, 4000)
    # Right with probability = confidence (calibrated): bins under 0.5 fall short of half.
    correct = rng.random(4000) < confidence
    bins = reliability_bins(confidence, correct)
    assert [b["from"] for b in bins] == [round(0.05 * k, 2) for k in range(2, 20)]
    assert sum(b["n"] for b in bins) == 4000
    assert level_below_which(bins, 0.5) in (0.5, 0.55)
    assert level_below_which(bins, 0.5) == level_from_which(bins, 0.5)
    assert level_from_which(bins, 0.5) in (0.5, 0.55)  # noise may make one bin at 0.5 fall short
    assert level_below_which(bins, 0.0) is None
    assert level_below_which([{"from": 0.9, "to": 0.95, "n": 3, "accuracy": 0.0}], 0.5) is None  # too few

    records = [
        {"truth": "A", "top": "A" if ok else "B", "p": p, "nearest": {"similarity": p, "localization": "A"}}
        for p, ok in zip(confidence, correct)
    ]
    calibration = localization_calibration(records[:2000], records[2000:])
    level = calibration["low_confidence_below"]
    below = calibration["heldout_below"]
    assert below["of"] == 2000 and below["n"] == int((confidence[2000:] < level).sum())
    assert below["accuracy"] < 0.5 <= calibration["heldout_at_or_above"]["accuracy"]
    assert calibration["similarity"]["close_from"] == 0.1  # the neighbour is always right here
