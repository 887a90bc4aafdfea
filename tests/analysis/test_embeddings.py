"""Embeddings export: the backbone's last layer per residue and its mean, in the app's download
and in predict.py's `embeddings` task."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from models.analysis.embeddings import write_embeddings
from models.shared.sequences import Protein
from tests.batch.test_batch import CRAMBIN, MIXED, _predict
from tests.conftest import INSULIN_A, INSULIN_B, UBIQUITIN


@pytest.fixture
def studio(real_backbone, tmp_path):
    from models.studio import Studio, StudioConfig

    studio = Studio(StudioConfig(result_cache=str(tmp_path / "results")))
    studio.annotator.backbone = real_backbone
    return studio


def test_embedding_is_the_backbones_last_layer_and_is_written_with_its_mean(studio, real_backbone, tmp_path):
    [annotation] = studio.annotate_many([Protein("sp|P0CG48|UBC_HUMAN", (UBIQUITIN,))], tasks=("embeddings",))
    expected = real_backbone.run([UBIQUITIN], contacts=False)[0].hidden[-1]
    assert annotation.embedding.dtype == np.float32
    np.testing.assert_array_equal(annotation.embedding, expected)
    per_residue, mean = write_embeddings(annotation, tmp_path / "downloads")
    assert "|" not in per_residue.name and per_residue.name.endswith(".embeddings.npy")
    states, average = np.load(per_residue), np.load(mean)
    assert states.shape == (len(UBIQUITIN), real_backbone.load().config.hidden_size)
    assert states.dtype == np.float16 and average.dtype == np.float32 and average.shape == states.shape[1:]
    np.testing.assert_array_equal(states, expected.astype(np.float16))
    np.testing.assert_allclose(average, expected.mean(axis=0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(average, states.astype(np.float32).mean(axis=0), atol=1e-3)


def test_embeddings_only_when_asked_and_never_from_the_result_cache(studio, real_backbone):
    protein = Protein("ubq", (UBIQUITIN,))
    plain = studio.annotate_many([protein], tasks=("ptm", "localization"))[0]
    assert plain.embedding is None
    with pytest.raises(ValueError, match="without the embeddings task"):
        write_embeddings(plain, "unused")
    calls = []
    original = real_backbone.run
    real_backbone.run = lambda seqs, contacts=True: calls.append(contacts) or original(seqs, contacts)
    try:
        again = studio.annotate_many([protein], tasks=("ptm", "localization", "embeddings"))[0]
    finally:
        real_backbone.run = original
    assert calls == [False]  # the cached PTM/localization could not answer the embedding
    assert again.embedding.shape[0] == len(UBIQUITIN) and again.localization == plain.localization


def test_cli_embeddings_task_writes_per_residue_files_means_and_ids_in_input_order(real_backbone, tmp_path):
    fasta = tmp_path / "mixed.fasta"
    fasta.write_text(MIXED)
    out = tmp_path / "out"
    result = _predict([fasta, "--out", out, "--tasks", "embeddings", "--no-cache", "--quiet"])
    assert result.returncode == 1, result.stderr  # the bad records
    with (out / "embeddings_ids.csv").open() as handle:
        ids = list(csv.DictReader(handle))
    assert [(r["id"], r["chain"]) for r in ids] == [
        ("ubq", "A"),
        ("crambin", "A"),
        ("has_x", "A"),
        ("insulin", "A"),
        ("insulin", "B"),
    ]
    assert [r["file"] for r in ids] == [
        "embeddings/ubq.npy",
        "embeddings/crambin.npy",
        "embeddings/has_x.npy",
        "embeddings/insulin/A.npy",
        "embeddings/insulin/B.npy",
    ]
    means = np.load(out / "embeddings_mean.npy")
    assert means.shape == (5, 320) and means.dtype == np.float32
    lengths = [len(UBIQUITIN), len(CRAMBIN), len("MKKXLLEEKAGLKQ"), len(INSULIN_A), len(INSULIN_B)]
    for row, mean, length in zip(ids, means, lengths):
        states = np.load(out / row["file"])
        assert states.shape == (length, 320) and states.dtype == np.float16 and int(row["length"]) == length
        np.testing.assert_allclose(mean, states.astype(np.float32).mean(axis=0), atol=1e-3)
    expected = real_backbone.run([UBIQUITIN], contacts=False)[0].hidden[-1]
    np.testing.assert_array_equal(np.load(out / "embeddings" / "ubq.npy"), expected.astype(np.float16))
    summary = [(r["id"], r["status"]) for r in csv.DictReader((out / "summary.csv").open())]
    assert ("insulin", "ok") in summary and summary[0] == ("ubq", "ok")
    assert not (out / "ptm_sites.csv").exists() and not (out / "contacts").exists()  # only what was asked
