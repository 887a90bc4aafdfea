"""`python -m training secondary` end to end on a small structure database in ProMod3's layout
(the command users run, in a subprocess, on the real backbone), then its head read back through
the app's path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from models.analysis.annotation import Annotator
from models.analysis.secondary_prediction import EIGHT
from models.shared.sequences import Protein
from tests.conftest import ROOT
from tests.training.secondary_fixtures import random_chains
from training.structure_db import StructureDB, write_structure_db

pytestmark = pytest.mark.skipif(
    shutil.which("mmseqs") is None, reason="Debian's mmseqs2 is not installed (scripts/test.sh installs it)"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, real_backbone):
    tmp = tmp_path_factory.mktemp("secondary")
    database = write_structure_db(tmp / "structure_db.dat", random_chains(40, seed=2))
    out = tmp / "heads"
    result = subprocess.run(
        [sys.executable, "-m", "training", "secondary", "--database", database, "--work", tmp / "work",
         "--out", out, "--epochs", "2", "--hidden", "32", "--check-chains", "10"],
        cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return out, json.loads((out / "secondary_structure.json").read_text()), database


def test_card_reports_the_split_checks_and_figures(trained):
    _, card, _ = trained
    assert card["kind"] == "secondary" and card["config"]["classes"] == EIGHT
    split = card["data"]["split"]
    assert split["chains_usable"] == 40 and split["clusters"] == 40  # unrelated random sequences
    used = card["data"]["chains_used"]
    assert (used["test"], used["validation"], used["train"]) == (4, 2, 34)  # 10% and 5% of 40 clusters
    checks = card["data"]["reader_checks"]
    assert checks["ca_ca_median_angstrom"] == pytest.approx(3.80, abs=0.03)
    assert checks["pydssp_vs_stored_dssp"]["three_state_usual_mapping"] == 1.0
    test = card["metrics"]["final"]["Test"]
    for key in ("q8", "q3", "rsa_pearson_r", "two_state_accuracy"):
        assert -1.0 <= test[key] <= 1.0
    assert set(test["recall8"]) == set(EIGHT) and set(test["recall3"]) == set("HEC")
    assert "logistic_regression_last_layer" in card["metrics"]["baselines"]
    assert set(card["metrics"]["goals"]) == {"q3", "q8", "rsa_pearson_r"}
    assert card["training_command"].startswith("python -m training secondary --database")
    assert [h["epoch"] for h in card["history"]] == [1, 2]


def test_the_app_reads_the_head(trained, real_backbone):
    out, card, database = trained
    annotator = Annotator(real_backbone.spec, heads_dir=out)
    annotator.backbone = real_backbone
    sequence = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"
    a = annotator.annotate(Protein("x", (sequence,)))
    assert a.secondary is not None and a.sites == [] and a.localization == {}
    assert a.secondary.probabilities.shape == (len(sequence), 8)
    np.testing.assert_allclose(a.secondary.probabilities.sum(1), 1.0, atol=1e-5)
    assert len(a.secondary.ss8) == len(a.secondary.ss3) == len(sequence)
    assert set(a.secondary.ss3) <= set("HEC") and ((a.secondary.rsa >= 0) & (a.secondary.rsa <= 1)).all()

    # The card's test chains, predicted again through the app's path: the same strings.
    db = StructureDB(database)
    index = {db.name(i): i for i in range(len(db))}
    sample = card["regression_sample"]
    assert len(sample["chains"]) == 4  # every test chain (fewer than 20)
    records = [Protein(name, (db.sequence(index[name]),)) for name in sample["chains"]]
    assert [x.secondary.ss3 for x in annotator.annotate_many(records)] == sample["ss3"]
