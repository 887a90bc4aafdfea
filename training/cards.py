"""Model-card fields every trained head carries, and writing head + card together."""

from __future__ import annotations

import platform
import shlex
import time
from pathlib import Path

import torch
from torch import nn

from models.analysis.backbone import Backbone
from models.analysis.heads import save_head


def rounded(x: float) -> float:
    return round(float(x), 4)


def backbone_fields(backbone: Backbone, spec: str) -> dict:
    """Which backbone the head reads (the app refuses a head whose backbone width differs)."""
    model = backbone.load()
    return {
        "id": spec,
        "resolved": backbone.path,
        "weights_sha256": backbone.weights_sha256,
        "base_model": model.config._name_or_path or spec,
    }


def common_fields(backbone: Backbone, spec: str, argv: list[str], seed: int) -> dict:
    """Backbone, the command that trained the head, seed and versions."""
    return {
        "backbone": backbone_fields(backbone, spec),
        "training_command": shlex.join(["python", "-m", "training", *argv]),
        "seed": seed,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def write_card(
    head: nn.Module, card: dict, out: Path, started: float, stages: dict[str, float] | None = None
) -> Path:
    """Save `<card name>.safetensors` + `.json`, with the seconds spent so far (`stages`: named
    parts of them, e.g. embedding). Returns the card's path."""
    seconds = {name: round(s) for name, s in (stages or {}).items()}
    card["pipeline_seconds"] = {**seconds, "total": round(time.perf_counter() - started)}
    return save_head(head, card, out, card["name"])[1]
