"""Plotly figures for sequence annotations: localization bars, PTM track, contact maps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go


def localization_figure(probabilities: dict[str, float], membrane_classes: Sequence[str]) -> go.Figure:
    """Horizontal bars for every class, most likely on top; membrane classes in a second colour."""
    ranked = sorted(probabilities.items(), key=lambda kv: kv[1])
    colours = ["#c2185b" if name in membrane_classes else "#1f77b4" for name, _ in ranked]
    fig = go.Figure(
        go.Bar(
            x=[p for _, p in ranked],
            y=[name for name, _ in ranked],
            orientation="h",
            marker_color=colours,
            text=[f"{p:.1%}" for _, p in ranked],
            textposition="outside",
            hovertemplate="%{y}<br>%{x:.1%}<extra></extra>",
        )
    )
    fig.update_layout(
        title="Subcellular localization (SCL2205 classes; pink: membrane)",
        xaxis={"range": [0, 1.12], "tickformat": ".0%", "title": "probability"},
        height=460,
        margin={"l": 10, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
    )
    fig.update_yaxes(automargin=True)
    return fig


def ptm_figure(sequence: str, sites: Sequence[dict], threshold: float) -> go.Figure:
    """Probability at each candidate residue along the sequence, with the threshold line."""
    positions = [s["position"] for s in sites]
    probs = [s["probability"] for s in sites]
    above = [p >= threshold for p in probs]
    fig = go.Figure(
        go.Scatter(
            x=positions,
            y=probs,
            mode="markers",
            marker={"size": 8, "color": ["#b2182b" if a else "#9e9e9e" for a in above]},
            customdata=[f"{s['residue']}{s['position']} {s['type']}" for s in sites],
            hovertemplate="%{customdata}<br>p = %{y:.3f}<extra></extra>",
        )
    )
    for x, y in zip(positions, probs):
        fig.add_shape(
            type="line", x0=x, x1=x, y0=0, y1=y, line={"color": "#bdbdbd", "width": 1}, layer="below"
        )
    fig.add_hline(
        y=threshold,
        line={"color": "#b2182b", "dash": "dash"},
        annotation_text=f"threshold {threshold:.2f}",
        annotation_position="top left",
    )
    fig.update_layout(
        title=f"SUMOylation probability at each lysine ({sum(above)} of {len(sites)} above threshold)",
        xaxis={"range": [0, len(sequence) + 1], "title": "residue"},
        yaxis={"range": [0, 1.05], "title": "probability"},
        height=320,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
        showlegend=False,
    )
    return fig


def cb_contact_map(ca_cb: np.ndarray, cutoff: float = 8.0) -> np.ndarray:
    """1/0 contacts from (L, 3) Cβ (Cα for glycine) coordinates."""
    distances = np.linalg.norm(ca_cb[:, None] - ca_cb[None], axis=-1)
    return (distances < cutoff).astype(float)


def contacts_figure(predicted: np.ndarray, structure_contacts: np.ndarray | None = None) -> go.Figure:
    """ESM-2 contact probabilities; with a structure, its Cβ contacts fill the lower triangle."""
    z = np.array(predicted, dtype=float)
    title = "Predicted contacts (ESM-2 attention head)"
    if structure_contacts is not None and structure_contacts.shape == z.shape:
        lower = np.tril_indices_from(z, -1)
        z[lower] = structure_contacts[lower]
        title = "Upper: ESM-2 contact probability · Lower: ESMFold Cβ < 8 Å"
    x = np.arange(1, len(z) + 1)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x,
            y=x,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "p"}},
            hovertemplate="%{y} – %{x}<br>%{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=480,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
        yaxis_autorange="reversed",
        xaxis_title="residue",
        yaxis_title="residue",
    )
    fig.update_xaxes(constrain="domain")
    fig.update_yaxes(scaleanchor="x", scaleratio=1, constrain="domain")
    return fig
