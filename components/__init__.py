"""Everything the user sees (gradio, plotly, py3Dmol). Never imports torch.

Packages mirror `models/`; imports run one way (the layering test enforces it):

    page, predict_flow  ->  batch, variants  ->  analysis  ->  structure  ->  shared

- `shared/`: the sequence input, share links, the plot-viewer link script.
- `structure/`: the Structure tab, the 3D viewer and 3Dmol.js, confidence plots, the workbench.
- `analysis/`: the PTM, Localization and Contacts tabs, their figures and trust notes.
- `variants/`: the Mutations tab.  `batch/`: the Batch tab.
- `page.py` builds the page; `predict_flow.py` is the Predict button's streamed flow.

components/ may import the pure-Python parts of `models/` (never torch; the layering test checks).
"""
