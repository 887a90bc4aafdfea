"""Site-saturation scan: every single substitution over a range of positions, one readout each
(models/variants/readouts.py names them).

Each cell is mutant − wild type (the wild-type cell is 0). Head readouts run every mutant
through the backbone (contacts off: SDPA attention) in equal-length batches, which need no
padding; only the readout's head is applied, and each batch's states are dropped at once
(19 × 200 mutants' states of every layer would take gigabytes).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from models.analysis.annotation import MEMBRANE_WORD, Annotator
from models.shared.sequences import STANDARD_AMINO_ACIDS, Protein
from models.variants.readouts import Readout, ScanError, parse_readout, readout_chain

DEFAULT_MAX_SCAN_POSITIONS = 200
# Equal-length mutants batch without padding; on 2 cores 4 x 300 residues per forward ran at
# 6,400 residues/s against 5,500 one at a time (DESIGN: token-budget batching).
SCAN_TOKEN_BUDGET = 1300
MUTANTS_PER_CHUNK = 32  # mutants whose states are held at once


@dataclass
class ScanResult:
    protein_id: str
    readout: str
    positions: list[int]
    wild_type: str  # the wild-type residue at each position
    scores: np.ndarray  # (positions, 20): mutant − wild type, columns STANDARD_AMINO_ACIDS
    wild_type_value: float | None  # the readout on the wild type (None for the LM: a ratio)
    seconds: float = 0.0
    mutants: int = 0

    def to_json(self) -> dict:
        return {
            "readout": self.readout,
            "positions": self.positions,
            "wild_type": self.wild_type,
            "amino_acids": STANDARD_AMINO_ACIDS,
            "scores": [[round(float(x), 4) for x in row] for row in self.scores],
            "wild_type_value": None if self.wild_type_value is None else round(self.wild_type_value, 4),
        }

    def to_csv(self) -> str:
        """position, wild_type, mutant, score: one row per cell (the wild-type cells included)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["position", "wild_type", "mutant", "score"])
        for position, wt, row in zip(self.positions, self.wild_type, self.scores):
            for aa, score in zip(STANDARD_AMINO_ACIDS, row):
                writer.writerow([position, wt, aa, f"{score:.4f}"])
        return out.getvalue()


def check_range(first, last, length: int, max_positions: int) -> list[int]:
    """The 1-based positions first..last, or a ScanError naming the bound that is crossed."""
    try:
        first, last = int(first), int(last)
    except (TypeError, ValueError):
        raise ScanError(f"First and last position must be whole numbers, not {first!r}, {last!r}.") from None
    if first < 1 or last > length:
        raise ScanError(f"Positions {first}-{last} are outside the sequence: choose them within 1-{length}.")
    if first > last:
        raise ScanError(f"The first position ({first}) is after the last ({last}).")
    count = last - first + 1
    if count > max_positions:
        raise ScanError(
            f"Positions {first}-{last} are {count} positions; a scan takes at most {max_positions} "
            "(raise it with --max-scan-positions or MAX_SCAN_POSITIONS)."
        )
    return list(range(first, last + 1))


def mutants_of(sequence: str, positions: list[int]) -> list[tuple[int, int, str]]:
    """(row, column, mutant sequence) of every single substitution at `positions`."""
    out = []
    for row, position in enumerate(positions):
        for column, aa in enumerate(STANDARD_AMINO_ACIDS):
            if aa != sequence[position - 1]:
                out.append((row, column, sequence[: position - 1] + aa + sequence[position:]))
    return out


def scan(
    studio,
    protein: Protein,
    readout_text: str,
    first,
    last,
    max_positions: int = DEFAULT_MAX_SCAN_POSITIONS,
    progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """Every single substitution at positions first..last, scored by the readout. In a complex
    the readout names a chain ("B: membrane probability"), which is scanned on its own, as the
    predictors see it. Raises ScanError / SequenceError with a message, LanguageModelUnavailable
    or BackboneUnavailable when the readout's model cannot load."""
    index, readout_text = readout_chain(readout_text, protein.chains, protein.id)
    if len(protein.chains) > 1:  # that chain, on its own, named in the result
        letter, chain = protein.per_chain()[index]
        result = scan(studio, chain, readout_text, first, last, max_positions, progress)
        return replace(result, protein_id=protein.id, readout=f"{letter}: {result.readout}")
    annotator: Annotator = studio.annotator
    annotator.check(protein)
    sequence = protein.sequence
    readout = parse_readout(readout_text, sequence, annotator.head_cards)
    positions = check_range(first, last, len(sequence), max_positions)
    started = time.perf_counter()
    cells = mutants_of(sequence, positions)
    scores = np.zeros((len(positions), len(STANDARD_AMINO_ACIDS)), dtype=np.float64)
    if readout.kind == "lm":
        scores[:] = studio.language_model.masked_marginals(sequence, positions, progress)
        wild_value = None
    else:
        value = _head_readout(annotator, readout)
        wild_value = value(annotator.backbone.run([sequence], contacts=False)[0], sequence)
        for start in range(0, len(cells), MUTANTS_PER_CHUNK):
            chunk = cells[start : start + MUTANTS_PER_CHUNK]
            sequences = [s for *_, s in chunk]
            outputs = annotator.backbone.run(sequences, contacts=False, token_budget=_budget(studio))
            for (row, column, mutant), output in zip(chunk, outputs):
                scores[row, column] = value(output, mutant) - wild_value
            if progress is not None:
                progress(start + len(chunk), len(cells))
    wild_type = "".join(sequence[p - 1] for p in positions)
    return ScanResult(
        protein.id, readout.name, positions, wild_type, scores, wild_value,
        seconds=time.perf_counter() - started, mutants=len(cells),
    )  # fmt: skip


def _budget(studio) -> int | None:
    """Token budget for equal-length mutants: the CPU value measured here, the GPU default there."""
    return SCAN_TOKEN_BUDGET if studio.annotator.backbone.device.type == "cpu" else None


def _head_readout(annotator: Annotator, readout: Readout) -> Callable:
    """value(backbone output, sequence) -> float, applying only the head the readout needs, the
    same way `Annotator` applies it."""
    heads = annotator.heads()
    if readout.kind == "site":
        head = next(h for h in heads.sites if h.card.ptm_type == readout.ptm_type)
        index = readout.position - 1

        def site(output, sequence: str) -> float:
            if sequence[index] not in head.card.residues:
                return 0.0  # the substitution removed the candidate residue itself
            return float(head.module.predict(output.hidden, [index])[0])

        return site
    localization = heads.localization

    def probabilities(output) -> dict[str, float]:
        return Annotator._localize(output, localization)[0]

    if readout.kind == "membrane":
        membrane = lambda output: probabilities(output).items()  # noqa: E731
        return lambda output, _: sum(p for c, p in membrane(output) if MEMBRANE_WORD in c.split(";"))
    return lambda output, _: probabilities(output)[readout.class_name]
