"""A small, deterministic training loop with early stopping on a validation metric."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable

import numpy as np
import torch

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


def fit(
    model: torch.nn.Module,
    n_train: int,
    batch_loss: Callable[[np.ndarray], torch.Tensor],
    validate: Callable[[], float],
    *,
    epochs: int,
    param_groups: list[dict] | None = None,
    lr: float = 1e-3,
    weight_decay: float = 1e-2,
    batch_size: int = 128,
    patience: int = 4,
    seed: int = 0,
    name: str = "model",
) -> tuple[float, int]:
    """Minimise `batch_loss(indices)` over shuffled mini-batches; keep the weights of the epoch
    with the best `validate()` score (higher is better). Returns (best score, best epoch)."""
    generator = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(param_groups or model.parameters(), lr=lr, weight_decay=weight_decay)
    best_score, best_epoch, best_state = -np.inf, -1, None
    for epoch in range(epochs):
        model.train()
        order = generator.permutation(n_train)
        for start in range(0, n_train, batch_size):
            optimizer.zero_grad()
            batch_loss(order[start : start + batch_size]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            score = validate()
        log.info("%s epoch %d: validation %.4f", name, epoch, score)
        if score > best_score:
            best_score, best_epoch, best_state = score, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    return float(best_score), best_epoch
