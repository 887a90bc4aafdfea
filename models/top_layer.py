"""A trainable copy of ESM-2's last layer that computes only the positions a head asks for.

A per-residue head needs the top layer's output at a few sites (every lysine), not at every
residue: keys and values are computed for the whole sequence, queries and the feed-forward
block only at the sites. That makes fine-tuning the top layer on cached states ~L times cheaper
than re-running it in full. Numerically identical to the layer it was copied from (tested).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class SiteTopLayer(nn.Module):
    """ESM layer N (pre-LayerNorm attention with rotary positions, GELU MLP) + final LayerNorm."""

    def __init__(
        self, hidden_size: int, heads: int, intermediate: int, eps: float, rope_theta: float = 10000.0
    ):
        super().__init__()
        self.heads = heads
        self.head_dim = hidden_size // heads
        self.attn_norm = nn.LayerNorm(hidden_size, eps=eps)
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.attn_out = nn.Linear(hidden_size, hidden_size)
        self.mlp_norm = nn.LayerNorm(hidden_size, eps=eps)
        self.mlp_in = nn.Linear(hidden_size, intermediate)
        self.mlp_out = nn.Linear(intermediate, hidden_size)
        self.final_norm = nn.LayerNorm(hidden_size, eps=eps)
        inv_freq = 1.0 / (
            rope_theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float) / self.head_dim)
        )
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    @classmethod
    def from_esm(cls, esm_model) -> SiteTopLayer:
        """Copy the last encoder layer and the final LayerNorm of a transformers `EsmModel`."""
        cfg = esm_model.config
        layer = esm_model.encoder.layer[-1]
        top = cls(
            cfg.hidden_size,
            cfg.num_attention_heads,
            cfg.intermediate_size,
            cfg.layer_norm_eps,
            getattr(cfg, "rope_theta", 10000.0),
        )
        pairs = {
            top.attn_norm: layer.attention.LayerNorm,
            top.query: layer.attention.self.query,
            top.key: layer.attention.self.key,
            top.value: layer.attention.self.value,
            top.attn_out: layer.attention.output.dense,
            top.mlp_norm: layer.LayerNorm,
            top.mlp_in: layer.intermediate.dense,
            top.mlp_out: layer.output.dense,
            top.final_norm: esm_model.encoder.emb_layer_norm_after,
        }
        for mine, theirs in pairs.items():
            mine.load_state_dict(copy.deepcopy(theirs.state_dict()))
        return top

    def _rope(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        freqs = positions[..., None].float() * self.inv_freq  # (B, T, dh/2)
        emb = torch.cat((freqs, freqs), dim=-1)[:, None]  # (B, 1, T, dh)
        return x * emb.cos() + _rotate_half(x) * emb.sin()

    def forward(self, states: torch.Tensor, token_mask: torch.Tensor, sites: torch.Tensor) -> torch.Tensor:
        """states (B, T, D) entering the layer, token positions as in the backbone (<cls> = 0);
        token_mask (B, T) 1 for real tokens; sites (B, S) token positions -> (B, S, D)."""
        b, t, d = states.shape
        normed = self.attn_norm(states)
        site_states = torch.gather(states, 1, sites[..., None].expand(-1, -1, d))
        site_normed = torch.gather(normed, 1, sites[..., None].expand(-1, -1, d))

        def split(x):  # (B, N, D) -> (B, H, N, dh)
            return x.view(b, x.shape[1], self.heads, self.head_dim).transpose(1, 2)

        q = split(self.query(site_normed)) * self.head_dim**-0.5
        k = split(self.key(normed))
        v = split(self.value(normed))
        q = self._rope(q, sites)
        k = self._rope(k, torch.arange(t, device=states.device).expand(b, t))
        scores = q @ k.transpose(-1, -2)  # (B, H, S, T)
        scores = scores.masked_fill(~token_mask.bool()[:, None, None, :], torch.finfo(scores.dtype).min)
        attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, -1, d)
        x = site_states + self.attn_out(attended)
        x = x + self.mlp_out(nn.functional.gelu(self.mlp_in(self.mlp_norm(x))))
        return self.final_norm(x)
