"""Small task heads over the frozen ESM-2 backbone, saved as safetensors + a JSON model card.

- `SiteHead`: per-residue PTM probability at candidate residues (SUMOylation: every lysine).
  Reads each site's states at every backbone layer, plus the site as seen by a fine-tuned copy
  of the backbone's last layer (queries only at the sites; see `models.top_layer`).
- `LocalizationHead`: per-protein class probabilities (SCL2205's 13 classes) from pooled
  features (`models.features.pooled_features`) and attention pooling over the last layer.

Both normalise their inputs with statistics stored in the head, so raw backbone outputs go in.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from models.top_layer import SiteTopLayer


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
    """Logit per candidate site. Inputs: states of every layer at the sites, and optionally the
    states entering the last layer for the whole sequence (for the fine-tuned top layer)."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = config
        layers, dim = config["layers"], config["dim"]
        self.norm = Standardize(layers * dim)
        extra = 0
        if config.get("top_layer"):
            self.top = SiteTopLayer(dim, config["heads"], config["intermediate"], config["eps"])
            extra = dim
        self.classifier = mlp(layers * dim + extra, config["hidden"], 1, config.get("dropout", 0.3))

    def forward(self, site_states: torch.Tensor, top_input=None) -> torch.Tensor:
        """site_states (N, layers, D); top_input = (states (B, T, D), token_mask (B, T),
        sites (B, S)) with B*S == N, or None. Returns (N,) logits."""
        x = self.norm(site_states.flatten(1))
        if self.config.get("top_layer"):
            states, mask, sites = top_input
            x = torch.cat([x, self.top(states, mask, sites).flatten(0, 1)], dim=-1)
        return self.classifier(x).squeeze(-1)

    def predict(self, hidden: np.ndarray, positions: list[int]) -> np.ndarray:
        """Probabilities at 0-based `positions` from one backbone pass's (layers+1, L, D) states."""
        if not positions:
            return np.zeros(0, dtype=np.float32)
        site_states = torch.from_numpy(np.ascontiguousarray(hidden[:, positions].transpose(1, 0, 2)))
        top_input = None
        if self.config.get("top_layer"):
            states = torch.from_numpy(hidden[-2])[None]
            top_input = (states, torch.ones(1, states.shape[1]), torch.tensor([positions]))
        with torch.inference_mode():
            return torch.sigmoid(self(site_states, top_input)).numpy()


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

    def predict(self, pooled: np.ndarray, last_layer: np.ndarray) -> np.ndarray:
        """Class probabilities for one protein."""
        with torch.inference_mode():
            residues = torch.from_numpy(last_layer)[None]
            logits = self(torch.from_numpy(pooled)[None], residues, torch.ones(residues.shape[:2]))
            return torch.softmax(logits, dim=-1)[0].numpy()


HEAD_TYPES = {"site": SiteHead, "localization": LocalizationHead}


def save_head(head: nn.Module, card: dict, directory: Path, name: str) -> tuple[Path, Path]:
    """Write `<name>.safetensors` and `<name>.json` (the model card, holding the config)."""
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"{name}.safetensors"
    save_file({k: v.detach().contiguous() for k, v in head.state_dict().items()}, str(weights))
    card = {**card, "config": head.config, "weights": weights.name}
    card_path = directory / f"{name}.json"
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return weights, card_path


def load_head(card_path: Path) -> tuple[nn.Module, dict]:
    card = json.loads(Path(card_path).read_text())
    head = HEAD_TYPES[card["kind"]](card["config"])
    head.load_state_dict(load_file(str(Path(card_path).parent / card["weights"])))
    return head.eval(), card
