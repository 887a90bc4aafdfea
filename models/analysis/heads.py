"""Small task heads over the frozen ESM-2 backbone, saved as safetensors + a JSON model card.

- `SiteHead`: per-residue PTM probability at candidate residues (SUMOylation: every lysine).
  Reads each site's states at every backbone layer, plus the mean of the states entering the
  last layer over the site's neighbourhood (±`neighbourhood` residues). `SiteEnsemble` averages
  several of them (the shipped SUMO head).
- `LocalizationHead`: per-protein class probabilities (SCL2205's 13 classes) from pooled
  features (`models.analysis.features.pooled_features`) and attention pooling over the last layer,
  optionally blended with a vote of the most similar training proteins (`reference` config).
- `SecondaryHead`: per-residue 8-state DSSP class probabilities and relative solvent
  accessibility, from every layer's states through a short convolution along the sequence.

Both normalise their inputs with statistics stored in the head, so raw backbone outputs go in.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn


class Standardize(nn.Module):
    def __init__(self, size: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(size))
        self.register_buffer("std", torch.ones(size))

    def fit(self, x: np.ndarray) -> Standardize:
        self.mean.copy_(torch.as_tensor(x.mean(0)))
        self.std.copy_(torch.as_tensor(x.std(0) + 1e-6))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def mlp(size_in: int, hidden: int, size_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Dropout(dropout / 2),
        nn.Linear(size_in, hidden),
        nn.GELU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, size_out),
    )


class SiteHead(nn.Module):
    """Logit per candidate site. Inputs: states of every layer at the sites, and (when
    `needs_states`) the states entering the last layer for the whole sequence."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = config
        layers, dim = config["layers"], config["dim"]
        if config.get("top_layer"):
            raise ValueError(
                "This site head was trained with a tuned copy of the top backbone layer, an option "
                "that is gone; re-train it with `python -m training`."
            )
        self.norm = Standardize(layers * dim)
        extra = 0
        if config.get("neighbourhood"):
            self.neighbourhood_norm = nn.LayerNorm(dim)
            extra += dim
        self.classifier = mlp(layers * dim + extra, config["hidden"], 1, config.get("dropout", 0.3))

    @property
    def needs_states(self) -> bool:
        """Whether forward() needs the whole sequence's states entering the last layer."""
        return bool(self.config.get("neighbourhood"))

    def forward(self, site_states: torch.Tensor, top_input=None, around=None) -> torch.Tensor:
        """site_states (N, layers, D); top_input = (states entering the last layer (B, T, D),
        token_mask (B, T), sites (B, S)) with B*S == N, or None when not `needs_states`;
        `around`: the neighbourhood mean of those states, when the caller already has it.
        Returns (N,) logits."""
        parts = [self.norm(site_states.flatten(1))]
        if self.config.get("neighbourhood"):
            if around is None:
                around = neighbourhood_mean(*top_input, self.config["neighbourhood"])
            parts.append(self.neighbourhood_norm(around))
        return self.classifier(torch.cat(parts, dim=-1)).squeeze(-1)

    def probabilities(self, site_states: torch.Tensor, top_input=None, around=None) -> torch.Tensor:
        return torch.sigmoid(self(site_states, top_input, around))

    def predict(self, hidden: np.ndarray, positions: list[int]) -> np.ndarray:
        """Probabilities at 0-based `positions` from one backbone pass's (layers+1, L, D) states."""
        return _predict_sites(self, hidden, positions)


def _predict_sites(head, hidden: np.ndarray, positions: list[int]) -> np.ndarray:
    if not positions:
        return np.zeros(0, dtype=np.float32)
    site_states = torch.from_numpy(np.ascontiguousarray(hidden[:, positions].transpose(1, 0, 2)))
    top_input = None
    if head.needs_states:
        states = torch.from_numpy(hidden[-2])[None]
        top_input = (states, torch.ones(1, states.shape[1]), torch.tensor([positions]))
    with torch.inference_mode():
        return head.probabilities(site_states, top_input).numpy()


class SiteEnsemble(nn.Module):
    """The mean probability of `members` SiteHeads trained alike from different seeds: one head's
    validation score moves with its seed (early stopping on a noisy curve), their mean less so
    (the card lists each member's validation ROC-AUC next to the ensemble's)."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = config
        member = {k: v for k, v in config.items() if k != "members"}
        self.members = nn.ModuleList(SiteHead(member) for _ in range(config["members"]))

    @property
    def needs_states(self) -> bool:
        return self.members[0].needs_states

    def probabilities(self, site_states: torch.Tensor, top_input=None) -> torch.Tensor:
        # The members share their inputs: the neighbourhood mean is computed once, not per member
        # (with nine PTM types it was most of the heads' time).
        around = None
        radius = self.config.get("neighbourhood")
        if radius and top_input is not None:
            around = neighbourhood_mean(*top_input, radius)
        return torch.stack([m.probabilities(site_states, top_input, around) for m in self.members]).mean(0)

    def predict(self, hidden: np.ndarray, positions: list[int]) -> np.ndarray:
        return _predict_sites(self, hidden, positions)


def neighbourhood_mean(states: torch.Tensor, mask: torch.Tensor, sites: torch.Tensor, radius: int):
    """Mean of states (B, T, D) over positions site-radius..site+radius that exist (inside the
    sequence and the token mask) -> (B*S, D). Motifs around a site (e.g. ψKxE) sit within a few
    residues; a site's own state dilutes them among everything it attends to."""
    offsets = torch.arange(-radius, radius + 1)
    positions = sites[..., None] + offsets  # (B, S, W)
    inside = (positions >= 0) & (positions < states.shape[1])
    clamped = positions.clamp(0, states.shape[1] - 1)
    batch = torch.arange(states.shape[0])[:, None, None]
    weight = (inside & mask[batch, clamped].bool()).to(states.dtype)  # (B, S, W)
    gathered = states[batch, clamped]  # (B, S, W, D)
    total = (gathered * weight[..., None]).sum(2)
    return (total / weight.sum(2, keepdim=True).clamp(min=1)).flatten(0, 1)


class LocalizationHead(nn.Module):
    """Class logits from pooled features + attention pooling over last-layer residue states."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = config
        dim, pooled = config["dim"], config["pooled_size"]
        self.norm = Standardize(pooled)
        self.residue_norm = nn.LayerNorm(dim)
        attention = config.get("attention_heads", 0)
        if attention:
            self.attention = nn.Linear(dim, attention)
            self.values = nn.Linear(dim, config["attention_dim"])
        size_in = pooled + (attention * config["attention_dim"] if attention else 0)
        self.classifier = mlp(size_in, config["hidden"], len(config["classes"]), config.get("dropout", 0.3))
        reference = config.get("reference")
        if reference:
            # Training proteins as unit vectors in a PCA projection of the standardised pooled
            # features (float16 keeps the file small; cosine similarities move by < 1e-3).
            self.register_buffer("projection", torch.zeros(pooled, reference["dims"], dtype=torch.float16))
            self.register_buffer(
                "reference", torch.zeros(reference["size"], reference["dims"], dtype=torch.float16)
            )
            self.register_buffer("reference_labels", torch.zeros(reference["size"], dtype=torch.long))

    def set_reference(self, pooled: np.ndarray, labels: np.ndarray, dims: int) -> np.ndarray:
        """Fill the reference buffers from training proteins (call after `norm.fit`); returns the
        projection (pooled_size, dims) of the standardised features onto their top components."""
        x = self.norm(torch.from_numpy(pooled)).double()
        covariance = x.T @ x / len(x)
        _, vectors = torch.linalg.eigh(covariance)  # ascending eigenvalues
        projection = vectors[:, -dims:].flip(1).float()
        self.register_buffer("projection", projection.half())
        self.register_buffer("reference", self.embed(torch.from_numpy(pooled)).half())
        self.register_buffer("reference_labels", torch.from_numpy(labels).long())
        return projection.numpy()

    def truncate_reference(self, dims: int) -> None:
        """Keep the reference set's first `dims` principal components. The projection's columns
        are in descending eigenvalue order, so this is the PCA at `dims`; re-normalising the
        truncated unit vectors gives exactly the unit vectors of the truncated projection."""
        reference = self.config["reference"]
        if not 0 < dims <= reference["dims"]:
            raise ValueError(f"reference dims must be in 1..{reference['dims']}, not {dims}")
        z = self.reference[:, :dims].float()
        z = z / z.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        self.register_buffer("projection", self.projection[:, :dims].clone())
        self.register_buffer("reference", z.to(self.reference.dtype))
        self.config["reference"] = {**reference, "dims": dims}

    def embed(self, pooled: torch.Tensor) -> torch.Tensor:
        """Unit vectors in the reference projection, (B, dims)."""
        z = self.norm(pooled) @ self.projection.float()
        return z / z.norm(dim=-1, keepdim=True).clamp(min=1e-12)

    def neighbours(self, pooled: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Cosine similarities and indices of the k most similar training proteins, (B, k) each."""
        return (self.embed(pooled) @ self.reference.float().T).topk(k, dim=-1)

    def reference_vote(self, pooled: torch.Tensor, k: int, temperature: float) -> torch.Tensor:
        """(B, classes) distribution: the k nearest training proteins' labels, each weighted by
        exp(temperature * (similarity - best similarity))."""
        return self._vote(*self.neighbours(pooled, k), temperature)

    def _vote(self, similarity: torch.Tensor, index: torch.Tensor, temperature: float) -> torch.Tensor:
        weights = torch.exp(temperature * (similarity - similarity[:, :1]))
        votes = torch.zeros(len(similarity), len(self.config["classes"]))
        votes.scatter_add_(1, self.reference_labels[index], weights)
        return votes / votes.sum(-1, keepdim=True)

    def probabilities(self, pooled: torch.Tensor, residues=None, mask=None, neighbours=None) -> torch.Tensor:
        """Class probabilities: the classifier's, blended with the reference vote if configured.
        `neighbours`: (similarities, indices) from `neighbours()` with at least k columns, if
        the caller already searched (so one search serves the vote and the similar list)."""
        p = torch.softmax(self(pooled, residues, mask), dim=-1)
        reference = self.config.get("reference")
        if reference:
            k = reference["k"]
            similarity, index = neighbours if neighbours is not None else self.neighbours(pooled, k)
            vote = self._vote(similarity[:, :k], index[:, :k], reference["temperature"])
            p = (1 - reference["weight"]) * p + reference["weight"] * vote
        return p

    def attention_pool(self, residues: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """residues (B, L, D), mask (B, L) -> (B, heads * attention_dim)."""
        x = self.residue_norm(residues)
        scores = self.attention(x).masked_fill(~mask.bool()[..., None], float("-inf"))  # (B, L, H)
        weights = scores.softmax(dim=1)
        values = self.values(x)  # (B, L, A)
        return torch.einsum("blh,bla->bha", weights, values).flatten(1)

    def forward(self, pooled: torch.Tensor, residues=None, mask=None) -> torch.Tensor:
        x = self.norm(pooled)
        if self.config.get("attention_heads"):
            x = torch.cat([x, self.attention_pool(residues, mask)], dim=-1)
        return self.classifier(x)

    def map_vector(self, pooled: np.ndarray) -> np.ndarray | None:
        """One protein's unit vector in the reference projection (what the protein map places);
        None without a reference set."""
        if not self.config.get("reference"):
            return None
        with torch.inference_mode():
            return self.embed(torch.from_numpy(pooled)[None])[0].numpy()

    def predict(self, pooled: np.ndarray, last_layer: np.ndarray) -> np.ndarray:
        """Class probabilities for one protein."""
        return self.predict_with_similar(pooled, last_layer, 0)[0]

    def predict_with_similar(
        self, pooled: np.ndarray, last_layer: np.ndarray, n: int
    ) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
        """Class probabilities for one protein, and its n most similar training proteins as
        (reference index, class index, cosine similarity); none without a reference set. One
        neighbour search serves both the vote and the list."""
        reference = self.config.get("reference")
        with torch.inference_mode():
            x = torch.from_numpy(pooled)[None]
            residues = torch.from_numpy(last_layer)[None]
            neighbours = self.neighbours(x, max(reference["k"], n)) if reference else None
            probs = self.probabilities(x, residues, torch.ones(residues.shape[:2]), neighbours)[0].numpy()
        if neighbours is None or n == 0:
            return probs, []
        scores, index = neighbours[0][0, :n].tolist(), neighbours[1][0, :n]
        return probs, list(zip(index.tolist(), self.reference_labels[index].tolist(), scores))


class SecondaryHead(nn.Module):
    """Per residue: logits of the 8 DSSP classes and one RSA logit (sigmoid -> 0..1).

    Every layer's states (standardised) are projected per residue, then one convolution along
    the sequence mixes ±kernel//2 neighbours: a helix or strand is a stretch, and a residue's own
    states say less about its neighbours' hydrogen bonds than the stretch does."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = config
        layers, dim, hidden = config["layers"], config["dim"], config["hidden"]
        self.norm = Standardize(layers * dim)
        self.project = nn.Linear(layers * dim, hidden)
        self.conv = nn.Conv1d(hidden, hidden, config["kernel"], padding=config["kernel"] // 2)
        self.out = nn.Linear(hidden, len(config["classes"]) + 1)
        self.dropout = nn.Dropout(config.get("dropout", 0.25))

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """states (B, L, layers*D), mask (B, L) -> (B, L, classes + 1) logits. Padded positions
        are zeroed before the convolution, so a padded batch computes what one chain alone does
        (the convolution's own zero padding beyond the ends)."""
        x = self.dropout(nn.functional.gelu(self.project(self.norm(states))))
        x = x * mask[..., None]
        x = self.dropout(nn.functional.gelu(self.conv(x.transpose(1, 2)).transpose(1, 2)))
        return self.out(x)

    def predict(self, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(L, classes) class probabilities and (L,) RSA from one pass's (layers+1, L, D) states."""
        states = torch.from_numpy(np.ascontiguousarray(hidden.transpose(1, 0, 2))).flatten(1)[None]
        with torch.inference_mode():
            logits = self(states, torch.ones(states.shape[:2]))[0]
        classes = len(self.config["classes"])
        return torch.softmax(logits[:, :classes], -1).numpy(), torch.sigmoid(logits[:, classes]).numpy()


HEAD_TYPES = {
    "site": SiteHead,
    "site_ensemble": SiteEnsemble,
    "localization": LocalizationHead,
    "secondary": SecondaryHead,
}


# Storage on disk. A Hugging Face Space refuses files over 10 MB pushed without Git LFS, and the
# float32 heads are well over that: every float matrix (or convolution kernel) of at least
# INT8_MIN_ELEMENTS is stored
# as int8 with one float16 scale per row (symmetric), labels as int16. Everything else (biases,
# LayerNorm, standardisation statistics) stays as trained: it is small, and a standardisation mean
# in float16 would move near-constant features (the lysine's own embedding) by many stds.
# Loading dequantises to float32, so the modules compute in float32 as with the trained weights.
INT8_MIN_ELEMENTS = 1 << 16
SCALE_SUFFIX = ".int8_row_scale"
STORAGE = {"large_matrices": "int8, one float16 scale per row", "integers": "int16", "other": "as trained"}


def encode_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state dict as stored: large matrices int8 + per-row float16 scales, int64 -> int16."""
    out = {}
    for name, tensor in state.items():
        tensor = tensor.detach().contiguous()
        if tensor.is_floating_point() and tensor.dim() >= 2 and tensor.numel() >= INT8_MIN_ELEMENTS:
            x = tensor.float().flatten(1)  # a convolution's (out, in, k) as (out, in*k) rows
            # Quantise with the scale as stored (float16, kept in its normal range) so that
            # decoding reproduces the rounding grid exactly.
            scale = (x.abs().amax(1) / 127).clamp(min=2**-14).half()
            quantised = torch.round(x / scale.float()[:, None]).clamp(-127, 127).to(torch.int8)
            out[name] = quantised.reshape(tensor.shape)
            out[name + SCALE_SUFFIX] = scale
        elif tensor.dtype == torch.int64 and _fits_int16(tensor):
            out[name] = tensor.to(torch.int16)
        else:
            out[name] = tensor
    return out


def _fits_int16(tensor: torch.Tensor) -> bool:
    return tensor.numel() > 0 and -(2**15) <= int(tensor.min()) and int(tensor.max()) < 2**15


def decode_state(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of `encode_state`: int8 matrices back to float32, integers back to int64."""
    out = {}
    for name, tensor in stored.items():
        if name.endswith(SCALE_SUFFIX):
            continue
        scale = stored.get(name + SCALE_SUFFIX)
        if scale is not None:
            out[name] = tensor.float() * scale.float().reshape(-1, *[1] * (tensor.dim() - 1))
        elif tensor.dtype in (torch.int8, torch.int16, torch.int32):
            out[name] = tensor.long()
        else:
            out[name] = tensor
    return out


def save_head(head: nn.Module, card: dict, directory: Path, name: str) -> tuple[Path, Path]:
    """Write `<name>.safetensors` (compact storage, see `encode_state`) and `<name>.json` (the
    model card, holding the config and the storage)."""
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"{name}.safetensors"
    save_file(encode_state(head.state_dict()), str(weights))
    storage = {**(card.get("storage") or {}), **STORAGE}  # keeps notes such as the trained dims
    card = {**card, "config": head.config, "weights": weights.name, "storage": storage}
    card_path = directory / f"{name}.json"
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return weights, card_path


def load_head(card_path: Path) -> tuple[nn.Module, dict]:
    """The head a card describes, in float32 for computing. Cards without `storage` hold plain
    safetensors (heads saved before compact storage); they load as they are."""
    card = json.loads(Path(card_path).read_text())
    head = HEAD_TYPES[card["kind"]](card["config"])
    state = load_file(str(Path(card_path).parent / card["weights"]))
    head.load_state_dict(decode_state(state) if card.get("storage") else state)
    return head.eval(), card


def compact_heads(directory: Path, reference_dims: int | None = None) -> list[Path]:
    """Re-save every head in `directory` in compact storage (in place), the localization
    reference set cut to its first `reference_dims` principal components if given."""
    written = []
    for card_path in sorted(Path(directory).glob("*.json")):
        if "kind" not in json.loads(card_path.read_text()):
            continue  # not a head's card (the protein map's lies beside the localization head)
        head, card = load_head(card_path)
        storage = dict(card.get("storage") or {"converted_from": "float32 safetensors"})
        if reference_dims and isinstance(head, LocalizationHead) and head.config.get("reference"):
            storage.setdefault("reference_dims_trained", head.config["reference"]["dims"])
            head.truncate_reference(reference_dims)
        card = {k: v for k, v in card.items() if k not in ("config", "weights")}
        written.extend(save_head(head, {**card, "storage": storage}, Path(directory), card_path.stem))
    return written


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Re-save trained heads in compact storage (in place).")
    parser.add_argument("--compact", type=Path, required=True, metavar="DIR", help="folder of heads + cards")
    parser.add_argument("--reference-dims", type=int, default=None, help="keep this many reference PCs")
    args = parser.parse_args()
    for path in compact_heads(args.compact, args.reference_dims):
        print(f"{path}  {path.stat().st_size:,} bytes")
