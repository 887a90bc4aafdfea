"""`python -m training site-head`: a site head for any PTM type from a CSV, trained on the real
backbone in a subprocess (the command users run), then checked independently: its card, and its
ROC-AUC on new proteins of a learnable synthetic rule (an S/T followed by a proline is modified)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client

from models.analysis.head_cards import read_head_cards
from models.analysis.heads import load_head
from models.shared.settings import HEADS_DIR
from tests.app_process import running_app
from tests.conftest import ROOT
from training.metrics import roc_auc

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
HEADER = ["id", "sequence", "position", "label"]


def synthetic_proteins(n: int, seed: int, lengths=(80, 200)) -> list[tuple[str, str]]:
    """Random composition, plus three S/T-P motifs each so every protein has modified sites."""
    rng = np.random.default_rng(seed)
    proteins = []
    for i in range(n):
        seq = list(rng.choice(list(AMINO_ACIDS), int(rng.integers(lengths[0], lengths[1] + 1))))
        for j in rng.choice(len(seq) - 1, 3, replace=False):
            seq[j], seq[j + 1] = rng.choice(["S", "T"]), "P"
        proteins.append((f"SYN{seed}_{i:03d}", "".join(seq)))
    return proteins


def proline_rule(sequence: str) -> list[tuple[int, int]]:
    """(0-based position, label) of every S/T: modified when a proline follows."""
    return [
        (i, int(i + 1 < len(sequence) and sequence[i + 1] == "P"))
        for i, aa in enumerate(sequence)
        if aa in "ST"
    ]


def site_rows(proteins, seed: int, per_class: int = 2) -> list[list]:
    rng = np.random.default_rng(seed)
    rows = []
    for protein, sequence in proteins:
        sites = proline_rule(sequence)
        for label in (1, 0):
            chosen = [i for i, y in sites if y == label]
            for i in rng.permutation(chosen)[:per_class]:
                rows.append([protein, sequence, int(i) + 1, label])
    return rows


def write_csv(path: Path, rows: list[list], header=HEADER) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def run_training(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    return subprocess.run(
        [sys.executable, "-m", "training", "site-head", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory, real_backbone):
    tmp = tmp_path_factory.mktemp("site-head")
    # One protein longer than ESM-2's 1,022-residue window: embedded in stitched windows, as the app does.
    proteins = synthetic_proteins(100, seed=1, lengths=(60, 150)) + synthetic_proteins(1, 2, (1100, 1100))
    sites = write_csv(tmp / "sites.csv", site_rows(proteins, seed=1, per_class=3))
    out = tmp / "heads"
    result = run_training(
        "--name", "Phospho (synthetic)", "--residues", "ST", "--sites", sites, "--out", out,
        "--members", "1", "--epochs", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return out / "ptm_phospho_synthetic.json", sites


def test_card_follows_the_site_head_contract(trained):
    card_path, sites = trained
    card = json.loads(card_path.read_text())
    assert (card_path.parent / card["weights"]).is_file()
    assert card["weights"] == "ptm_phospho_synthetic.safetensors"
    assert card["kind"] == "site_ensemble" and card["name"] == "ptm_phospho_synthetic"
    assert card["task"] == "Phospho (synthetic) site probability for every serine and threonine"
    assert card["config"]["ptm_type"] == "Phospho (synthetic)" and card["config"]["residues"] == "ST"
    assert card["config"]["members"] == 1 and card["config"]["neighbourhood"] == 7
    assert card["config"]["dim"] == 320 and card["config"]["layers"] == 7
    assert card["backbone"]["weights_sha256"] == (
        "f4210829794c4a804b266fab3ac7d5f71c2d99f0d8de021cc6a8dfa28dff93e4"
    )
    assert set(card["backbone"]) == {"id", "resolved", "weights_sha256", "base_model"}
    data = card["data"]
    assert data["file"] == "sites.csv" and len(data["sha256"]) == 64
    with sites.open() as f:
        rows = list(csv.DictReader(f))
    assert data["n_sites"] == len(rows) > 550 and data["n_proteins"] == 101
    assert data["longest_protein"] == 1100 and data["windowed_proteins"] == 1
    assert data["n_positive"] == sum(r["label"] == "1" for r in rows)
    parts = [data[p] for p in ("train", "validation", "test")]
    assert sum(p["proteins"] for p in parts) == 101 and sum(p["sites"] for p in parts) == len(rows)
    assert data["test"]["proteins"] == 15 and data["validation"]["proteins"] == 10
    metrics = card["metrics"]
    for key in ("validation_roc_auc", "probe_validation_roc_auc"):
        assert 0.5 < metrics[key] <= 1
    assert len(metrics["member_validation_roc_auc"]) == 1
    test = metrics["final"]["Test"]
    assert test["n"] == data["test"]["sites"] and test["n_positive"] == data["test"]["positive"]
    assert test["roc_auc"] > 0.9
    assert 0 <= test["precision_at_0.5"] <= 1 and 0 <= test["recall_at_0.5"] <= 1
    curve = test["threshold_curve"]  # what the PTM tab reads at each threshold
    assert curve["thresholds"] == [round(0.05 * k, 2) for k in range(1, 20)]
    at_half = curve["thresholds"].index(0.5)
    assert curve["precision"][at_half] == test["precision_at_0.5"]
    assert curve["recall"][at_half] == test["recall_at_0.5"]
    assert curve["recall"] == sorted(curve["recall"], reverse=True) and curve["recall"][0] <= 1
    assert curve["n_called"] == sorted(curve["n_called"], reverse=True) and curve["n_called"][0] <= test["n"]
    assert card["training_command"].startswith("python -m training site-head --name")
    assert card["seed"] == 0 and card["torch"] and card["python"]
    assert set(card["pipeline_seconds"]) >= {"embedding", "training", "final_test", "total"}


def test_head_scores_new_proteins_and_reproduces_its_regression_sample(trained, real_backbone):
    """Loaded from its files and run like the app runs a head (one backbone pass per sequence,
    `head.predict` at the candidate residues), on proteins it never saw."""
    card_path, sites = trained
    head, card = load_head(card_path)
    proteins = synthetic_proteins(20, seed=99, lengths=(60, 150))
    labels, scores = [], []
    for (_, sequence), output in zip(proteins, real_backbone.run([s for _, s in proteins], contacts=False)):
        positions, truth = zip(*proline_rule(sequence))
        labels.extend(truth)
        scores.extend(head.predict(output.hidden, list(positions)))
    assert 40 < sum(labels) < len(labels)
    assert roc_auc(labels, scores) > 0.9

    with sites.open() as f:
        sequence_of = {row["id"]: row["sequence"] for row in csv.DictReader(f)}
    sample = card["regression_sample"]
    unique = sorted(set(sample["ids"]))
    hidden = {i: o.hidden for i, o in zip(unique, real_backbone.run([sequence_of[i] for i in unique], False))}
    again = [head.predict(hidden[i], [p - 1])[0] for i, p in zip(sample["ids"], sample["positions"])]
    np.testing.assert_allclose(again, sample["probabilities"], atol=2e-3)


def test_the_trained_head_shows_up_in_the_running_app_next_to_sumo(trained, tmp_path):
    """`python app.py --heads assets/heads --heads DIR`, then `/ptm` as any user calls it."""
    card_path, _ = trained
    args = ["--heads", HEADS_DIR, "--heads", card_path.parent, "--result-cache", "off"]
    held_out = synthetic_proteins(20, seed=123, lengths=(60, 150))
    labels, scores = [], []
    with running_app(args, tmp_path / "app.log") as url:
        client = Client(url, verbose=False)
        for name, sequence in held_out:
            sites = client.predict(f">{name}\n{sequence}", api_name="/ptm")["sites"]
            mine = {s["position"]: s["probability"] for s in sites if s["type"] == "Phospho (synthetic)"}
            shipped = {c.ptm_type for c in read_head_cards([HEADS_DIR]).sites}
            assert {"Phospho (synthetic)", "SUMOylation"} <= {s["type"] for s in sites} <= shipped | {
                "Phospho (synthetic)"
            }
            assert [s["position"] for s in sites if s["type"] == "SUMOylation"] == [
                i + 1 for i, aa in enumerate(sequence) if aa == "K"
            ]
            positions, truth = zip(*proline_rule(sequence))
            assert sorted(mine) == [i + 1 for i in positions]  # every S and T, nothing else
            labels.extend(truth)
            scores.extend(mine[i + 1] for i in positions)
        analyze = client.predict(held_out[0][1], 0.5, api_name="/analyze")
    assert roc_auc(labels, scores) > 0.9
    status, ptm_json = analyze[0], analyze[7]
    assert status == "" and {s["type"] for s in ptm_json["sites"]} >= {"Phospho (synthetic)"}


def test_predict_py_writes_the_new_type_into_ptm_sites_csv(trained, tmp_path):
    card_path, _ = trained
    (name, sequence), *_ = synthetic_proteins(1, seed=321, lengths=(80, 80))
    fasta = tmp_path / "in.fasta"
    fasta.write_text(f">{name}\n{sequence}\n")
    result = subprocess.run(
        [sys.executable, "predict.py", fasta, "--out", tmp_path / "out", "--tasks", "ptm", "--no-cache",
         "--quiet", "--heads", HEADS_DIR, "--heads", card_path.parent],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    with (tmp_path / "out" / "ptm_sites.csv").open() as f:
        rows = list(csv.DictReader(f))
    by_type = {t: [int(r["position"]) for r in rows if r["type"] == t] for t in {r["type"] for r in rows}}
    assert by_type["Phospho (synthetic)"] == [i + 1 for i, aa in enumerate(sequence) if aa in "ST"]
    assert by_type.get("SUMOylation", []) == [i + 1 for i, aa in enumerate(sequence) if aa == "K"]


def _valid_rows(n_proteins: int = 12, per_class: int = 2) -> list[list]:
    return site_rows(synthetic_proteins(n_proteins, seed=5), seed=5, per_class=per_class)


def _problems(tmp_path: Path, rows: list[list], header=HEADER, residues: str = "ST") -> str:
    sites = write_csv(tmp_path / "bad.csv", rows, header)
    result = run_training(
        "--name", "Phospho", "--residues", residues, "--sites", sites, "--out", tmp_path / "out"
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "bad.csv" in result.stderr
    assert not (tmp_path / "out").exists()
    return result.stderr


def test_bad_rows_are_reported_by_line_all_at_once(tmp_path):
    rows = _valid_rows(12, per_class=2)  # 24 + 24 sites
    protein, sequence = rows[0][0], rows[0][1]
    not_candidate = next(i for i, aa in enumerate(sequence) if aa not in "ST") + 1
    rows[1] = [protein, sequence, "twelve", 0]  # line 3
    rows[2] = [protein, sequence, len(sequence) + 5, 0]  # line 4
    rows[3] = [protein, sequence, not_candidate, 0]  # line 5
    rows[4] = [rows[4][0], rows[4][1], rows[4][2], "yes"]  # line 6
    rows[5] = [rows[5][0], rows[5][1][:10] + "J1" + rows[5][1][12:], rows[5][2], rows[5][3]]  # line 7
    rows[6] = [protein, sequence[:-1] + "A", rows[6][2], rows[6][3]]  # line 8: another sequence
    stderr = _problems(tmp_path, rows)
    assert "bad.csv, line 3: position 'twelve' is not an integer" in stderr
    assert f"bad.csv, line 4: position {len(sequence) + 5} is outside" in stderr
    assert f"(length {len(sequence)};" in stderr
    assert f"bad.csv, line 5: the residue at position {not_candidate} of '{protein}' is " in stderr
    assert f"{sequence[not_candidate - 1]!r}, not one of --residues ST" in stderr
    assert "bad.csv, line 6: label 'yes' is not 0 or 1" in stderr
    assert "bad.csv, line 7: the sequence of" in stderr and "'1' at position 12" in stderr
    assert f"bad.csv, line 8: id '{protein}' has a different sequence than on line 2" in stderr


def test_many_bad_rows_are_summarised(tmp_path):
    rows = [[r[0], r[1], r[2], 7] for r in _valid_rows(12, per_class=2)]
    stderr = _problems(tmp_path, rows)
    assert stderr.count("is not 0 or 1") == 10 and f"and {len(rows) - 10} more" in stderr


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["id", "sequence", "position"], "bad.csv, line 1: missing column(s) label"),
        (["id", "sequence", "position", "label", "note"], "bad.csv, line 1: unexpected column(s) 'note'"),
    ],
)
def test_header_problems(tmp_path, header, message):
    rows = [r[: len(header)] + [""] * (len(header) - 4) for r in _valid_rows(2)]
    assert message in _problems(tmp_path, rows, header)


def test_empty_file(tmp_path):
    empty = tmp_path / "bad.csv"
    empty.write_text("")
    result = run_training("--name", "P", "--residues", "ST", "--sites", empty, "--out", tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "bad.csv: the file is empty" in result.stderr


def test_one_class_and_too_few_sites(tmp_path):
    rows = _valid_rows(12, per_class=2)
    only_modified = [r for r in rows if r[3] == 1]
    assert "every site has label 1" in _problems(tmp_path, only_modified)
    few = [r for r in rows if r[3] == 0] + [r for r in rows if r[3] == 1][:19]
    assert "only 19 sites with label 1 (modified); at least 20 of each class" in _problems(tmp_path, few)


def test_bad_residues_option_is_refused():
    result = run_training("--name", "P", "--residues", "S1", "--sites", "x.csv", "--out", "x")
    assert result.returncode == 2 and "'1' is not one" in result.stderr and "Traceback" not in result.stderr
