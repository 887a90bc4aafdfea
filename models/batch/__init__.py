"""Batches for `predict.py` and the Batch tab: input records, planning and running across
processes (accelerate), per-record files and merged CSVs, variant batches.

May import `models.variants`, `models.analysis`, `models.structure` and `models.shared`.
"""
