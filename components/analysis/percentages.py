"""Percentages as shown on the page: rounded so that what is displayed adds up."""

from __future__ import annotations

import math
from collections.abc import Mapping


def tenths_of_percent(probabilities: Mapping[str, float]) -> dict[str, int]:
    """Each probability in tenths of a percent (0-1000), rounded by largest remainder so the
    shown values add up to exactly 100.0% (plain rounding of 13 classes often gives 99.9 or 100.1)."""
    # Rounded first to the API's six decimals, so the raw values (the plot) and the JSON's (the
    # summary) always give the same figures.
    probabilities = {name: round(float(p), 6) for name, p in probabilities.items()}
    total = sum(probabilities.values())
    if not probabilities or total <= 0:
        return {name: 0 for name in probabilities}
    exact = {name: 1000 * p / total for name, p in probabilities.items()}
    shown = {name: math.floor(x) for name, x in exact.items()}
    # Ties broken by order (stable sort): the same input always shows the same figures.
    by_remainder = sorted(exact, key=lambda name: shown[name] - exact[name])
    for name in by_remainder[: 1000 - sum(shown.values())]:
        shown[name] += 1
    return shown


def format_tenths(tenths: int) -> str:
    """'12.3%' from 123."""
    return f"{tenths // 10}.{tenths % 10}%"


def class_percentages(probabilities: Mapping[str, float]) -> dict[str, str]:
    """Every class's probability as shown in the plot and the summary ('12.3%'), adding up to 100.0%."""
    return {name: format_tenths(t) for name, t in tenths_of_percent(probabilities).items()}


def split_percentages(probability: float) -> tuple[str, str]:
    """A two-way split (membrane, soluble) as shown: the first rounded, the second derived, so
    the two always read 100.0% together."""
    first = min(1000, max(0, round(probability * 1000)))
    return format_tenths(first), format_tenths(1000 - first)
