"""Plotly figures for sequence annotations: localization bars, PTM track, contact maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from components.analysis.percentages import class_percentages

CHAIN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf")


def localization_figure(by_chain: dict[str, dict[str, float]], membrane_classes: Sequence[str]) -> go.Figure:
    """Horizontal bars for every class, most likely on top. One chain: membrane classes in a
    second colour; several chains (a complex): one bar per chain and class, coloured by chain."""
    chains = list(by_chain)
    first = by_chain[chains[0]]
    order = sorted(first, key=lambda c: max(p[c] for p in by_chain.values()))
    fig = go.Figure()
    for i, chain in enumerate(chains):
        probabilities = by_chain[chain]
        shown = class_percentages(probabilities)  # the summary's percentages: they add up to 100.0%
        colour = (
            ["#c2185b" if name in membrane_classes else "#1f77b4" for name in order]
            if len(chains) == 1
            else CHAIN_COLOURS[i % len(CHAIN_COLOURS)]
        )
        fig.add_trace(
            go.Bar(
                x=[probabilities[c] for c in order],
                y=order,
                name=f"chain {chain}",
                orientation="h",
                marker_color=colour,
                text=[shown[c] for c in order],
                textposition="outside",
                hovertemplate=f"chain {chain}<br>%{{y}}<br>%{{x:.1%}}<extra></extra>",
            )
        )
    title = "Subcellular localization (SCL2205 classes; pink: membrane)"
    if len(chains) > 1:
        title = "Subcellular localization of each chain (SCL2205 classes)"
    fig.update_layout(
        title=title,
        xaxis={"range": [0, 1.12], "tickformat": ".0%", "title": "probability"},
        height=460 if len(chains) == 1 else 300 + 160 * len(chains),
        margin={"l": 10, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
        barmode="group",
        showlegend=len(chains) > 1,
        legend={"traceorder": "normal"},
    )
    fig.update_yaxes(automargin=True)
    return fig


AMINO_ACID_NAMES = dict(
    zip(
        "ACDEFGHIKLMNPQRSTVWY",
        "alanine cysteine aspartate glutamate phenylalanine glycine histidine isoleucine lysine "
        "leucine methionine asparagine proline glutamine arginine serine threonine valine "
        "tryptophan tyrosine".split(),
    )
)
TRACK_HEIGHT = 230
COMPACT_TRACK_HEIGHT = 150  # with more than two tracks (nine PTM types): the plot stays readable
# One colour per PTM type, in the order the heads are listed (plot markers, 3D sticks, legends):
# Okabe-Ito's colour-blind-safe set first, then darker extras.
TYPE_COLOURS = ("#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7a5195",
                "#8c564b", "#3b3b98", "#b8860b")  # fmt: skip


def type_colour(ptm_types: Sequence[tuple[str, str]], name: str) -> str:
    names = [n for n, _ in ptm_types]
    return TYPE_COLOURS[names.index(name) % len(TYPE_COLOURS)] if name in names else "#b2182b"


def threshold_for(thresholds: float | Mapping[str, float], ptm_type: str) -> float:
    """A type's threshold: one number for every type, or each type's own (e.g. from its card)."""
    return thresholds if isinstance(thresholds, (int, float)) else thresholds.get(ptm_type, 0.5)


def residues_phrase(residues: str) -> str:
    """'lysine' or 'serine / threonine': a track title's candidate residues, in words."""
    return " / ".join(AMINO_ACID_NAMES.get(r, r) for r in residues) or "no residue"


def ptm_figure(
    lengths: dict[str, int],
    sites: Sequence[dict],
    threshold: float | Mapping[str, float],
    ptm_types: Sequence[tuple[str, str]],
    colours: Sequence[tuple[str, str]] | None = None,
) -> go.Figure:
    """One track per PTM type (the loaded site heads' names and residues), and per chain for a
    complex (`lengths`: residues of each chain; sites carry their chain letter): the probability
    at each candidate residue along the chain, with the type's threshold line. `colours`: the
    types that set each one's colour (all loaded types, so a colour stays with its type when only
    some are shown)."""
    chains = list(lengths)
    tracks = [(chain, name, residues) for chain in chains for name, residues in ptm_types]
    titles = []
    for chain, name, residues in tracks:
        mine = [s for s in sites if s["type"] == name and s.get("chain", chain) == chain]
        above = sum(s["probability"] >= threshold_for(threshold, name) for s in mine)
        where = f"chain {chain} · " if len(chains) > 1 else ""
        titles.append(
            f"{where}{name} probability at each {residues_phrase(residues)} "
            f"({above} of {len(mine)} above threshold)"
        )
    rows = max(1, len(tracks))
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        subplot_titles=titles or ["No site head loaded"],
        vertical_spacing=min(0.12, 0.3 / rows) if rows > 1 else 0.0,
    )
    for row, (chain, name, _) in enumerate(tracks, start=1):
        mine = [s for s in sites if s["type"] == name and s.get("chain", chain) == chain]
        colour = type_colour(colours or ptm_types, name)
        _add_track(fig, row, mine, threshold_for(threshold, name), colour)
    fig.update_xaxes(range=[0, max(lengths.values(), default=1) + 1])
    fig.update_xaxes(title_text="residue", row=rows, col=1)
    fig.update_yaxes(range=[0, 1.05], title_text="probability")
    fig.update_layout(
        height=90 + (TRACK_HEIGHT if rows <= 2 else COMPACT_TRACK_HEIGHT) * rows,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
        showlegend=False,
    )
    return fig


def _add_track(
    fig: go.Figure, row: int, sites: Sequence[dict], threshold: float, colour: str = "#b2182b"
) -> None:
    positions = [s["position"] for s in sites]
    probs = [s["probability"] for s in sites]
    fig.add_trace(
        go.Scatter(
            x=positions,
            y=probs,
            mode="markers",
            marker={"size": 8, "color": [colour if p >= threshold else "#9e9e9e" for p in probs]},
            customdata=[f"{s['residue']}{s['position']} {s['type']}" for s in sites],
            hovertemplate="%{customdata}<br>p = %{y:.3f}<extra></extra>",
        ),
        row=row,
        col=1,
    )
    # Stems as one trace with gaps (None) rather than a shape per site: long proteins have hundreds.
    xs = [v for x in positions for v in (x, x, None)]
    ys = [v for y in probs for v in (0, y, None)]
    fig.add_trace(
        go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#bdbdbd", "width": 1}, hoverinfo="skip"),
        row=row,
        col=1,
    )
    fig.add_hline(
        y=threshold,
        line={"color": colour, "dash": "dash"},
        annotation_text=f"threshold {threshold:.2f}",
        annotation_position="top left",
        row=row,
        col=1,
    )


# The contact map is a square sized for a ~640 px wide panel: the plot area is CONTACT_SIDE px
# on each side, the colour bar sits just right of it. Gradio makes the figure responsive, which
# keeps a width given in the layout; without one the square would float away from its colour bar.
CONTACT_SIDE = 500
CONTACT_MARGIN = {"l": 50, "r": 90, "t": 40, "b": 50}


def contacts_figure(predicted: np.ndarray, structure_contacts: np.ndarray | None = None) -> go.Figure:
    """ESM-2 contact probabilities as a square map; with a structure, its Cβ contacts fill the
    lower triangle."""
    z = np.array(predicted, dtype=float)
    caption = "ESM-2 contact probability"
    if structure_contacts is not None and structure_contacts.shape == z.shape:
        lower = np.tril_indices_from(z, -1)
        z[lower] = structure_contacts[lower]
        caption = "Upper: ESM-2 contact probability · Lower: ESMFold Cβ < 8 Å"
    x = np.arange(1, len(z) + 1)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x,
            y=x,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            # Beside the square, as tall as it (paper coordinates are the plot area).
            colorbar={
                "title": {"text": "p", "side": "top"},
                "x": 1.02,
                "xanchor": "left",
                "y": 0.5,
                "yanchor": "middle",
                "len": 1.0,
                "lenmode": "fraction",
                "thickness": 14,
            },
            hovertemplate="residues %{y} – %{x}<br>%{z:.2f}<extra></extra>",
        )
    )
    m = CONTACT_MARGIN
    fig.update_layout(
        width=CONTACT_SIDE + m["l"] + m["r"],
        height=CONTACT_SIDE + m["t"] + m["b"],
        margin=m,
        template="plotly_white",
        xaxis={"title": "residue", "domain": [0, 1], "constrain": "domain"},
        yaxis={
            "title": "residue",
            "domain": [0, 1],
            "autorange": "reversed",
            "scaleanchor": "x",
            "scaleratio": 1,
            "constrain": "domain",
        },
        # A caption, not a layout title: Gradio widens the top margin of titled figures to 100 px.
        annotations=[
            {
                "text": caption,
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": 1.0,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 13},
            }
        ],
    )
    return fig
