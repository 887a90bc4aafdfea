"""The eight PTM-type heads' cards (`python -m training ptm-sites`): what each must report."""

from __future__ import annotations

import json

import pytest

from models.analysis.head_cards import read_head_cards
from models.shared.settings import HEADS_DIR
from training.ptm_data import SOURCES, TYPES

CARDS = {c.ptm_type: c for c in read_head_cards([HEADS_DIR]).sites}


@pytest.mark.parametrize("ptm_type", [t.name for t in TYPES])
def test_each_type_ships_with_its_figures_baselines_and_sources(ptm_type):
    card = CARDS[ptm_type].card
    assert card["training_command"].startswith("python -m training ptm-sites")
    test = card["metrics"]["final"]["Test"]
    assert 0.5 < test["roc_auc"] <= 1 and 0 < test["pr_auc"] <= 1
    assert test["n"] > test["n_positive"] > 0
    at = test["at_calibrated_threshold"]
    assert at["threshold"] == card["threshold"]["value"] == CARDS[ptm_type].threshold
    assert 0 <= at["precision"] <= 1 and 0 <= at["recall"] <= 1
    baselines = card["metrics"]["baselines"]
    assert set(baselines) == {"probe_logistic_regression", "one_hot_window_logistic_regression"}
    assert all(0 <= b["roc_auc"] <= 1 for b in baselines.values())
    sources = card["data_sources"]
    assert set(sources["compendia"]) == set(SOURCES)
    assert all(entry["licence"] for entry in sources["compendia"].values())
    assert len(sources["inputs"]["ptm-pose"]["sha256"]) == 64
    assert len(sources["inputs"]["metastudent-data"]["sha256"]) == 64
    # A head trained on PhosphoSitePlus rows says so; one that is not, does not.
    assert (card["data_licence"] is not None) == sources["phosphositeplus_used"]
    assert "split" in card["data"] and "homology group" in card["data"]["split"]


def test_a_head_trained_on_phosphositeplus_rows_says_so_on_the_page():
    from components.analysis.trust import LICENCE_NOTE, ptm_trust_html

    restricted = [c for c in CARDS.values() if c.data_licence]
    free = [c for c in CARDS.values() if not c.data_licence]
    assert restricted and free
    for card in restricted:
        note = ptm_trust_html([card], 0.5)
        assert LICENCE_NOTE in note and "PhosphoSitePlus" in note
    assert all(LICENCE_NOTE not in ptm_trust_html([card], 0.5) for card in free)


def test_every_head_together_fits_the_size_budget():
    files = list(HEADS_DIR.glob("*.safetensors"))
    assert sum(p.stat().st_size for p in files) <= 45 * 10**6
    assert max(p.stat().st_size for p in files) < 10 * 10**6
    assert all(json.loads(p.with_suffix(".json").read_text())["weights"] == p.name for p in files)
