"""Everything that computes. Never imports gradio.

Packages by capability; imports run one way (the layering test enforces it):

    studio  ->  batch  ->  variants  ->  analysis, structure  ->  shared

- `shared/`: sequences, settings, errors, files and caches, lazy loading (imports no other package).
- `structure/`: folding, the `Structure` result, structure files in and out, DSSP/RSA, comparison.
- `analysis/`: the ESM-2 backbone and its weights, task heads and their cards, annotation, contacts,
  embeddings.
- `variants/`: variant notation, their effects, scans and their readouts, the masked language model.
- `batch/`: batch input, planning and running, outputs, variant batches (`predict.py`).
- `studio.py`: the `Studio` facade the app and `predict.py` call.

Keep package `__init__` files free of imports: components/ imports the pure-Python modules
(`shared.sequences`, `structure.pdb`, `analysis.head_cards`, ...) and must not pull in torch.
"""
