"""What the PTM tab shows of the sites: which types (all by default, or a few), at which
threshold each (its card's calibrated one by default; one type's or every type's set by the
user), one summary row per type.

The choice lives in a `gr.State` (`PtmView.as_state`), not in the API: `/analyze` and `/predict`
keep their `threshold` argument, which applies to every type; the page starts each browser
session at the cards' thresholds (`PtmView.start`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from components.analysis.annotation_plots import residues_phrase, threshold_for, type_colour
from models.analysis.head_cards import HeadCard

EVERY_TYPE = "every type"  # the threshold control's target when it sets all types at once


@dataclass(frozen=True)
class PtmView:
    types: tuple[str, ...] | None = None  # the types shown; None: every loaded type
    # Each type's threshold; None: the `threshold` argument for every type (API calls).
    per_type: tuple[tuple[str, float], ...] | None = None

    @classmethod
    def start(cls, site_cards: Sequence[HeadCard]) -> PtmView:
        """A browser session's first view: every type, each at its card's calibrated threshold."""
        return cls(None, calibrated(site_cards))

    def as_state(self) -> dict:
        return {
            "types": list(self.types) if self.types is not None else None,
            "thresholds": dict(self.per_type) if self.per_type is not None else None,
        }

    @classmethod
    def from_state(cls, state: dict | None) -> PtmView:
        state = state or {}
        types, thresholds = state.get("types"), state.get("thresholds")
        return cls(
            tuple(types) if types is not None else None,
            tuple(thresholds.items()) if thresholds is not None else None,
        )

    def thresholds(self, site_cards: Sequence[HeadCard], threshold: float) -> float | dict[str, float]:
        if self.per_type is None:
            return float(threshold)
        return {**dict(calibrated(site_cards)), **dict(self.per_type)}

    def shown(self, ptm_types: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(n, r) for n, r in ptm_types if self.types is None or n in self.types]

    def with_threshold(self, site_cards: Sequence[HeadCard], target: str, value: float) -> PtmView:
        """`target`'s threshold (or every type's) set to `value`; the others keep theirs."""
        if self.per_type is None:
            current = dict(calibrated(site_cards))
        else:
            current = dict(self.thresholds(site_cards, value))
        if target == EVERY_TYPE:
            current = dict.fromkeys(current, float(value))
        else:
            current[target] = float(value)
        return PtmView(self.types, tuple(current.items()))

    def at_calibrated(self, site_cards: Sequence[HeadCard]) -> bool:
        return self.per_type is not None and dict(self.per_type) == dict(calibrated(site_cards))


def calibrated(site_cards: Sequence[HeadCard]) -> tuple[tuple[str, float], ...]:
    return tuple((card.ptm_type, card.threshold) for card in site_cards)


def site_rows(sites: Sequence[dict], thresholds: float | Mapping[str, float], shown: Sequence[str]) -> list:
    """The table: sites of the shown types at or above their type's threshold."""
    return [
        [s.get("chain", "A"), s["position"], s["residue"], s["type"], round(s["probability"], 3), s["window"]]
        for s in sites
        if s["type"] in shown and s["probability"] >= threshold_for(thresholds, s["type"])
    ]


def sites_in_3d(
    sites: Sequence[dict],
    thresholds: float | Mapping[str, float],
    shown: Sequence[tuple[str, str]],
    ptm_types: Sequence[tuple[str, str]],
) -> tuple[list[tuple[str, int, float, str]], list[tuple[str, str]]]:
    """The sites drawn on the fold (shown types, at or above their threshold), each in its type's
    colour, and the key of those colours."""
    names = [n for n, _ in shown]
    drawn = [
        (s["chain"], s["position"], s["probability"], type_colour(ptm_types, s["type"]))
        for s in sites
        if s["type"] in names and s["probability"] >= threshold_for(thresholds, s["type"])
    ]
    key = [(n, type_colour(ptm_types, n)) for n in names]
    return drawn, key


def summary_html(
    sites: Sequence[dict],
    thresholds: float | Mapping[str, float],
    shown: Sequence[tuple[str, str]],
    ptm_types: Sequence[tuple[str, str]],
    chains: Sequence[str] = ("A",),
) -> str:
    """One row per shown type (and chain of a complex): its threshold, how many sites are at or
    above it, and the most probable site."""
    rows = []
    for chain in chains:
        for name, residues in shown:
            mine = [s for s in sites if s["type"] == name and s.get("chain", "A") == chain]
            threshold = threshold_for(thresholds, name)
            above = sum(s["probability"] >= threshold for s in mine)
            if mine:
                top = max(mine, key=lambda s: (s["probability"], -s["position"]))
                best = f"{top['residue']}{top['position']} ({top['probability']:.2f})"
            else:
                best = f"no {residues_phrase(residues)}"
            swatch = f"<span class='type-swatch' style='background:{type_colour(ptm_types, name)}'></span>"
            where = f"<td>{html.escape(chain)}</td>" if len(chains) > 1 else ""
            rows.append(
                f"<tr>{where}<td>{swatch}{html.escape(name)}</td><td>{threshold:.2f}</td>"
                f"<td>{above} of {len(mine)}</td><td>{html.escape(best)}</td></tr>"
            )
    head = "<th>chain</th>" if len(chains) > 1 else ""
    return (
        "<table class='ptm-summary'><caption>Sites per PTM type at its threshold</caption><thead><tr>"
        f"{head}<th>type</th><th>threshold</th><th>sites at or above</th><th>most probable</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
