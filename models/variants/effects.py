"""What a change does: every predictor on the wild type and on each variant, and the differences.

The wild type and every mutant go through the same path as `/ptm`, `/localization` and
`/contacts` (`Studio.annotate` / `annotate_many`: one backbone pass per sequence feeds every
head), so a number reported here is the number those endpoints give for the mutant sequence
pasted by hand; each difference is taken between the values as reported (rounded alike).
Language-model scores come from the separate masked LM; structures only when the wild type was
already folded (a variant never starts the first, expensive fold of a protein).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from models.shared.errors import (
    FoldingOutOfMemory,
    FoldingUnavailable,
    LanguageModelUnavailable,
    SequenceError,
)
from models.shared.sequences import CHAIN_LETTERS, STANDARD_AMINO_ACIDS, Protein
from models.variants.notation import Variant, VariantError, check_variants

if TYPE_CHECKING:  # importable without torch for type checkers only
    from models.analysis.annotation import Annotation
    from models.structure.compare import Comparison
    from models.structure.result import Structure

log = logging.getLogger(__name__)

CONTACT_CHANGE = 0.2  # a contact probability that moves by more than this is reported
DEFAULT_THRESHOLD = 0.5  # a PTM site counts at or above this probability (the PTM tab's default)
DEFAULT_MAX_VARIANT_FOLDS = 10  # mutants folded per request when the wild type was folded


@dataclass
class VariantEffect:
    """One entry of the variant list: its differences from the wild type, or why it has none."""

    text: str  # as the user typed it
    variant: Variant | None
    error: str | None = None
    offset: int = 0  # residues before the variant's chain in the complex (0 for one chain)
    localization: dict = field(default_factory=dict)
    ptm: dict = field(default_factory=dict)
    contacts_changed: list[dict] = field(default_factory=list)
    secondary_changed: dict = field(default_factory=dict)
    language_model: dict = field(default_factory=dict)
    structure: dict | None = None  # None: the wild type was not folded
    mutant_structure: Structure | None = None  # for the viewer, not the JSON
    comparison: Comparison | None = None

    @property
    def label(self) -> str:
        return self.variant.label if self.variant else self.text

    def to_json(self) -> dict:
        if self.variant is None:
            return {"variant": self.text, "status": "error", "error": self.error}
        chain = {"chain": self.variant.chain} if self.variant.chain else {}
        return {
            "variant": self.variant.label,
            **chain,  # a complex's variant: the chain it changes, whose positions every field uses
            "input": self.text,
            "status": "ok",
            "error": None,
            "localization": self.localization,
            "ptm": self.ptm,
            "contacts_changed": self.contacts_changed,
            "secondary_changed": self.secondary_changed,
            "language_model": self.language_model,
            "structure": self.structure,
        }


@dataclass
class MutationReport:
    protein: Protein
    wild_types: dict[str, Annotation]  # chain letter -> that chain's analysis ("A" alone for one chain)
    threshold: float
    effects: list[VariantEffect]
    wild_type_structure: Structure | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def wild_type(self) -> Annotation:
        """A one-chain protein's analysis (the first chain's in a complex)."""
        return next(iter(self.wild_types.values()))

    def to_json(self) -> dict:
        return {
            "id": self.protein.id,
            "length": self.protein.length,
            "threshold": self.threshold,
            "notes": self.notes,
            "variants": [e.to_json() for e in self.effects],
        }


def localization_change(wild_type: Annotation, mutant: Annotation) -> dict:
    """Every class's probability in both, their difference, the top class and membrane shift."""
    if not wild_type.localization:
        return {"note": "No localization head is loaded."}
    before, after = wild_type.localization_json(), mutant.localization_json()
    wt, mt = before["probabilities"], after["probabilities"]
    top_before, top_after = before["top"]["class"], after["top"]["class"]
    return {
        "wild_type": wt,
        "mutant": mt,
        "delta": {c: round(mt[c] - wt[c], 6) for c in wt},
        "top_class": {
            "wild_type": top_before,
            "mutant": top_after,
            "changed": top_before != top_after,
            # How much the wild type's top class lost or gained.
            "delta": round(mt[top_before] - wt[top_before], 6),
        },
        "membrane": {
            "wild_type": before["membrane"],
            "mutant": after["membrane"],
            "delta": round(after["membrane"] - before["membrane"], 4),
        },
    }


def ptm_change(wild_type: Annotation, mutant: Annotation, threshold: float) -> dict:
    """Sites lost and gained at `threshold`, and the change at every candidate of every type. A
    residue that is not a candidate in one of the two (K48R at a lysine site) has no probability
    there (null) and counts as 0 in `delta`."""
    before = {(s["type"], s["position"]): s for s in wild_type.ptm_json()["sites"]}
    after = {(s["type"], s["position"]): s for s in mutant.ptm_json()["sites"]}
    order = [t for t, _ in wild_type.ptm_types]
    keys = sorted(set(before) | set(after), key=lambda k: (order.index(k[0]) if k[0] in order else 99, k[1]))
    changes, lost, gained = [], [], []
    for key in keys:
        ptm_type, position = key
        w, m = before.get(key), after.get(key)
        p_w = w["probability"] if w else None
        p_m = m["probability"] if m else None
        row = {
            "type": ptm_type,
            "position": position,
            "wild_type_residue": wild_type.sequence[position - 1],
            "mutant_residue": mutant.sequence[position - 1],
            "wild_type": p_w,
            "mutant": p_m,
            "delta": round((p_m or 0.0) - (p_w or 0.0), 4),
        }
        changes.append(row)
        was, now = p_w is not None and p_w >= threshold, p_m is not None and p_m >= threshold
        if was and not now:
            reason = "no longer a candidate residue" if p_m is None else "below the threshold"
            lost.append({**_site(row, "wild_type_residue"), **_pair(p_w, p_m), "reason": reason})
        elif now and not was:
            reason = "a new candidate residue" if p_w is None else "above the threshold"
            gained.append({**_site(row, "mutant_residue"), **_pair(p_w, p_m), "reason": reason})
    return {"threshold": threshold, "lost": lost, "gained": gained, "changes": changes}


def _pair(wild_type: float | None, mutant: float | None) -> dict:
    return {"wild_type": wild_type, "mutant": mutant}


def _site(row: dict, residue_key: str) -> dict:
    residue = row[residue_key]
    return {
        "type": row["type"],
        "position": row["position"],
        "residue": residue,
        "site": f"{row['type']} {residue}{row['position']}",
    }


def contact_change(wild_type: Annotation, mutant: Annotation, cutoff: float = CONTACT_CHANGE) -> list[dict]:
    """Pairs (1-based, i < j) whose contact probability moved by more than `cutoff`, largest
    change first; probabilities rounded as `/contacts` rounds them."""
    if wild_type.contacts is None or mutant.contacts is None:
        return []
    before = np.round(np.asarray(wild_type.contacts, dtype=float), 3)
    after = np.round(np.asarray(mutant.contacts, dtype=float), 3)
    delta = np.triu(after - before, k=1)
    i, j = np.nonzero(np.abs(delta) > cutoff)
    order = np.argsort(-np.abs(delta[i, j]), kind="stable")
    return [
        {
            "i": int(i[k]) + 1,
            "j": int(j[k]) + 1,
            "wild_type": float(before[i[k], j[k]]),
            "mutant": float(after[i[k], j[k]]),
            "delta": round(float(delta[i[k], j[k]]), 3),
        }
        for k in order
    ]


def secondary_change(wild_type: Annotation, mutant: Annotation) -> dict:
    """Residues whose predicted three-state class (helix H, strand E, coil C) differs, as /secondary
    reports them for each sequence."""
    if wild_type.secondary is None or mutant.secondary is None:
        return {"note": "No secondary-structure head is loaded."}
    before, after = wild_type.secondary.ss3, mutant.secondary.ss3
    residues = [
        {
            "position": i + 1,
            "wild_type_residue": wild_type.sequence[i],
            "mutant_residue": mutant.sequence[i],
            "wild_type": b,
            "mutant": a,
        }
        for i, (b, a) in enumerate(zip(before, after))
        if b != a
    ]
    return {"residues": residues, "count": len(residues)}


def structure_change(wild_type: Structure, mutant: Structure) -> tuple[dict, Comparison]:
    """ΔpLDDT per residue and the Cα RMSD / TM-score of the mutant's model on the wild type's,
    residue by residue (a substitution keeps every position)."""
    from models.structure.compare import compare

    comparison = compare(
        mutant.ca, "".join(mutant.chains), wild_type.ca, "".join(wild_type.chains), pairing="sequence"
    )
    delta = np.asarray(mutant.plddt, dtype=float) - np.asarray(wild_type.plddt, dtype=float)
    return {
        "wild_type_mean_plddt": round(float(np.mean(wild_type.plddt)), 2),
        "mutant_mean_plddt": round(float(np.mean(mutant.plddt)), 2),
        "mean_delta_plddt": round(float(delta.mean()), 2),
        "delta_plddt": [round(float(x), 2) for x in delta],
        "ca_rmsd": round(comparison.rmsd, 3),
        "tm_score": round(comparison.tm_score_reference, 4),
    }, comparison


def mutate(
    studio,
    protein: Protein,
    variants_text: str,
    threshold: float = DEFAULT_THRESHOLD,
    fold: bool = True,
    max_folds: int = DEFAULT_MAX_VARIANT_FOLDS,
) -> MutationReport:
    """Every variant of `variants_text` against the wild type `protein`. Raises SequenceError
    for an unusable protein and VariantListError for an unusable list; a bad entry becomes an
    effect with its error and never stops the others.

    In a complex each variant changes one chain (B:F1A). The sequence predictors see each chain
    on its own, as `/ptm` and `/localization` do, so only that chain's numbers can move and
    they are reported in its own numbering; the fold is of the whole mutant complex."""
    chains = protein.per_chain()
    for _, chain in chains:
        studio.annotator.check(chain)
    checked = check_variants(variants_text, protein.chains)
    # Memoised: each wild-type chain is computed once, whatever the list holds.
    wild_types = {letter: a for (letter, _), a in zip(chains, studio.annotate_many([c for _, c in chains]))}
    valid = [v for v in checked if isinstance(v, Variant)]
    mutants = [Protein(_mutant_id(protein, v), (v.apply(_chain(protein, v)),)) for v in valid]
    annotations = dict(zip((v.label for v in valid), studio.annotate_many(mutants) if mutants else []))
    scores = _language_model_scores(studio, protein, valid)
    report = MutationReport(protein, wild_types, threshold, [])
    wild_structure = studio.folded(protein) if fold else None
    report.wild_type_structure = wild_structure
    folds_left = max_folds
    for entry in checked:
        if isinstance(entry, VariantError):
            report.effects.append(VariantEffect(entry.text, None, error=entry.message))
            continue
        mutant = annotations[entry.label]
        wild_type = wild_types[entry.chain or "A"]
        effect = VariantEffect(
            entry.text,
            entry,
            offset=_offset(protein, entry),
            localization=localization_change(wild_type, mutant),
            ptm=ptm_change(wild_type, mutant, threshold),
            contacts_changed=contact_change(wild_type, mutant),
            secondary_changed=secondary_change(wild_type, mutant),
            language_model=scores[entry.label],
        )
        if wild_structure is not None:
            if folds_left > 0:
                folds_left -= 1
                _fold_mutant(studio, effect, mutant_protein(protein, entry), wild_structure)
            else:
                effect.structure = {"unavailable": f"not folded: at most {max_folds} variants are folded"}
        report.effects.append(effect)
    if wild_structure is None and fold:
        report.notes.append("The wild type is not folded yet, so neither are the mutants (Predict folds it).")
    return report


def mutant_protein(protein: Protein, variant: Variant) -> Protein:
    """The whole mutant: every chain, the variant's own changed (what is folded)."""
    index = _chain_index(variant)
    chains = protein.chains[:index] + (variant.apply(protein.chains[index]),) + protein.chains[index + 1 :]
    return Protein(_mutant_id(protein, variant), chains)


def folded_variant(studio, protein: Protein, variant_text: str) -> tuple[VariantEffect, Structure] | None:
    """One variant in 3D as `mutate` left it: (its model and superposition on the wild type's,
    the wild type's model), from the fold memo or the result cache (never folds). None when
    either was not folded."""
    wild = studio.folded(protein)
    checked = check_variants(variant_text, protein.chains, max_variants=1)
    if wild is None or not isinstance(checked[0], Variant):
        return None
    variant = checked[0]
    mutant = studio.folded(mutant_protein(protein, variant))
    if mutant is None:
        return None
    effect = VariantEffect(variant_text, variant, offset=_offset(protein, variant), mutant_structure=mutant)
    effect.structure, effect.comparison = structure_change(wild, mutant)
    return effect, wild


def _offset(protein: Protein, variant: Variant) -> int:
    """Residues before the variant's chain, where its positions start in the complex's model."""
    return sum(len(c) for c in protein.chains[: _chain_index(variant)])


def _chain_index(variant: Variant) -> int:
    return CHAIN_LETTERS.index(variant.chain) if variant.chain else 0


def _chain(protein: Protein, variant: Variant) -> str:
    """The wild-type sequence of the chain the variant changes."""
    return protein.chains[_chain_index(variant)]


def _mutant_id(protein: Protein, variant: Variant) -> str:
    return f"{protein.id}_{variant.label.replace(':', '_')}"


def _fold_mutant(studio, effect: VariantEffect, mutant: Protein, wild_structure: Structure) -> None:
    try:
        structure = studio.fold(mutant)
        effect.structure, effect.comparison = structure_change(wild_structure, structure)
        effect.mutant_structure = structure
    except (FoldingUnavailable, FoldingOutOfMemory, SequenceError) as error:
        effect.structure = {"unavailable": str(error)}
    except Exception:  # noqa: BLE001 - one failed fold leaves the other differences standing
        log.exception("Folding %s failed", mutant.id)
        effect.structure = {"unavailable": "the fold failed unexpectedly; the error was logged on the server"}


def _language_model_scores(studio, protein: Protein, variants: list[Variant]) -> dict[str, dict]:
    """Each variant's masked-marginal score on its chain (one pass per distinct position of each
    chain), or why there is none."""
    if not variants:
        return {}
    lm = studio.language_model
    rows: dict[tuple[str | None, int], np.ndarray] = {}  # (chain, position) -> 20 log-ratios
    try:
        for chain in dict.fromkeys(v.chain for v in variants):
            mine = [v for v in variants if v.chain == chain]
            positions = sorted({s.position for v in mine for s in v.substitutions})
            matrix = lm.masked_marginals(_chain(protein, mine[0]), positions)
            rows.update({(chain, p): matrix[i] for i, p in enumerate(positions)})
    except LanguageModelUnavailable as error:
        return {v.label: {"unavailable": str(error)} for v in variants}

    def score(v: Variant) -> float:
        return sum(rows[v.chain, s.position][STANDARD_AMINO_ACIDS.index(s.mutant)] for s in v.substitutions)

    return {v.label: {"score": round(float(score(v)), 4), "model": lm.spec} for v in variants}


# variant_effects.csv (predict.py --variants) and the Mutations tab's download: one row per entry.
EFFECT_COLUMNS = (
    "id",
    "variant",
    "status",
    "error",
    "top_localization_wild_type",
    "top_localization_mutant",
    "top_localization_changed",
    "top_class_delta",
    "membrane_wild_type",
    "membrane_mutant",
    "membrane_delta",
    "max_abs_localization_delta",
    "ptm_sites_lost",
    "ptm_sites_gained",
    "max_abs_ptm_delta",
    "contacts_changed",
    "secondary_changed",
    "lm_score",
    "mean_delta_plddt",
    "ca_rmsd",
    "tm_score",
)


def effects_csv(rows: list[dict]) -> str:
    """variant_effects.csv's text from `effect_row` rows (the CLI's file and the tab's download)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EFFECT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def effect_row(record_id: str, effect: dict) -> dict:
    """One CSV row from a variant's JSON (`VariantEffect.to_json()`): the main differences; empty
    cells where a predictor gave nothing (an error, no LM, no fold)."""
    row = dict.fromkeys(EFFECT_COLUMNS, "")
    row.update(id=record_id, variant=effect["variant"], status=effect["status"])
    row["error"] = effect.get("error") or ""
    if effect["status"] != "ok":
        return row
    loc = effect["localization"]
    if "top_class" in loc:
        row.update(
            top_localization_wild_type=loc["top_class"]["wild_type"],
            top_localization_mutant=loc["top_class"]["mutant"],
            top_localization_changed=str(loc["top_class"]["changed"]).lower(),
            top_class_delta=loc["top_class"]["delta"],
            membrane_wild_type=loc["membrane"]["wild_type"],
            membrane_mutant=loc["membrane"]["mutant"],
            membrane_delta=loc["membrane"]["delta"],
            max_abs_localization_delta=max(abs(d) for d in loc["delta"].values()),
        )
    ptm = effect["ptm"]
    row["ptm_sites_lost"] = ";".join(s["site"] for s in ptm["lost"])
    row["ptm_sites_gained"] = ";".join(s["site"] for s in ptm["gained"])
    row["max_abs_ptm_delta"] = max((abs(c["delta"]) for c in ptm["changes"]), default=0.0)
    row["contacts_changed"] = len(effect["contacts_changed"])
    changed = effect.get("secondary_changed", {}).get("residues", [])
    row["secondary_changed"] = ";".join(f"{r['position']}{r['wild_type']}>{r['mutant']}" for r in changed)
    row["lm_score"] = effect["language_model"].get("score", "")
    structure = effect.get("structure") or {}
    for key in ("mean_delta_plddt", "ca_rmsd", "tm_score"):
        row[key] = structure.get(key, "")
    return row
