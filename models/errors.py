"""Errors with user-facing messages, importable without torch (components/ catches them)."""

from models.sequences import SequenceError


class FoldingUnavailable(RuntimeError):
    """The folding model cannot be loaded; the message says why and how to fix it."""


class FoldingOutOfMemory(RuntimeError):
    """Even the smallest chunk size did not fit in memory."""


__all__ = ["FoldingOutOfMemory", "FoldingUnavailable", "SequenceError"]
