"""Hugging Face ZeroGPU support: run GPU work inside `spaces.GPU` when that package exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

try:  # Present only on Spaces; elsewhere the decorator is the identity.
    import spaces

    def gpu_task(duration: int = 120) -> Callable[[F], F]:
        return spaces.GPU(duration=duration)

    ZERO_GPU = True
except ImportError:

    def gpu_task(duration: int = 120) -> Callable[[F], F]:
        return lambda fn: fn

    ZERO_GPU = False
