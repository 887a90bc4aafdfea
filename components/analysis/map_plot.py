"""The protein map figure: the localization head's reference proteins in 2D, coloured by their
annotated compartment (a legend entry per class: click to hide it), your protein(s) marked, the
five most similar circled. A click on a reference point opens its UniProt entry (the page
script, components/shared/plot_link.py)."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

# 13 distinguishable colours (Plotly's Dark24 without its near-black and greys), in class order.
CLASS_COLOURS = (
    "#2E91E5", "#E15F99", "#1CA71C", "#FB0D0D", "#DA16FF", "#B68100", "#750D86", "#EB663B",
    "#511CFB", "#00A08B", "#FB00D1", "#6C7C32", "#862A16",
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
                marker={"size": 16 if few else 9, "symbol": "star", "color": "#111",
                        "line": {"width": 1, "color": "#fff"}},
                customdata=[[p["name"], p.get("nearest", "")] for p in placed],
                hovertemplate="%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
            )
        )  # fmt: skip
    fig.update_layout(
        title={"text": html.escape(title), "font": {"size": 14}}, height=560,
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"itemsizing": "constant", "font": {"size": 11}},
        xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x"}, plot_bgcolor="#fff",
        meta={"uniprot": UNIPROT},
    )  # fmt: skip
    return fig
