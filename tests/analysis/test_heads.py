"""Head mechanics on small random inputs: the site neighbourhood, and the localization head's
vote of similar training proteins (the shipped heads are checked on real data in test_analysis)."""

from __future__ import annotations

import numpy as np
import torch

from models.analysis.heads import (
    SCALE_SUFFIX,
    LocalizationHead,
    SiteEnsemble,
    SiteHead,
    load_head,
    neighbourhood_mean,
    save_head,
)


def test_neighbourhood_mean_uses_only_positions_that_exist():
    states = torch.arange(12, dtype=torch.float32).reshape(1, 6, 2)  # position i holds (2i, 2i+1)
    mask = torch.tensor([[1, 1, 1, 1, 1, 0]])  # position 5 is padding
    out = neighbourhood_mean(states, mask, torch.tensor([[0, 4]]), radius=2)
    # site 0: positions 0..2 (-2, -1 do not exist); site 4: positions 2..4 (5 masked, 6 outside)
    expected = torch.stack([states[0, 0:3].mean(0), states[0, 2:5].mean(0)])
    torch.testing.assert_close(out, expected)


def _site_head(**extra) -> SiteHead:
    torch.manual_seed(0)
    config = {"layers": 3, "dim": 8, "heads": 2, "intermediate": 16, "eps": 1e-5, "hidden": 16}
    return SiteHead({**config, "top_layer": False, "neighbourhood": 2, **extra}).eval()


def test_site_head_training_inputs_and_app_path_agree():
    """Training feeds (site states, window states, site index); the app hands predict() one
    pass's (layers, L, D) states. Both must give the same probability for the same site."""
    head = _site_head()
    hidden = np.random.default_rng(0).normal(size=(3, 11, 8)).astype(np.float32)
    positions = [0, 5, 10]
    app = head.predict(hidden, positions)
    with torch.no_grad():
        site_states = torch.from_numpy(hidden[:, positions].transpose(1, 0, 2).copy())
        window = torch.from_numpy(hidden[-2])[None]
        logits = head(site_states, (window, torch.ones(1, 11), torch.tensor([positions])))
    np.testing.assert_allclose(app, torch.sigmoid(logits).numpy(), rtol=1e-6)
    # The neighbourhood is read: changing a residue next to site 5 (and no site itself) moves it.
    moved = hidden.copy()
    moved[-2, 6] += np.linspace(-3.0, 3.0, 8, dtype=np.float32)  # not uniform: LayerNorm
    changed = head.predict(moved, positions)
    assert abs(changed[1] - app[1]) > 1e-4 and changed[0] == app[0]


def test_site_ensemble_is_the_mean_of_its_members_and_survives_save_and_load(tmp_path):
    torch.manual_seed(1)
    config = {"layers": 3, "dim": 8, "heads": 2, "intermediate": 16, "eps": 1e-5, "hidden": 16}
    ensemble = SiteEnsemble({**config, "top_layer": False, "neighbourhood": 2, "members": 3}).eval()
    hidden = np.random.default_rng(1).normal(size=(3, 9, 8)).astype(np.float32)
    positions = [1, 4, 8]
    alone = np.stack([m.eval().predict(hidden, positions) for m in ensemble.members])
    assert np.ptp(alone, axis=0).min() > 1e-3  # differently initialised members disagree
    np.testing.assert_allclose(ensemble.predict(hidden, positions), alone.mean(0), rtol=1e-6)
    assert ensemble.predict(hidden, []).shape == (0,)

    save_head(ensemble, {"kind": "site_ensemble"}, tmp_path, "sites")
    loaded, card = load_head(tmp_path / "sites.json")
    assert card["config"]["members"] == 3 and "members" not in loaded.members[0].config
    np.testing.assert_allclose(loaded.predict(hidden, positions), alone.mean(0), rtol=1e-6)


def _clustered(n_per_class: int, classes: int, size: int, seed: int):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5.0, size=(classes, size))
    labels = np.repeat(np.arange(classes), n_per_class)
    return (centres[labels] + rng.normal(size=(len(labels), size))).astype(np.float32), labels


def _localization_head() -> LocalizationHead:
    torch.manual_seed(0)
    config = {"classes": ["A", "B", "C"], "dim": 4, "pooled_size": 12, "attention_heads": 0, "hidden": 8}
    return LocalizationHead(config).eval()


def test_reference_vote_follows_the_nearest_training_proteins(tmp_path):
    pooled, labels = _clustered(20, 3, 12, seed=1)
    head = _localization_head()
    head.norm.fit(pooled)
    head.set_reference(pooled, labels, dims=4)
    queries, query_labels = _clustered(5, 3, 12, seed=1)  # same cluster centres, new noise
    vote = head.reference_vote(torch.from_numpy(queries), k=5, temperature=10.0)
    torch.testing.assert_close(vote.sum(-1), torch.ones(len(queries)))
    assert (vote.argmax(-1).numpy() == query_labels).all()

    head.config["reference"] = {"dims": 4, "size": len(labels), "k": 5, "temperature": 10.0, "weight": 0.3}
    with torch.no_grad():
        classifier = torch.softmax(head(torch.from_numpy(queries)), -1)
        blended = head.probabilities(torch.from_numpy(queries))
    torch.testing.assert_close(blended, 0.7 * classifier + 0.3 * vote)

    save_head(head, {"kind": "localization"}, tmp_path, "localization")
    loaded, _ = load_head(tmp_path / "localization.json")
    with torch.no_grad():
        torch.testing.assert_close(loaded.probabilities(torch.from_numpy(queries)), blended)


def test_compact_storage_keeps_large_matrices_as_int8_rows_and_loads_float32(tmp_path):
    from safetensors.torch import load_file

    torch.manual_seed(2)
    config = {"classes": ["A", "B", "C"], "dim": 4, "pooled_size": 512, "attention_heads": 0, "hidden": 128}
    head = LocalizationHead(config).eval()  # classifier.1.weight: 128 x 512 = INT8_MIN_ELEMENTS
    pooled, labels = _clustered(30, 3, 512, seed=2)
    head.norm.fit(pooled)
    head.set_reference(pooled, labels, dims=8)
    head.config["reference"] = {"dims": 8, "size": len(labels), "k": 5, "temperature": 10.0, "weight": 0.3}
    weights, card_path = save_head(head, {"kind": "localization"}, tmp_path, "localization")

    stored = load_file(str(weights))
    matrix, scale = stored["classifier.1.weight"], stored["classifier.1.weight" + SCALE_SUFFIX]
    assert matrix.dtype == torch.int8 and scale.dtype == torch.float16 and scale.shape == (128,)
    assert matrix.abs().amax(1).eq(127).all()  # symmetric: each row's largest weight maps to ±127
    assert stored["reference_labels"].dtype == torch.int16
    assert stored["norm.mean"].dtype == torch.float32  # small tensors stay as trained
    assert stored["reference"].dtype == torch.float16  # 90 x 8: below the int8 threshold

    loaded, card = load_head(card_path)
    assert card["storage"]["large_matrices"].startswith("int8")
    original = head.classifier[1].weight
    restored = loaded.classifier[1].weight
    assert restored.dtype == torch.float32
    # Within half a quantisation step of each row, and not identical (it was quantised).
    step = original.abs().amax(1, keepdim=True) / 127
    assert ((restored - original).abs() <= step / 2 + 1e-6).all() and not torch.equal(restored, original)
    torch.testing.assert_close(loaded.reference_labels, head.reference_labels)
    queries = torch.from_numpy(_clustered(5, 3, 512, seed=3)[0])
    with torch.no_grad():
        torch.testing.assert_close(
            loaded.probabilities(queries), head.probabilities(queries), atol=2e-3, rtol=0
        )


def test_heads_saved_before_compact_storage_still_load(tmp_path):
    import json

    from safetensors.torch import save_file

    head = _localization_head()
    save_file(head.state_dict(), str(tmp_path / "old.safetensors"))  # float32, no storage note
    card = {"kind": "localization", "config": head.config, "weights": "old.safetensors"}
    (tmp_path / "old.json").write_text(json.dumps(card))
    loaded, _ = load_head(tmp_path / "old.json")
    for name, tensor in head.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_truncated_reference_is_the_reference_of_fewer_principal_components():
    pooled, labels = _clustered(20, 3, 12, seed=4)
    full, fewer = _localization_head(), _localization_head()
    for head, dims in ((full, 8), (fewer, 3)):
        head.norm.fit(pooled)
        head.set_reference(pooled, labels, dims=dims)
        head.config["reference"] = {
            "dims": dims,
            "size": len(labels),
            "k": 5,
            "temperature": 10.0,
            "weight": 0.3,
        }
    full.truncate_reference(3)
    assert full.config["reference"]["dims"] == 3 and full.reference.shape == (len(labels), 3)
    torch.testing.assert_close(full.projection, fewer.projection)
    torch.testing.assert_close(full.reference.float(), fewer.reference.float(), atol=2e-3, rtol=0)
    torch.testing.assert_close(
        full.reference.float().norm(dim=-1), torch.ones(len(labels)), atol=2e-3, rtol=0
    )
