"""The persistent result cache: shared across Studio instances (app and CLI), bounded, and never
a reason for a request to fail."""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
import pytest

from models.shared.disk_cache import DiskCache
from models.shared.sequences import Protein
from models.studio import Studio, StudioConfig
from tests.conftest import UBIQUITIN


def test_round_trip_returns_arrays_and_extra(tmp_path):
    cache = DiskCache(tmp_path)
    cache.put("m", "t", "MKV", {"x": np.arange(3.0)}, {"name": "a"})
    hit = cache.get("m", "t", "MKV")
    np.testing.assert_array_equal(hit["x"], [0.0, 1.0, 2.0])
    assert hit["name"] == "a"
    # Every part of the key matters.
    assert cache.get("m2", "t", "MKV") is None
    assert cache.get("m", "t2", "MKV") is None
    assert cache.get("m", "t", "MKVL") is None


def test_survives_a_new_instance(tmp_path):
    DiskCache(tmp_path).put("m", "t", "MKV", {"x": np.ones(2)})
    assert DiskCache(tmp_path).get("m", "t", "MKV") is not None


@pytest.mark.parametrize("garbage", [b"", b"not a zip", b"PK\x03\x04broken"])
def test_corrupt_entry_is_a_miss_and_is_removed(tmp_path, garbage):
    cache = DiskCache(tmp_path)
    cache.put("m", "t", "MKV", {"x": np.ones(2)})
    (entry,) = tmp_path.glob("??/*.npz")
    entry.write_bytes(garbage)
    assert cache.get("m", "t", "MKV") is None
    assert not entry.exists()


def test_entry_under_another_key_is_rejected(tmp_path):
    # A file renamed or copied into another key's place must not answer for that key.
    cache = DiskCache(tmp_path)
    cache.put("m", "t", "AAA", {"x": np.ones(2)})
    (entry,) = tmp_path.glob("??/*.npz")
    target = cache._path(cache.key("m", "t", "CCC"))
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(entry.read_bytes())
    assert cache.get("m", "t", "CCC") is None


def test_size_is_bounded_least_recently_used_go_first(tmp_path):
    entry_bytes = 80_000 * 8
    cache = DiskCache(tmp_path, max_bytes=int(3.5 * entry_bytes))
    for i, seq in enumerate(["A", "C", "D"]):
        cache.put("m", "t", seq, {"x": np.zeros(80_000)})
        os.utime(cache._path(cache.key("m", "t", seq)), (1000 + i, 1000 + i))
    assert cache.get("m", "t", "A") is not None  # refreshes A: now C is the oldest
    cache.put("m", "t", "E", {"x": np.zeros(80_000)})
    total = sum(p.stat().st_size for p in tmp_path.glob("??/*.npz"))
    assert total <= cache.max_bytes
    assert cache.get("m", "t", "C") is None
    assert cache.get("m", "t", "A") is not None
    assert cache.get("m", "t", "E") is not None


def test_unusable_directory_means_no_cache_not_a_crash(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = DiskCache(blocker / "cache")  # a path under a regular file cannot be created
    assert not cache.enabled
    cache.put("m", "t", "MKV", {"x": np.ones(2)})
    assert cache.get("m", "t", "MKV") is None
    assert "not writable" in caplog.text


def test_write_failure_mid_run_turns_the_cache_off(tmp_path, monkeypatch):
    cache = DiskCache(tmp_path)

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    cache.put("m", "t", "MKV", {"x": np.ones(2)})  # no exception
    assert not cache.enabled
    assert not list(tmp_path.glob("??/*"))  # no temporary file left behind


def _studio(tiny_fold_model, cache_dir) -> Studio:
    return Studio(StudioConfig(fold_model=str(tiny_fold_model), device="cpu", result_cache=str(cache_dir)))


def test_structure_comes_from_disk_in_a_new_process(tiny_fold_model, tmp_path):
    protein = Protein("ubq", (UBIQUITIN,))
    first = _studio(tiny_fold_model, tmp_path).fold(protein)
    second_studio = _studio(tiny_fold_model, tmp_path)

    def no_fold(p):
        raise AssertionError("folded again despite a cached result")

    second_studio.folder.fold = no_fold
    second = second_studio.fold(Protein("other-id", (UBIQUITIN,)))
    assert second.id == "other-id"
    assert second.pdb == first.pdb
    np.testing.assert_array_equal(second.pae, first.pae)
    assert second.ptm == first.ptm
    assert (second.iptm, second.chain_ptm) == (first.iptm, first.chain_ptm)
    assert "from the result cache" in second.notes


def test_corrupt_structure_entry_is_refolded(tiny_fold_model, tmp_path):
    protein = Protein("ubq", (UBIQUITIN,))
    first = _studio(tiny_fold_model, tmp_path).fold(protein)
    for entry in tmp_path.glob("??/*.npz"):
        entry.write_bytes(b"\0" * 100)
    again = _studio(tiny_fold_model, tmp_path).fold(protein)
    assert again.pdb == first.pdb
    assert "from the result cache" not in again.notes


@contextmanager
def backbone_runs_recorded(backbone):
    """The `contacts` flag of every backbone pass made inside, in a list (empty: all from disk)."""
    calls = []
    original = backbone.run
    backbone.run = lambda seqs, contacts=True: calls.append(contacts) or original(seqs, contacts)
    try:
        yield calls
    finally:
        backbone.run = original


def test_annotations_come_from_disk_per_task(real_backbone, tmp_path):
    studio = Studio(StudioConfig(result_cache=str(tmp_path)))
    studio.annotator.backbone = real_backbone
    protein = Protein("ubq", (UBIQUITIN,))
    fresh = studio.annotate_many([protein], tasks=("ptm", "localization"))[0]
    assert fresh.contacts is None

    other = Studio(StudioConfig(result_cache=str(tmp_path)))
    other.annotator.backbone = real_backbone
    with backbone_runs_recorded(real_backbone) as calls:
        cached = other.annotate_many([protein], tasks=("ptm", "localization"))[0]
        assert calls == []  # answered from disk
        assert cached.localization == fresh.localization
        assert [(s.position, s.probability) for s in cached.sites] == [
            (s.position, s.probability) for s in fresh.sites
        ]
        full = other.annotate_many([protein])[0]  # contacts were never cached: one pass
        assert calls == [True]
        assert full.contacts.shape == (len(UBIQUITIN), len(UBIQUITIN))


def test_secondary_structure_and_the_map_vector_come_from_disk(real_backbone, tmp_path):
    protein = Protein("ubq", (UBIQUITIN,))
    first = Studio(StudioConfig(result_cache=str(tmp_path)))
    first.annotator.backbone = real_backbone
    fresh = first.annotate_many([protein], tasks=("localization", "secondary", "map"))[0]
    other = Studio(StudioConfig(result_cache=str(tmp_path)))
    other.annotator.backbone = real_backbone
    with backbone_runs_recorded(real_backbone) as calls:
        cached = other.annotate_many([protein], tasks=("localization", "secondary", "map"))[0]
        assert calls == []  # answered from disk
        np.testing.assert_array_equal(cached.map_vector, fresh.map_vector)
        np.testing.assert_array_equal(cached.secondary.probabilities, fresh.secondary.probabilities)
        assert cached.secondary.ss3 == fresh.secondary.ss3


def test_in_memory_memo_drops_the_least_recently_used():
    from models.shared.memo import LockedLRU

    memo = LockedLRU(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # a hit makes "a" the most recent
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("b"), memo.get("c"), len(memo)) == (1, None, 3, 2)
    off = LockedLRU(0)
    off.put("a", 1)
    assert off.get("a") is None and len(off) == 0
