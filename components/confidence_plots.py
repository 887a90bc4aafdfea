"""Plotly figures for prediction confidence: pLDDT per residue and the PAE matrix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from models.structure import PLDDT_BANDS

_BAND_RANGES = ((90, 100), (70, 90), (50, 70), (0, 50))


def _chain_starts(chain_ids: Sequence[str]) -> list[tuple[int, str]]:
    """(1-based x position, chain id) where each chain begins."""
    return [(i + 1, c) for i, c in enumerate(chain_ids) if i == 0 or chain_ids[i - 1] != c]


def plddt_figure(
    plddt: Sequence[float], residues: str, chain_ids: Sequence[str], residue_numbers: Sequence[int]
) -> go.Figure:
    """pLDDT per residue over shaded AlphaFold confidence bands, chain boundaries marked."""
    x = np.arange(1, len(plddt) + 1)
    hover = [f"{c}{n} {aa}" for c, n, aa in zip(chain_ids, residue_numbers, residues)]
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=np.asarray(plddt, dtype=float),
            mode="lines",
            line={"color": "#1d3557", "width": 1.6},
            customdata=hover,
            hovertemplate="%{customdata}<br>pLDDT %{y:.1f}<extra></extra>",
            name="pLDDT",
        )
    )
    for (low, high), (_, label, colour) in zip(_BAND_RANGES, PLDDT_BANDS):
        fig.add_hrect(y0=low, y1=high, fillcolor=colour, opacity=0.18, line_width=0, layer="below")
        fig.add_annotation(
            x=1.01,
            xref="paper",
            xanchor="left",
            y=(low + high) / 2,
            text=label.split(" (")[0],
            showarrow=False,
            font={"size": 10, "color": "#555"},
        )
    starts = _chain_starts(chain_ids)
    if len(starts) > 1:
        for position, chain in starts:
            fig.add_vline(x=position - 0.5, line={"color": "#888", "dash": "dot", "width": 1})
            fig.add_annotation(
                x=position, y=100, yanchor="bottom", text=f"chain {chain}", showarrow=False, font={"size": 10}
            )
    fig.update_layout(
        title="Predicted confidence per residue (pLDDT)",
        xaxis_title="Residue",
        yaxis_title="pLDDT",
        yaxis_range=[0, 100],
        height=320,
        margin={"l": 50, "r": 70, "t": 50, "b": 40},
        showlegend=False,
        template="plotly_white",
    )
    return fig


def pae_figure(pae: np.ndarray, chain_ids: Sequence[str]) -> go.Figure:
    """Predicted aligned error heatmap (AlphaFold DB colours: dark green = low error)."""
    pae = np.asarray(pae, dtype=float)
    x = np.arange(1, pae.shape[0] + 1)
    fig = go.Figure(
        go.Heatmap(
            z=pae,
            x=x,
            y=x,
            colorscale="Greens_r",
            zmin=0,
            zmax=max(30.0, float(pae.max(initial=0))),
            colorbar={"title": {"text": "Å"}},
            hovertemplate="scored %{x}, aligned on %{y}<br>PAE %{z:.1f} Å<extra></extra>",
        )
    )
    for position, _ in _chain_starts(chain_ids)[1:]:
        for add in (fig.add_vline, fig.add_hline):
            add(position - 0.5, line={"color": "#333", "width": 1})
    fig.update_layout(
        title="Predicted aligned error (PAE)",
        xaxis_title="Scored residue",
        yaxis_title="Aligned residue",
        yaxis_autorange="reversed",
        height=380,
        width=None,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
    )
    fig.update_xaxes(constrain="domain")
    fig.update_yaxes(scaleanchor="x", scaleratio=1, constrain="domain")
    return fig
