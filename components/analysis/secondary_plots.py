"""The PTM tab's secondary-structure and accessibility tracks (predicted from the sequence), with
the DSSP of a fold or opened structure beside them when there is one."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from models.analysis.secondary_prediction import (
    BURIED_BELOW,
    EIGHT,
    EIGHT_NAMES,
    THREE,
    THREE_NAMES,
    agreement,
)

THREE_COLOURS = {"H": "#d62728", "E": "#1f77b4", "C": "#d9d9d9"}  # helix red, strand blue, coil grey
NO_HEAD = "No secondary-structure head is loaded, so there is no prediction from the sequence."
# Shown also after a fold that failed or could not run (no ESMFold weights): so it says when a
# structure's DSSP appears, not "fold it", which the user may just have tried.
NO_STRUCTURE = (
    "Predicted from the sequence alone. When the protein has a fold, or its structure file is open "
    "in the Structure tab, that structure's DSSP is drawn beside the prediction."
)


def _residue_labels(chains: list[tuple[str, str]]) -> list[str]:
    many = len(chains) > 1
    return [f"{letter if many else ''}{aa}{i + 1}" for letter, seq in chains for i, aa in enumerate(seq)]


def _hover(label: str, p8: np.ndarray, p3: np.ndarray, rsa: float) -> str:
    parts = " · ".join(f"{THREE_NAMES[c]} {p3[k]:.2f}" for k, c in enumerate(THREE))
    detail = ", ".join(f"{c} {p8[j]:.2f}" for j, c in enumerate(EIGHT) if p8[j] >= 0.05)
    return f"{label}<br>{parts}<br>DSSP classes: {detail}<br>RSA {rsa:.2f}"


def secondary_figure(
    chains: list[tuple[str, str, object]], observed_ss: str | None = None, observed_rsa=None, source: str = ""
) -> go.Figure:
    """chains: (letter, sequence, SecondaryPrediction). Top: a three-state track per source (the
    prediction; the structure's DSSP when given), hover with every class probability; bottom:
    RSA predicted (and the structure's)."""
    labels = _residue_labels([(c, s) for c, s, _ in chains])
    p8 = np.concatenate([p.probabilities for _, _, p in chains])
    p3 = np.concatenate([p.probabilities3 for _, _, p in chains])
    rsa = np.concatenate([p.rsa for _, _, p in chains])
    predicted = "".join(p.ss3 for _, _, p in chains)
    x = np.arange(1, len(labels) + 1)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.45, 0.55], vertical_spacing=0.08)
    rows = [("Predicted", predicted, [_hover(*a) for a in zip(labels, p8, p3, rsa)])]
    if observed_ss is not None:
        hover = [f"{lab}<br>DSSP: {THREE_NAMES.get(s, s)}" for lab, s in zip(labels, observed_ss)]
        rows.append((f"DSSP ({source})", observed_ss, hover))
    in_legend = set()
    for k, (name, letters, hover) in enumerate(rows):
        y = [name] * len(letters)
        for c in THREE:
            hit = np.array([s == c for s in letters])
            if not hit.any():
                continue
            fig.add_trace(
                go.Bar(
                    x=x[hit], y=np.ones(hit.sum()), base=[k] * int(hit.sum()), width=1.0,
                    marker_color=THREE_COLOURS[c], marker_line_width=0,
                    name=THREE_NAMES[c], legendgroup=c, showlegend=c not in in_legend,
                    hovertext=np.array(hover, dtype=object)[hit], hoverinfo="text",
                    customdata=np.array(y)[hit],
                ),
                row=1, col=1,
            )  # fmt: skip
            in_legend.add(c)
    # Short row names (the hover and legend say whose DSSP): the left margin matches the PTM
    # plot's above, so residue n sits under residue n.
    fig.update_yaxes(
        tickvals=[k + 0.5 for k in range(len(rows))], ticktext=["predicted", "DSSP"][: len(rows)],
        range=[0, len(rows)], tickfont={"size": 10}, row=1, col=1,
    )  # fmt: skip
    fig.update_xaxes(range=[0, len(labels) + 1])
    fig.add_trace(
        go.Scatter(
            x=x, y=rsa, mode="lines", name="RSA predicted", line={"color": "#2ca02c"},
            hovertext=[f"{lab}: predicted RSA {r:.2f}" for lab, r in zip(labels, rsa)], hoverinfo="text",
        ),
        row=2, col=1,
    )  # fmt: skip
    if observed_rsa is not None:
        observed = np.asarray(observed_rsa, dtype=float)
        fig.add_trace(
            go.Scatter(
                x=x, y=observed, mode="lines", name=f"RSA ({source})",
                line={"color": "#7f7f7f", "dash": "dot"}, hoverinfo="text",
                hovertext=[f"{lab}: structure RSA {r:.2f}" for lab, r in zip(labels, observed)],
            ),
            row=2, col=1,
        )  # fmt: skip
    fig.add_hline(y=BURIED_BELOW, line_dash="dash", line_color="#4b5563", row=2, col=1)
    fig.update_yaxes(title_text="RSA", range=[0, 1.05], row=2, col=1)
    fig.update_xaxes(title_text="residue", row=2, col=1)
    fig.update_layout(
        barmode="overlay", height=300 + 40 * len(rows), margin={"l": 50, "r": 20, "t": 30, "b": 40},
        legend={"orientation": "h", "y": 1.12}, bargap=0,
        title={"text": "Secondary structure and accessibility from the sequence", "font": {"size": 14}},
    )  # fmt: skip
    return fig


def secondary_note(predicted_ss3: str, observed_ss: str | None, source: str, card: dict | None) -> str:
    """The sentence under the tracks: agreement with the structure's DSSP, the head's test figures."""
    figures = ((card or {}).get("metrics") or {}).get("final", {}).get("Test", {})
    trust = ""
    if figures:
        trust = (
            f" On {figures.get('chains', 0):,} PDB chains of clusters never trained on (25% identity), the "
            f"head's three-state accuracy is {figures['q3']:.0%} (8 states: {figures['q8']:.0%}); its RSA "
            f"correlates at r = {figures['rsa_pearson_r']:.2f}. Buried: RSA below {BURIED_BELOW:.0%} "
            "(dashed line)."
        )
    if observed_ss is None:
        return f"<p class='secondary-note'>{html.escape(NO_STRUCTURE + trust)}</p>"
    share = agreement(predicted_ss3, observed_ss)
    said = (
        f"Three-state agreement with the DSSP of {source}: {share:.0%} of {len(observed_ss):,} residues."
        if share is not None
        else f"The DSSP of {source} cannot be compared residue by residue (different lengths)."
    )
    return f"<p class='secondary-note'><strong>{html.escape(said)}</strong>{html.escape(trust)}</p>"


CLASS_KEY = ", ".join(f"{c} {EIGHT_NAMES[c]}" for c in EIGHT)
