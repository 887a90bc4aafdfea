"""Plotly figures for prediction confidence: pLDDT per residue and the PAE matrix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from models.structure.result import PLDDT_BANDS

_BAND_RANGES = ((90, 100), (70, 90), (50, 70), (0, 50))


def _chain_starts(chain_ids: Sequence[str]) -> list[tuple[int, str]]:
    """(1-based x position, chain id) where each chain begins."""
    return [(i + 1, c) for i, c in enumerate(chain_ids) if i == 0 or chain_ids[i - 1] != c]


SS_COLOURS = {"H": "#d62728", "E": "#f2b705", "C": "#d9d9d9"}  # helix, strand, coil
SS_NAMES = {"H": "helix", "E": "strand", "C": "coil"}


def plddt_figure(
    plddt: Sequence[float],
    residues: str,
    chain_ids: Sequence[str],
    residue_numbers: Sequence[int],
    ss: str | None = None,
    rsa: Sequence[float] | None = None,
    confidence: str = "pLDDT",
) -> go.Figure:
    """pLDDT per residue over shaded AlphaFold confidence bands, chain boundaries marked; with
    `ss`/`rsa`, DSSP secondary structure and relative accessibility as tracks on the same
    residue axis. `confidence="B-factor"` (an experimental file): no bands, honest labels."""
    x = np.arange(1, len(plddt) + 1)
    hover = [f"{c}{n} {aa}" for c, n, aa in zip(chain_ids, residue_numbers, residues)]
    tracks = [t for t in ("ss", "rsa") if {"ss": ss, "rsa": rsa}[t] is not None]
    fig = make_subplots(
        rows=1 + len(tracks),
        cols=1,
        shared_xaxes=True,
        row_heights=[0.7, *([0.3 / len(tracks)] * len(tracks))] if tracks else [1.0],
        vertical_spacing=0.04,
    )
    values = np.asarray(plddt, dtype=float)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=values,
            mode="lines",
            line={"color": "#1d3557", "width": 1.6},
            customdata=hover,
            hovertemplate=f"%{{customdata}}<br>{confidence} %{{y:.1f}}<extra></extra>",
            name=confidence,
        ),
        row=1,
        col=1,
    )
    if confidence == "pLDDT":
        for (low, high), (_, label, colour) in zip(_BAND_RANGES, PLDDT_BANDS):
            fig.add_hrect(
                y0=low, y1=high, fillcolor=colour, opacity=0.18, line_width=0, layer="below", row=1, col=1
            )
            fig.add_annotation(
                x=1.01,
                xref="paper",
                xanchor="left",
                y=(low + high) / 2,
                yref="y",
                text=label.split(" (")[0],
                showarrow=False,
                font={"size": 10, "color": "#555"},
            )
    row = 2
    if ss is not None:
        for state, colour in SS_COLOURS.items():
            mask = [c == state for c in ss]
            fig.add_trace(
                go.Bar(
                    x=x[mask],
                    y=[1] * sum(mask),
                    marker_color=colour,
                    width=1.0,
                    name=SS_NAMES[state],
                    customdata=[h for h, m in zip(hover, mask) if m],
                    hovertemplate=f"%{{customdata}}<br>{SS_NAMES[state]}<extra></extra>",
                ),
                row=row,
                col=1,
            )
        fig.update_yaxes(showticklabels=False, title_text="DSSP", range=[0, 1], row=row, col=1)
        row += 1
    if rsa is not None:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=np.asarray(rsa, dtype=float),
                mode="lines",
                line={"color": "#2a9d8f", "width": 1.2},
                customdata=hover,
                hovertemplate="%{customdata}<br>RSA %{y:.2f}<extra></extra>",
                name="RSA",
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text="RSA", range=[0, 1.05], row=row, col=1)
    starts = _chain_starts(chain_ids)
    if len(starts) > 1:
        for position, chain in starts:
            fig.add_vline(x=position - 0.5, line={"color": "#888", "dash": "dot", "width": 1})
            fig.add_annotation(
                x=position, y=100, yref="y", yanchor="bottom", text=f"chain {chain}", showarrow=False,
                font={"size": 10},
            )  # fmt: skip
    title = "Predicted confidence per residue (pLDDT)"
    if confidence != "pLDDT":
        title = "B-factor per residue (an experimental structure: not a confidence score)"
    fig.update_layout(
        title=title,
        height=320 + 90 * len(tracks),
        margin={"l": 50, "r": 70, "t": 50, "b": 40},
        showlegend=bool(ss),
        legend={"orientation": "h", "y": -0.15},
        barmode="overlay",
        template="plotly_white",
        meta={"residues": residue_keys(chain_ids, residue_numbers)},
    )
    fig.update_yaxes(title_text=confidence, row=1, col=1)
    if confidence == "pLDDT":
        fig.update_yaxes(range=[0, 100], row=1, col=1)
    fig.update_xaxes(title_text="Residue", row=1 + len(tracks), col=1)
    return fig


def residue_keys(chain_ids: Sequence[str], residue_numbers: Sequence[int] | None) -> list[list]:
    """[chain, residue number] for each x position (1-based) of a plot: carried in the figure's
    `layout.meta` so the page's script can tell the 3D viewer which residues a range covers."""
    numbers = residue_numbers if residue_numbers is not None else range(1, len(chain_ids) + 1)
    return [[str(c), int(n)] for c, n in zip(chain_ids, numbers)]


def pae_figure(
    pae: np.ndarray, chain_ids: Sequence[str], residue_numbers: Sequence[int] | None = None
) -> go.Figure:
    """Predicted aligned error heatmap (AlphaFold DB colours: dark green = low error). A drag
    selects a rectangle (dragmode "select"): the page highlights both residue ranges in 3D."""
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
    # Plotly's box select needs a trace that takes selections (a heatmap does not): invisible
    # points on the diagonal, so a drag reports its x/y range (`plotly_selected`).
    fig.add_trace(
        go.Scatter(
            x=x, y=x, mode="markers", marker={"opacity": 0, "size": 2}, hoverinfo="skip",
            showlegend=False, name="selection layer",
        )
    )  # fmt: skip
    for position, _ in _chain_starts(chain_ids)[1:]:
        for add in (fig.add_vline, fig.add_hline):
            add(position - 0.5, line={"color": "#333", "width": 1})
    fig.update_layout(
        title="Predicted aligned error (PAE)",
        xaxis_title="Scored residue",
        yaxis_title="Aligned residue",
        # Fixed ranges: the invisible selection layer must not pad the axes around the heatmap.
        xaxis_range=[0.5, pae.shape[0] + 0.5],
        yaxis_range=[pae.shape[0] + 0.5, 0.5],  # reversed: residue 1 at the top
        height=380,
        width=None,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
        dragmode="select",
        meta={"residues": residue_keys(chain_ids, residue_numbers)},
    )
    fig.update_xaxes(constrain="domain")
    fig.update_yaxes(scaleanchor="x", scaleratio=1, constrain="domain")
    return fig
