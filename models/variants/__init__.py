"""Variants: notation (K48R, p.Lys48Arg), what a change does (`effects`), site-saturation scans
and what they read out, and the masked language model's scores.

May import `models.analysis`, `models.structure` and `models.shared`; never `batch`.
"""
