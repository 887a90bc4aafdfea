"""Sequence analysis from one ESM-2 pass: the backbone and its weights, the task heads and their
model cards, `Annotation` (PTM sites, localization, contacts), contact reading, embeddings.

May import `models.shared` only; never `structure`, `variants` or `batch`.
"""
