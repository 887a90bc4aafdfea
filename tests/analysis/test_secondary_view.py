"""Which structure's DSSP the secondary-structure tracks are compared with, and the arithmetic of
the prediction's three states (no model needed)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from components.analysis.secondary_plots import secondary_figure, secondary_note
from components.analysis.tabs import observed_secondary
from models.analysis.secondary_prediction import EIGHT, SecondaryPrediction, agreement, csv_text, to_three


def _prediction(ss8: str) -> SecondaryPrediction:
    p = np.full((len(ss8), 8), 0.02, np.float32)
    for i, c in enumerate(ss8):
        p[i, EIGHT.index(c)] = 1 - 0.02 * 7
    return SecondaryPrediction(p, np.linspace(0, 1, len(ss8)).astype(np.float32))


def test_three_states_sum_their_dssp_classes():
    p = np.zeros((1, 8), np.float32)
    p[0, EIGHT.index("H")], p[0, EIGHT.index("G")], p[0, EIGHT.index("C")] = 0.3, 0.3, 0.4
    prediction = SecondaryPrediction(p, np.zeros(1, np.float32))
    assert prediction.ss8 == "C" and prediction.ss3 == "H"  # 0.3 + 0.3 helix beat 0.4 coil
    np.testing.assert_allclose(prediction.probabilities3, [[0.6, 0.0, 0.4]], atol=1e-6)
    assert to_three("HGIEBTSC") == "HHHEECCC"


def test_agreement_counts_residues():
    assert agreement("HHHEC", "HHCEC") == 0.8
    assert agreement("HHH", "HH") is None  # lengths differ: nothing residue by residue


def test_the_structure_tabs_structure_is_used_only_for_the_same_sequence():
    shown = {"ss": "CHHC", "rsa": [0.5, None, 0.1, 0.9], "sequence": "MKVL", "id": "1abc"}
    shown["confidence"] = "B-factor"  # an experimental entry
    ss, rsa, source = observed_secondary(None, shown, "MKVL")
    assert (ss, source) == ("CHHC", "the opened structure 1abc")
    assert np.isnan(rsa[1]) and rsa[0] == 0.5
    assert observed_secondary(None, shown, "MKVA") == (None, None, "")
    fold = SimpleNamespace(ss="HHHH", rsa=np.zeros(4))
    assert observed_secondary(fold, shown, "MKVL")[::2] == ("HHHH", "the ESMFold fold")  # the fold first


def test_note_and_figure_name_what_they_compare():
    prediction = _prediction("HHHHEEEECC")
    card = {"metrics": {"final": {"Test": {"q3": 0.74, "q8": 0.6, "rsa_pearson_r": 0.66, "chains": 1200}}}}
    note = secondary_note(prediction.ss3, "HHHHEEEEEE", "the opened structure 1abc", card)
    assert "Three-state agreement with the DSSP of the opened structure 1abc: 80% of 10 residues." in note
    assert "three-state accuracy is 74%" in note
    source = "the opened structure 1abc"
    figure = secondary_figure([("A", "MKVLAAGGWW", prediction)], "HHHHEEEEEE", None, source)
    bars = [t for t in figure.data if t.type == "bar"]
    assert {t.customdata[0] for t in bars} == {"Predicted", "DSSP (the opened structure 1abc)"}
    assert sum(len(t.x) for t in bars) == 20  # each residue once per row


def test_csv_has_a_row_per_residue_of_every_chain():
    text = csv_text([("A", "MK", _prediction("HE")), ("B", "L", _prediction("C"))])
    lines = text.splitlines()
    assert lines[0].startswith("chain,position,residue,ss3,ss8,rsa,p_H,")
    assert [line.split(",")[:5] for line in lines[1:]] == [
        ["A", "1", "M", "H", "H"], ["A", "2", "K", "E", "E"], ["B", "1", "L", "C", "C"]
    ]  # fmt: skip
