"""The shipped secondary-structure head: its card holds what the issue asks to report, the README
reports the card's figures, and its convolution survives the compact storage."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from models.analysis.heads import SecondaryHead, decode_state, encode_state
from models.shared.settings import HEADS_DIR
from tests.conftest import ROOT

CARD = json.loads((HEADS_DIR / "secondary_structure.json").read_text())


def test_card_reports_checks_split_figures_and_baseline():
    checks = CARD["data"]["reader_checks"]
    assert checks["ca_ca_median_angstrom"] == pytest.approx(3.80, abs=0.02)
    assert checks["pydssp_vs_stored_dssp"]["chains"] == 500
    assert checks["pydssp_vs_stored_dssp"]["three_state_usual_mapping"] >= 0.90
    matches = {v["match"] for v in checks["accessibility_vs_biotite"].values()}
    assert matches <= {"same PDB chain", "same sequence"}
    split = CARD["data"]["split"]
    assert split["clustering"] == "mmseqs easy-cluster --min-seq-id 0.25 -c 0.8"
    assert split["excluded_clusters"]["reserved_sha1_0"] > 0 and split["excluded_clusters"]["fixtures"] > 0
    test = CARD["metrics"]["final"]["Test"]
    baseline = CARD["metrics"]["baselines"]["logistic_regression_last_layer"]
    for figures in (test, baseline):
        assert set(figures["recall8"]) == set("HGIEBTSC") and set(figures["recall3"]) == set("HEC")
        assert figures["residues"] == test["residues"] > 100_000  # the same test residues
    for key, goal in (("q3", 0.75), ("q8", 0.62), ("rsa_pearson_r", 0.65)):
        assert CARD["metrics"]["goals"][key] == {"goal": goal, "value": test[key], "met": test[key] >= goal}
    assert CARD["training_command"] == "python -m training secondary"
    assert (HEADS_DIR / CARD["weights"]).stat().st_size < 10 * 2**20


def test_readme_reports_the_cards_figures():
    readme = (ROOT / "README.md").read_text()
    test = CARD["metrics"]["final"]["Test"]
    baseline = CARD["metrics"]["baselines"]["logistic_regression_last_layer"]
    for name, figures in (("this head", test), ("baseline", baseline)):
        row = next(line for line in readme.splitlines() if line.startswith(f"| {name}"))
        cells = [c.strip() for c in row.split("|")[2:6]]
        expected = [f"{figures[k]:.3f}" for k in ("q3", "q8", "rsa_pearson_r", "two_state_accuracy")]
        assert cells == expected, row
    assert re.search(r"on ([\d,]+) PDB chains", readme)[1] == f"{test['chains']:,}"


def test_the_convolution_survives_compact_storage():
    torch.manual_seed(0)
    head = SecondaryHead({"layers": 7, "dim": 320, "hidden": 256, "kernel": 9, "classes": "HGIEBTSC"})
    stored = encode_state(head.state_dict())
    assert stored["conv.weight"].dtype == torch.int8 and stored["conv.weight"].shape == (256, 256, 9)
    restored = decode_state(stored)
    for name, tensor in head.state_dict().items():
        error = (restored[name] - tensor).abs().max() / tensor.abs().max().clamp(min=1e-12)
        assert restored[name].shape == tensor.shape and float(error) < 0.01, name
    twin = SecondaryHead(head.config)
    twin.load_state_dict(restored)
    hidden = np.random.default_rng(0).standard_normal((7, 50, 320)).astype(np.float32)
    (p_a, r_a), (p_b, r_b) = head.eval().predict(hidden), twin.eval().predict(hidden)
    assert np.abs(p_a - p_b).max() < 0.02 and np.abs(r_a - r_b).max() < 0.02
