"""The Batch tab: a multi-FASTA in, the same CSVs and files as `predict.py` out.

May import `components.analysis`, `components.structure` and `components.shared`.
"""
