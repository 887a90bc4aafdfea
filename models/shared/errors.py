"""Errors with user-facing messages, importable without torch (components/ catches them)."""

from models.shared.sequences import SequenceError


class FoldingUnavailable(RuntimeError):
    """The folding model cannot be loaded; the message says why and how to fix it."""


class FoldingOutOfMemory(RuntimeError):
    """Even the smallest chunk size did not fit in memory."""


class BackboneUnavailable(RuntimeError):
    """The ESM-2 backbone cannot be fetched or loaded; the message says what to do."""


class LanguageModelUnavailable(RuntimeError):
    """The masked language model cannot be loaded; the message says why and how to fix it."""


__all__ = [
    "BackboneUnavailable",
    "FoldingOutOfMemory",
    "FoldingUnavailable",
    "LanguageModelUnavailable",
    "SequenceError",
]
