"""ESMFold wrapper on a tiny random model loaded from disk, the way `--fold-model DIR` does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import EsmForProteinFolding
from transformers.models.esm.openfold_utils.loss import compute_tm

import models.structure.folding as folding
from models.shared.errors import FoldingOutOfMemory, FoldingUnavailable, SequenceError
from models.shared.sequences import Protein, parse_one
from models.structure.folding import Folder, choose_chunk_size, predicted_tm, resolve_device
from models.structure.pdb import ca_residues
from models.studio import Studio, StudioConfig
from tests.conftest import INSULIN_A, INSULIN_B, UBIQUITIN


@pytest.fixture(scope="module")
def folder(tiny_fold_model) -> Folder:
    return Folder(str(tiny_fold_model), "cpu")


def test_monomer_structure_has_one_ca_per_residue_and_plddt_in_b_factor(folder):
    structure = folder.fold(Protein("ubq", (UBIQUITIN,)))
    residues = ca_residues(structure.pdb)
    assert len(residues) == len(UBIQUITIN) == structure.plddt.shape[0]
    assert {r.chain for r in residues} == {"A"}
    assert [r.number for r in residues] == list(range(1, len(UBIQUITIN) + 1))
    b = np.array([r.b_factor for r in residues])
    assert b.min() >= 0 and b.max() <= 100
    np.testing.assert_allclose(b, structure.plddt, atol=0.006)  # PDB keeps two decimals
    assert structure.pae.shape == (len(UBIQUITIN), len(UBIQUITIN))
    assert (structure.pae >= 0).all()
    assert 0.0 <= structure.ptm <= 1.0
    assert structure.device == "cpu" and structure.seconds > 0


def test_every_b_factor_in_a_residue_equals_its_ca_plddt(folder):
    structure = folder.fold(Protein("ubq", (UBIQUITIN[:30],)))
    per_residue: dict[int, set[str]] = {}
    for line in structure.pdb.splitlines():
        if line.startswith("ATOM"):
            per_residue.setdefault(int(line[22:26]), set()).add(line[60:66])
    assert all(len(values) == 1 for values in per_residue.values())


def test_complex_is_split_into_named_chains_without_the_linker(folder):
    structure = folder.fold(Protein("insulin", (INSULIN_A, INSULIN_B)))
    residues = ca_residues(structure.pdb)
    assert len(residues) == len(INSULIN_A) + len(INSULIN_B)  # 25-G linker removed
    assert [r.chain for r in residues] == ["A"] * len(INSULIN_A) + ["B"] * len(INSULIN_B)
    assert residues[len(INSULIN_A)].number == 1  # numbering restarts per chain
    assert structure.plddt.shape == (51,) and structure.pae.shape == (51, 51)
    assert structure.chain_ids.count("B") == len(INSULIN_B)
    assert sum(1 for line in structure.pdb.splitlines() if line.startswith("TER")) == 2


def test_complex_uses_linker_and_position_offset(folder, monkeypatch):
    seen = {}
    real_infer = folding._infer

    def spy(model, sequence, position_ids, chunk):
        seen["sequence"], seen["positions"] = sequence, position_ids
        return real_infer(model, sequence, position_ids, chunk)

    monkeypatch.setattr(folding, "_infer", spy)
    folder.fold(Protein("ab", ("MKV", "GSA")))
    assert seen["sequence"] == "MKV" + "G" * 25 + "GSA"
    positions = seen["positions"].tolist()
    assert positions[:3] == [0, 1, 2]
    assert positions[-3] - positions[27] == 1 + 512  # second chain jumps by the offset


def test_ptm_is_over_this_proteins_residues_not_the_linker(folder, tiny_fold_model):
    protein = Protein("ab", (INSULIN_A, INSULIN_B))
    structure = folder.fold(protein)
    model = EsmForProteinFolding.from_pretrained(tiny_fold_model).eval()
    position_ids, keep, _ = folding._complex_layout(protein.chains)
    with torch.inference_mode():
        raw = model.infer(folding.LINKER.join(protein.chains), position_ids=position_ids)
    keep_t = torch.from_numpy(keep)
    expected = float(compute_tm(raw["ptm_logits"][0][keep_t][:, keep_t]))
    assert structure.ptm == pytest.approx(expected, abs=1e-5)
    assert structure.ptm != pytest.approx(float(raw["ptm"]), abs=1e-5)  # the model's own counts the linker


def test_ptm_of_a_monomer_does_not_depend_on_batch_padding(folder, tiny_fold_model):
    structure = folder.fold(Protein("short", (UBIQUITIN[:40],)))
    model = EsmForProteinFolding.from_pretrained(tiny_fold_model).eval()
    with torch.inference_mode():
        alone = float(model.infer(UBIQUITIN[:40])["ptm"])
        padded_batch = float(model.infer([UBIQUITIN[:40], UBIQUITIN])["ptm"])
    assert structure.ptm == pytest.approx(alone, abs=1e-5)
    assert padded_batch != pytest.approx(alone, abs=1e-5)


def _tm_term(error: float, n: int) -> float:
    """TM-score of one pair at `error` Å in a protein of n residues (d0 as in the pTM formula)."""
    d0 = 1.24 * (max(n, 19) - 15) ** (1 / 3) - 1.8
    return 1 / (1 + (error / d0) ** 2)


def test_predicted_tm_over_all_pairs_equals_transformers_compute_tm():
    torch.manual_seed(0)
    for n in (12, 40):
        logits = torch.randn(n, n, 64) * 3
        assert predicted_tm(logits) == pytest.approx(float(compute_tm(logits)), abs=1e-6)


def test_monomer_has_no_iptm_and_its_own_chain_ptm(folder):
    structure = folder.fold(Protein("ubq", (UBIQUITIN[:40],)))
    assert structure.iptm is None and structure.summary()["iptm"] is None
    assert structure.chain_ptm == {"A": pytest.approx(structure.ptm, abs=1e-6)}
    assert structure.scores()["chain_ptm"] == {"A": round(structure.ptm, 4)}


def test_complex_has_iptm_and_a_ptm_per_chain(folder):
    structure = folder.fold(Protein("insulin", (INSULIN_A, INSULIN_B)))
    assert 0.0 <= structure.iptm <= 1.0
    assert set(structure.chain_ptm) == {"A", "B"} and all(0 <= v <= 1 for v in structure.chain_ptm.values())
    summary = structure.summary()
    assert summary["iptm"] == round(structure.iptm, 4) and set(summary["chain_ptm"]) == {"A", "B"}


def test_iptm_and_chain_ptm_follow_the_formula_on_hand_built_logits(folder, monkeypatch):
    """Within a chain every pair is certain (smallest-error bin, 0.25 Å); across chains every pair
    is hopeless (largest bin, 31.75 Å); linker rows claim certainty and must not count."""
    real_infer = folding._infer
    a, b = len(INSULIN_A), len(INSULIN_B)
    chain_of = torch.tensor([0] * a + [-1] * len(folding.LINKER) + [1] * b)

    def confident_chains(model, sequence, position_ids, chunk):
        out = real_infer(model, sequence, position_ids, chunk)
        same = (chain_of[:, None] == chain_of[None, :]) | (chain_of[:, None] < 0) | (chain_of[None, :] < 0)
        logits = torch.zeros(*same.shape, 64)
        logits[..., 0] = same * 100.0
        logits[..., -1] = ~same * 100.0
        out["ptm_logits"] = logits[None]
        return out

    monkeypatch.setattr(folding, "_infer", confident_chains)
    structure = folder.fold(Protein("insulin", (INSULIN_A, INSULIN_B)))
    n = a + b
    assert structure.iptm == pytest.approx(_tm_term(31.75, n), abs=1e-5)
    assert structure.chain_ptm["A"] == pytest.approx(_tm_term(0.25, a), abs=1e-5)
    assert structure.chain_ptm["B"] == pytest.approx(_tm_term(0.25, b), abs=1e-5)
    # pTM over all pairs: the best-aligned row is one of the longer chain B's.
    assert structure.ptm == pytest.approx((b * _tm_term(0.25, n) + a * _tm_term(31.75, n)) / n, abs=1e-5)


def test_missing_weights_explain_how_to_fix(tmp_path):
    broken = Folder(str(tmp_path / "no-such-model"), "cpu")
    with pytest.raises(FoldingUnavailable) as info:
        broken.fold(Protein("x", ("MKV",)))
    message = str(info.value)
    assert "--fold-model" in message and "ESMFOLD_MODEL" in message and "no-such-model" in message
    # A second request does not retry the load at once (no hammering a missing path/Hub).
    calls = []
    broken._load_model = lambda: calls.append(1)
    with pytest.raises(FoldingUnavailable):
        broken.fold(Protein("x", ("MKV",)))
    assert calls == []


def test_out_of_memory_retries_with_smaller_chunks(folder, monkeypatch):
    real_infer = folding._infer
    tried = []

    def fake_gpu(model, sequence, position_ids, chunk):
        tried.append(chunk)
        if chunk is None or chunk > 64:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_infer(model, sequence, position_ids, chunk)

    monkeypatch.setattr(folding, "_infer", fake_gpu)
    structure = folder.fold(Protein("ubq", (UBIQUITIN,)))
    assert tried[-1] == 64 and tried[:-1] == [c for c in folding.CHUNK_SIZES if c is None or c > 64]
    assert structure.chunk_size == 64
    assert len(ca_residues(structure.pdb)) == len(UBIQUITIN)
    assert any("out of memory" in note for note in structure.notes)


def test_out_of_memory_at_every_chunk_size_gives_a_clear_message(folder, monkeypatch):
    def always_oom(*_args):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(folding, "_infer", always_oom)
    with pytest.raises(FoldingOutOfMemory, match="76 residues.*smallest chunk size"):
        folder.fold(Protein("ubq", (UBIQUITIN,)))


def test_other_runtime_errors_are_not_mistaken_for_out_of_memory(folder, monkeypatch):
    def broken(*_args):
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(folding, "_infer", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        folder.fold(Protein("ubq", (UBIQUITIN,)))


def test_chunk_size_shrinks_as_memory_shrinks():
    sizes = [choose_chunk_size(1000, free, 128, 4) for free in (10**12, 40 * 2**30, 14 * 2**30, 10**6)]
    assert sizes[0] is None  # plenty of memory: no chunking
    numeric = [s if s is not None else 10**9 for s in sizes]
    assert numeric == sorted(numeric, reverse=True)
    assert sizes[-1] == folding.CHUNK_SIZES[-1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown when no GPU exists")
def test_asking_for_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the lent GPU machine)")
def test_cuda_runs_the_language_model_in_fp16_and_the_trunk_in_fp32(tiny_fold_model):
    gpu = Folder(str(tiny_fold_model), "cuda")
    structure = gpu.fold(Protein("ubq", (UBIQUITIN,)))
    model = gpu.load()
    assert next(model.esm.parameters()).dtype == torch.float16
    assert next(model.trunk.parameters()).dtype == torch.float32
    assert len(ca_residues(structure.pdb)) == len(UBIQUITIN)


def test_studio_validates_and_caches(tiny_fold_model):
    studio = Studio(StudioConfig(fold_model=str(tiny_fold_model), device="cpu", max_fold_length=100))
    calls = []
    real_fold = studio.folder.fold
    studio.folder.fold = lambda protein: calls.append(protein.id) or real_fold(protein)
    first = studio.fold(parse_one(">first\n" + UBIQUITIN))
    second = studio.fold(parse_one(">second\n" + UBIQUITIN.lower()))
    assert calls == ["first"]  # same sequence: answered from the cache
    assert second.id == "second" and second.pdb == first.pdb
    with pytest.raises(SequenceError, match="'X' at residue 3"):
        studio.fold(parse_one("MKXV"))
    with pytest.raises(SequenceError, match="101 residues; the folding limit is 100"):
        studio.fold(parse_one("A" * 101))
    assert calls == ["first"]
