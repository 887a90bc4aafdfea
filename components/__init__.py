"""Everything the user sees (gradio, plotly, py3Dmol). Never imports torch."""
