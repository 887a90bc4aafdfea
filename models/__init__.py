"""Everything that computes. Never imports gradio.

Keep this file free of heavy imports: `models.sequences` and `models.pdb` are pure Python and
are used by `components/`, which must not pull in torch.
"""
