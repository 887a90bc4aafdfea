"""ESMFold: load once (lazily, thread-safe), fold one protein into a `Structure`.

Precision: on CUDA the ESM-2 language-model stem runs in fp16 and the folding trunk in fp32
with TF32 matmuls (the published ESMFold recipe); on CPU everything is fp32 because fp16
LayerNorm is not implemented there. Memory: the trunk's axial attention is chunked with a size
chosen from the sequence length and the free memory; on out-of-memory the fold is retried with
smaller chunks before giving up with a clear message.
"""

from __future__ import annotations

import logging
import string
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from models.shared.errors import FoldingOutOfMemory, FoldingUnavailable
from models.shared.hub_lookup import is_local_path, loading_options
from models.shared.lazy_load import FailFastLoader, LoadsOnFirstUse
from models.shared.sequences import Protein
from models.shared.settings import DEFAULT_FOLD_MODEL
from models.structure.result import Structure

log = logging.getLogger(__name__)

# Chains of a complex are joined by a flexible poly-G linker and their residue indices are
# offset so the trunk's relative-position features see them as far apart (as in the ESMFold
# multimer recipe); the linker is removed from every output afterwards.
LINKER = "G" * 25
CHAIN_INDEX_OFFSET = 512
# None means no chunking; the rest are tried in order when memory runs out.
CHUNK_SIZES: tuple[int | None, ...] = (None, 512, 256, 128, 64, 32, 16, 8, 4)


def resolve_device(spec: str | None) -> torch.device:
    """'auto' (or empty) picks CUDA when present, else CPU; anything else is passed to torch."""
    if not spec or spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {spec} was requested but no CUDA GPU is visible.")
    return device


def free_memory_bytes(device: torch.device) -> int:
    """Memory the fold may use now: free GPU memory, or available system RAM."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    import psutil

    return int(psutil.virtual_memory().available)


def estimate_fold_bytes(length: int, chunk_size: int | None, pair_dim: int, pair_heads: int) -> int:
    """Rough peak activation memory of one trunk block (fp32) for a sequence of `length`.

    Dominated by the pair representation and its intermediates (~L^2 * c_z, a few dozen
    copies) and by the triangular attention logits (heads * chunk * L^2). A heuristic: the
    out-of-memory retry is the safety net when it is wrong.
    """
    pair = length * length * pair_dim * 4 * 24
    rows = length if chunk_size is None else min(chunk_size, length)
    attention = pair_heads * rows * length * length * 4 * 3
    return pair + attention


def choose_chunk_size(length: int, free_bytes: int, pair_dim: int, pair_heads: int) -> int | None:
    """Largest chunk (None = unchunked) whose estimate fits in 80% of the free memory."""
    budget = 0.8 * free_bytes
    for chunk in CHUNK_SIZES:
        if estimate_fold_bytes(length, chunk, pair_dim, pair_heads) <= budget:
            return chunk
    return CHUNK_SIZES[-1]


def _is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, torch.OutOfMemoryError):
        return True
    # CPU allocation failures surface as a plain RuntimeError.
    return isinstance(error, RuntimeError) and "can't allocate memory" in str(error)


def _smaller_chunks(current: int | None) -> list[int]:
    sizes = [c for c in CHUNK_SIZES if c is not None]
    return sizes if current is None else [c for c in sizes if c < current]


def unavailable_message(model_id: str, error: BaseException) -> str:
    """One message in our own words: what is missing, why, and the fix (no library sentences)."""
    fix = (
        "Fix: download the weights once where there is network, with the command "
        "hf download facebook/esmfold_v1 --local-dir esmfold_v1 (about 8.4 GB), and start the app "
        "with --fold-model esmfold_v1 (or set ESMFOLD_MODEL). The other tabs keep working without it."
    )
    local = is_local_path(model_id)
    if local and not Path(model_id).expanduser().is_dir():
        return f"No ESMFold checkpoint at {model_id}: that folder does not exist. {fix}"
    text = str(error)
    if not local and ("connect" in text or "offline" in text.lower() or isinstance(error, OSError)):
        return (
            f"The ESMFold weights ({model_id}, ~8.4 GB) are not in the local Hugging Face cache "
            f"and the Hub cannot be reached from here. {fix}"
        )
    first_line = (text.strip().splitlines() or [type(error).__name__])[0][:200].rstrip(". ")
    reason = f"{type(error).__name__}: {first_line}"
    return f"The ESMFold checkpoint {model_id} could not be loaded ({reason}). {fix}"


class Folder(LoadsOnFirstUse):
    """Owns one ESMFold model: loads it on first use, serialises folds on it."""

    def __init__(self, model_id: str = DEFAULT_FOLD_MODEL, device: str | None = "auto"):
        self.model_id = model_id
        self.device = resolve_device(device)
        self._run_lock = threading.Lock()
        # A lambda, so the method is looked up at load time (tests replace it on the instance).
        self._loader = FailFastLoader(
            lambda: self._load_model(),
            lambda error: FoldingUnavailable(unavailable_message(self.model_id, error)),
            "Folding model",
        )

    def _load_model(self):
        options = loading_options(self.model_id)  # an unreachable Hub fails here in seconds
        from transformers import EsmForProteinFolding

        started = time.perf_counter()
        model = EsmForProteinFolding.from_pretrained(self.model_id, dtype=torch.float32, **options)
        model = model.float().eval()
        if self.device.type == "cuda":
            model.esm.half()  # the language-model stem is the bulk of the weights; fp16 is safe there
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        model.to(self.device)
        log.info("Loaded %s on %s in %.1f s", self.model_id, self.device, time.perf_counter() - started)
        return model

    def _pair_shape(self, model) -> tuple[int, int]:
        trunk = model.config.esmfold_config.trunk
        return trunk.pairwise_state_dim, trunk.pairwise_state_dim // trunk.pairwise_head_width

    def fold(self, protein: Protein) -> Structure:
        """Fold one protein (one or more chains). Raises FoldingUnavailable / FoldingOutOfMemory."""
        model = self.load()
        joined = LINKER.join(protein.chains)
        position_ids, keep, chain_index = _complex_layout(protein.chains)
        pair_dim, pair_heads = self._pair_shape(model)
        with self._run_lock:
            chunk = choose_chunk_size(len(joined), free_memory_bytes(self.device), pair_dim, pair_heads)
            started = time.perf_counter()
            output, chunk, notes = _run_with_retry(
                lambda c: _infer(model, joined, position_ids, c), chunk, len(joined), self.device
            )
            seconds = time.perf_counter() - started
        structure = _to_structure(output, protein, keep, chain_index)
        structure.model = self.model_id
        structure.device = str(self.device)
        structure.seconds = seconds
        structure.chunk_size = chunk
        structure.notes = notes
        return structure


def _complex_layout(chains: tuple[str, ...]) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Position ids for the linked sequence, which positions are real residues, their chain."""
    positions, keep, chain_of = [], [], []
    offset = 0
    for i, chain in enumerate(chains):
        if i:
            positions.extend(range(offset, offset + len(LINKER)))
            keep.extend([False] * len(LINKER))
            chain_of.extend([-1] * len(LINKER))
            offset += len(LINKER) + CHAIN_INDEX_OFFSET
        positions.extend(range(offset, offset + len(chain)))
        keep.extend([True] * len(chain))
        chain_of.extend([i] * len(chain))
        offset += len(chain)
    keep_mask = np.array(keep, dtype=bool)
    return torch.tensor(positions), keep_mask, np.array(chain_of)[keep_mask]


def _infer(model, sequence: str, position_ids: torch.Tensor, chunk: int | None) -> dict:
    model.trunk.set_chunk_size(chunk)
    with torch.inference_mode():
        output = model.infer(sequence, position_ids=position_ids)
    # bf16/fp16 tensors cannot go to numpy; everything downstream wants float32 on CPU.
    return {
        k: (v.detach().float() if v.is_floating_point() else v.detach()).cpu()
        for k, v in output.items()
        if isinstance(v, torch.Tensor)
    }


def _run_with_retry(
    run: Callable[[int | None], dict], chunk: int | None, length: int, device: torch.device
) -> tuple[dict, int | None, list[str]]:
    notes: list[str] = []
    attempts = [chunk, *_smaller_chunks(chunk)]
    for attempt in attempts:
        try:
            return run(attempt), attempt, notes
        except Exception as error:  # noqa: BLE001 - filtered just below
            if not _is_out_of_memory(error):
                raise
            if device.type == "cuda":
                torch.cuda.empty_cache()
            log.warning("Out of memory folding %d residues with chunk size %s", length, attempt)
            notes.append(f"out of memory with chunk size {attempt or 'none'}; retried smaller")
    raise FoldingOutOfMemory(
        f"Out of memory folding {length:,} residues on {device}, even with the smallest chunk "
        f"size ({attempts[-1]}). Fold a shorter sequence (or fewer chains), or use a device "
        "with more memory."
    )


CA_ATOM, CB_ATOM = 1, 3  # indices in the atom37 layout (N, CA, C, CB, O, ...)
PAE_MAX_BIN = 31  # ESMFold's PAE/pTM bins: 64 over 0-31 Å (the last one open-ended)


def predicted_tm(
    logits: torch.Tensor, chain_index: np.ndarray | None = None, max_bin: int = PAE_MAX_BIN
) -> float:
    """pTM from (L, L, bins) pTM logits; given each residue's chain, the interface pTM (ipTM).

    AlphaFold-Multimer's `predicted_tm_score(logits, breaks, asym_id=..., interface=True)`
    (deepmind/alphafold, alphafold/common/confidence.py; Evans et al. 2021): the pTM formula with
    the pair mask restricted to residues of different chains; d0 stays that of the whole complex.
    transformers' `compute_tm` has no pair mask, so the few lines are here; without `chain_index`
    this equals `compute_tm` (tests/structure/test_folding.py checks it).
    """
    n, _, bins = logits.shape
    breaks = torch.linspace(0, max_bin, bins - 1, dtype=logits.dtype)
    step = breaks[1] - breaks[0]
    centers = torch.cat([breaks + step / 2, (breaks[-1] + 1.5 * step)[None]])
    d0 = 1.24 * (max(n, 19) - 15) ** (1.0 / 3) - 1.8
    expected_tm = (torch.softmax(logits, dim=-1) / (1 + (centers / d0) ** 2)).sum(-1)  # (L, L)
    if chain_index is None:
        pairs = torch.ones(n, n, dtype=logits.dtype)
    else:
        chains = torch.as_tensor(np.asarray(chain_index))
        pairs = (chains[:, None] != chains[None, :]).to(logits.dtype)
    per_aligned_residue = (expected_tm * pairs).sum(-1) / (pairs.sum(-1) + 1e-8)
    return float(per_aligned_residue.max())


def _to_structure(out: dict, protein: Protein, keep: np.ndarray, chain_index: np.ndarray) -> Structure:
    from transformers.models.esm.openfold_utils.feats import atom14_to_atom37
    from transformers.models.esm.openfold_utils.loss import compute_tm
    from transformers.models.esm.openfold_utils.protein import Protein as OFProtein
    from transformers.models.esm.openfold_utils.protein import to_pdb

    keep_t = torch.from_numpy(keep)
    plddt = out["plddt"][0, :, CA_ATOM][keep_t].numpy() * 100.0
    pae = out["predicted_aligned_error"][0][keep_t][:, keep_t].numpy()
    # The model's own `ptm` is over every position it saw (linker, batch padding); recompute it
    # over this protein's residues only.
    ptm_logits = out["ptm_logits"][0][keep_t][:, keep_t]
    ptm = float(compute_tm(ptm_logits, max_bin=PAE_MAX_BIN, no_bins=ptm_logits.shape[-1]))
    chain_ptm = {}
    for i, letter in enumerate(string.ascii_uppercase[: len(protein.chains)]):
        own = torch.from_numpy(chain_index == i)
        own_logits = ptm_logits[own][:, own]
        chain_ptm[letter] = float(compute_tm(own_logits, max_bin=PAE_MAX_BIN, no_bins=own_logits.shape[-1]))
    iptm = predicted_tm(ptm_logits, chain_index) if len(protein.chains) > 1 else None

    arrays = {k: v.numpy() for k, v in out.items()}
    atom37 = atom14_to_atom37(arrays["positions"][-1], arrays)[0]
    residue_numbers = np.array([n for c in protein.chains for n in range(1, len(c) + 1)])
    pdb = to_pdb(
        OFProtein(
            aatype=arrays["aatype"][0][keep],
            atom_positions=atom37[keep],
            atom_mask=arrays["atom37_atom_exists"][0][keep],
            residue_index=residue_numbers,
            # One value per residue on every atom (as AlphaFold DB files do), so the B-factor
            # column reads exactly as the per-residue pLDDT reported everywhere else.
            b_factors=np.repeat(plddt[:, None], atom37.shape[1], axis=1),
            chain_index=chain_index,
        )
    )
    ca = atom37[keep][:, CA_ATOM]
    # Glycine has no Cβ (its atom37 slot is empty): its Cα stands in, the usual convention.
    has_cb = arrays["atom37_atom_exists"][0][keep][:, CB_ATOM].astype(bool)
    cb = np.where(has_cb[:, None], atom37[keep][:, CB_ATOM], ca)
    return Structure(
        id=protein.id,
        chains=protein.chains,
        pdb=pdb,
        plddt=plddt,
        pae=pae,
        ptm=ptm,
        iptm=iptm,
        chain_ptm=chain_ptm,
        ca=ca.astype(np.float32),
        cb=cb.astype(np.float32),
        atom37=atom37[keep].astype(np.float32),
        atom37_mask=arrays["atom37_atom_exists"][0][keep].astype(bool),
    )
