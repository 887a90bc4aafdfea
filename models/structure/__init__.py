"""Structures: ESMFold folding, the `Structure` result, structure files in (`reading`) and out
(`writing`), secondary structure and accessibility from coordinates, comparison (TM-align).

May import `models.shared` only; never `analysis`, `variants` or `batch`.
"""
