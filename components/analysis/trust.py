"""How far to trust each tab, in words, with every figure read from the model cards; and the
PTM tab's empty states ("no site at or above 0.50; the highest is K29 at 0.32").

Nothing here holds a measured number: the cards (assets/heads/*.json, assets/contacts.json) do,
written by `scripts/measure_trust.py` and the training pipeline.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from components.analysis.annotation_plots import residues_phrase, threshold_for
from components.analysis.percentages import tenths_of_percent
from models.analysis.head_cards import HeadCard

TRUST_CLASS = "trust-note"
LICENCE_NOTE = "Trained on data for non-commercial use"


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _probability(p: float, threshold: float) -> str:
    """Two decimals, or as many more as it takes not to read as the threshold (0.4996 vs 0.50)."""
    for decimals in range(2, 6):
        shown = f"{p:.{decimals}f}"
        if float(shown) < threshold:
            return shown
    return shown


def threshold_curve(split_metrics: dict) -> dict | None:
    """The card's precision/recall curve for one test split; a one-point curve where the card only
    has precision_at_X / recall_at_X (older site-head cards); None where it has neither."""
    curve = split_metrics.get("threshold_curve")
    if curve:
        return curve
    points = [k.removeprefix("precision_at_") for k in split_metrics if k.startswith("precision_at_")]
    if not points:
        return None
    return {
        "thresholds": [float(t) for t in points],
        "precision": [split_metrics[f"precision_at_{t}"] for t in points],
        "recall": [split_metrics.get(f"recall_at_{t}") for t in points],
        "n_called": [None for _ in points],
    }


def curve_point(curve: dict, threshold: float) -> dict:
    """The measured point nearest to `threshold` (lower one on a tie): threshold, precision,
    recall, n_called; precision is None where nothing scored that high."""
    thresholds = curve["thresholds"]
    k = min(range(len(thresholds)), key=lambda i: (abs(thresholds[i] - threshold), thresholds[i]))
    return {key: curve[key][k] for key in ("precision", "recall", "n_called")} | {"threshold": thresholds[k]}


def _test_set(card: dict, split: str) -> str:
    data = card.get("data", {})
    if data.get("package"):
        return f"{data['package'].split('==')[0]} {split}"
    if data.get("file"):
        return f"the {split.lower()} proteins held out from {data['file']}"
    return f"its {split} set"


def _site_head_note(card: HeadCard, threshold: float) -> str:
    """The card's figures in a paragraph, and the restriction its training data puts on use."""
    return f"<p>{_site_head_figures(card, threshold)}{_licence_sentence(card)}</p>"


def _licence_sentence(card: HeadCard) -> str:
    if not card.data_licence:
        return ""
    # The card says it in full ("trained on data for non-commercial use (PhosphoSitePlus: ...)").
    said = card.data_licence if card.data_licence.lower().startswith(LICENCE_NOTE.lower()) else (
        f"{LICENCE_NOTE} ({card.data_licence})"
    )
    return f" <span class='data-licence'>{html.escape(said[:1].upper() + said[1:])}.</span>"


def _site_head_figures(card: HeadCard, threshold: float) -> str:
    final = card.test_metrics
    name, residue = card.ptm_type, residues_phrase(card.residues)
    if not final:
        return f"<strong>{html.escape(name)}</strong>: this head's card has no test-set measurement."
    splits = list(final)
    aucs = []
    for split in splits:
        m = final[split]
        if m.get("roc_auc") is None:
            continue
        aucs.append(
            f"{m['roc_auc']:.3f} on {html.escape(_test_set(card.card, split))} "
            f"({m['n']:,} {html.escape(residue)} residues, {m['n_positive']:,} of them sites)"
        )
    text = f"<strong>{html.escape(name)}</strong>: ROC-AUC " + " and ".join(aucs) + "."
    main = splits[0]
    curve = threshold_curve(final[main])
    if curve is None:
        return f"{text} No precision/recall measured at any threshold."
    point = curve_point(curve, threshold)
    where = f"{point['threshold']:.2f}"
    if abs(point["threshold"] - threshold) > 1e-9:
        where += f" (the measured threshold nearest to {threshold:.2f})"
    test_set = html.escape(_test_set(card.card, main))
    if point["precision"] is None:
        text += f" At {where}, no {residue} of {test_set} scores that high."
    else:
        called = f"; {point['n_called']:,} called" if point["n_called"] is not None else ""
        text += (
            f" At {where} on {test_set}: precision {point['precision']:.2f} (of the residues "
            f"called, {_pct(point['precision'])} are real sites{called}), recall {point['recall']:.2f} "
            f"({_pct(point['recall'])} of the real sites are called)."
        )
    m = final[main]
    if m.get("n"):
        text += (
            f" {_pct(m['n_positive'] / m['n'])} of that set's candidates are sites; where sites are "
            "rarer, as in a whole proteome, precision is lower."
        )
    return text


def ptm_trust_html(site_cards: Sequence[HeadCard], threshold: float | Mapping[str, float]) -> str:
    """One paragraph per site head: test ROC-AUC, and precision/recall at its threshold (`threshold`:
    one for all, or each type's; the nearest its card measured), all from the card; and, for a
    head trained on data for non-commercial use, that restriction beside its figures."""
    if not site_cards:
        return ""
    notes = "".join(_site_head_note(card, threshold_for(threshold, card.ptm_type)) for card in site_cards)
    return f"<div class='{TRUST_CLASS}' id='ptm-trust'>{notes}</div>"


def ptm_empty_states_html(
    sequence: str,
    sites: Sequence[dict],
    thresholds: float | Mapping[str, float],
    ptm_types: Sequence[tuple[str, str]],
) -> str:
    """For each PTM type with no site at or above `threshold`, a sentence saying so: the highest
    scoring candidate, or that the sequence has no candidate residue. "" when every type has one."""
    lines = []
    for name, residues in ptm_types:
        mine = [s for s in sites if s["type"] == name]
        if not any(aa in residues for aa in sequence):
            lines.append(
                f"No {residues_phrase(residues).replace(' / ', ' or ')} in this sequence, "
                f"so no {name} site to score."
            )
            continue
        if not mine:  # not scored (no such head ran): nothing true to say about its sites
            continue
        best = max(mine, key=lambda s: (s["probability"], -s["position"]))
        threshold = threshold_for(thresholds, name)
        if best["probability"] < threshold:
            lines.append(
                f"No {name} site at or above {threshold:.2f}; the highest is "
                f"{best['residue']}{best['position']} at {_probability(best['probability'], threshold)}."
            )
    if not lines:
        return ""
    return "<div class='ptm-empty'>" + "".join(f"<p>{html.escape(line)}</p>" for line in lines) + "</div>"


def localization_confidence_note(probabilities: dict[str, float], card: dict | None) -> str:
    """'Low confidence: …' when the top class, as displayed, is below the level calibrated in the
    localization card; "" above it or when the card has no calibration."""
    calibration = (card or {}).get("calibration") or {}
    level = calibration.get("low_confidence_below")
    if level is None or not probabilities:
        return ""
    shown = tenths_of_percent(probabilities)
    if max(shown.values()) >= round(level * 1000):
        return ""
    below = calibration.get("heldout_below", {})
    right = ""
    if below.get("accuracy") is not None:
        right = (
            f"; on held-out proteins predictions this unsure are right {_pct(below['accuracy'])} of "
            f"the time ({below['n']:,} of {below['of']:,} proteins were this unsure)"
        )
    return (
        f"<p class='{TRUST_CLASS} low-confidence'><strong>Low confidence</strong>: the top class is "
        f"below {_pct(level)}{right}. Read the top three together.</p>"
    )


def localization_trust_html(card: dict | None) -> str:
    """The localization head's held-out accuracy, from its card."""
    metrics = (card or {}).get("metrics", {}).get("heldout", {})
    if not metrics:
        return ""
    return (
        f"<p class='{TRUST_CLASS}'>On SCL2205's held-out test set ({metrics['n']:,} proteins) the top "
        f"class is right {_pct(metrics['accuracy'])} of the time, one of the top three "
        f"{_pct(metrics['top3_accuracy'])}, membrane vs soluble "
        f"{_pct(metrics['membrane_vs_soluble_accuracy'])}.</p>"
    )


def contacts_trust_html(card: dict | None, backbone_sha256: str | None = None) -> str:
    """Long-range precision at L/5 of the backbone's contact map on real structures, from
    assets/contacts.json; says so when the loaded backbone is not the one measured."""
    if not card or not card.get("entries"):
        return ""
    entries = card["entries"]
    names = ", ".join(f"{e['pdb']} ({e['precision']:.0%})" for e in entries)
    text = (
        f"On {len(entries)} real structures the top L/5 long-range contacts (|i−j| ≥ "
        f"{card['min_separation']}) of this map are right {_pct(card['mean_precision'])} of the time "
        f"on average (Cβ within {card['cutoff_angstrom']:g} Å; per entry: {names})."
    )
    measured = card.get("backbone", {})
    if backbone_sha256 and measured.get("weights_sha256") and backbone_sha256 != measured["weights_sha256"]:
        text += f" Measured for {measured.get('id', 'another backbone')}, not the backbone loaded now."
    return f"<p class='{TRUST_CLASS}' id='contacts-trust'>{html.escape(text)}</p>"


def closeness_sentence(card: dict | None) -> str:
    """What counts as a close training protein, from the localization card's calibration ("" if
    it has none): the level, and how often the most similar protein's class is right above and
    below it on held-out proteins."""
    similarity = ((card or {}).get("calibration") or {}).get("similarity") or {}
    close = similarity.get("close_from")
    above, below = similarity.get("heldout_close") or {}, similarity.get("heldout_not_close") or {}
    if close is None or above.get("accuracy") is None:
        return ""
    text = (
        f"Close: {close:.2f} or more. On held-out proteins whose most similar training protein is "
        f"that close, its annotated compartment is theirs {_pct(above['accuracy'])} of the time"
    )
    if below.get("accuracy") is not None:
        text += f"; below {close:.2f}, {_pct(below['accuracy'])}"
    return text + "."
