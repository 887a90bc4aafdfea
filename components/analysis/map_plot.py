"""The protein map figure: the localization head's reference proteins in 2D, coloured by their
annotated compartment (a legend entry per class: click to hide it), your protein(s) marked, the
five most similar circled. A click on a reference point opens its UniProt entry (the page
script, components/shared/plot_link.py)."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

# 13 colours told apart at a glance (Matplotlib's tab10 and three of tab20's light shades), in
# SCL2205's class order; near neighbours in hue go to classes that rarely sit together.
CLASS_COLOURS = (
    "#1f77b4", "#98df8a", "#2ca02c", "#d62728", "#9467bd", "#bcbd22", "#ff7f0e", "#e377c2",
    "#8c564b", "#17becf", "#7f7f7f", "#aec7e8", "#ffbb78",
)  # fmt: skip
UNIPROT = "https://www.uniprot.org/uniprotkb/{}/entry"
MARKER = {"size": 4, "opacity": 0.55}


def map_figure(
    coordinates: np.ndarray,
    labels: np.ndarray,
    entries: list[str],
    classes: list[str],
    placed: list[dict],
    similarity: np.ndarray | None = None,
    title: str = "Protein map",
) -> go.Figure:
    """coordinates (N, 2) of the reference proteins, their class index and UniProt entry;
    `placed`: [{"name", "x", "y", "similar": [reference indices]}] drawn on top; `similarity`:
    (N,) cosine similarity of each reference protein to the (first) placed protein, for hover."""
    fig = go.Figure()
    for k, name in enumerate(classes):
        rows = np.flatnonzero(labels == k)
        if not len(rows):
            continue
        custom = np.empty((len(rows), 3), dtype=object)
        custom[:, 0] = [entries[i] if entries else "" for i in rows]
        custom[:, 1] = name
        custom[:, 2] = "" if similarity is None else [f"similarity {similarity[i]:.2f}" for i in rows]
        fig.add_trace(
            go.Scattergl(
                x=np.round(coordinates[rows, 0], 2), y=np.round(coordinates[rows, 1], 2), mode="markers",
                name=name, marker={**MARKER, "color": CLASS_COLOURS[k % len(CLASS_COLOURS)]},
                customdata=custom,
                hovertemplate="%{customdata[0]} · %{customdata[1]}<br>%{customdata[2]}"
                "<br>click: open in UniProt<extra></extra>",
            )
        )  # fmt: skip
    similar = sorted({i for p in placed for i in p.get("similar", [])})
    if similar:
        fig.add_trace(
            go.Scatter(
                x=coordinates[similar, 0], y=coordinates[similar, 1], mode="markers",
                name="5 most similar",
                marker={"size": 13, "color": "rgba(0,0,0,0)", "line": {"width": 2, "color": "#111"}},
                customdata=[[entries[i] if entries else "", classes[labels[i]], ""] for i in similar],
                hovertemplate="%{customdata[0]} · %{customdata[1]} (most similar)<extra></extra>",
            )
        )  # fmt: skip
    if placed:
        few = len(placed) <= 4  # names written beside the stars; a batch's only on hover
        fig.add_trace(
            go.Scatter(
                x=[p["x"] for p in placed], y=[p["y"] for p in placed],
                mode="markers+text" if few else "markers",
                name="your protein" if len(placed) == 1 else "your proteins",
                text=[p["name"] for p in placed], textposition="top center",
                marker={"size": 20 if few else 14, "symbol": "star", "color": "#111",
                        "line": {"width": 1.5, "color": "#fff"}},
                customdata=[[p["name"], p.get("nearest", "")] for p in placed],
                hovertemplate="%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
            )
        )  # fmt: skip
    fig.update_layout(
        title={"text": html.escape(title), "font": {"size": 14}}, height=680,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        # Under the map, not beside it: 13 long class names beside it took half the width.
        legend={"itemsizing": "constant", "font": {"size": 11}, "orientation": "h", "y": -0.02,
                "yanchor": "top"},
        # No fixed aspect: t-SNE axes carry no units, and the map then fills the tab's width.
        xaxis={"visible": False}, yaxis={"visible": False}, plot_bgcolor="#fff",
        meta={"uniprot": UNIPROT},
    )  # fmt: skip
    return fig
