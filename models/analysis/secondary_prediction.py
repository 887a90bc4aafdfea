"""Secondary structure and accessibility predicted from the sequence (NumPy only: the page's
plots and the API read it without torch).

Eight DSSP classes (H α-helix, G 3₁₀-helix, I π-helix, E strand, B bridge, T turn, S bend,
C other), reduced to three the usual way (ProtTrans, NetSurfP): H G I -> H, E B -> E, rest -> C.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EIGHT = "HGIEBTSC"
THREE = "HEC"
TO_THREE = {"H": "H", "G": "H", "I": "H", "E": "E", "B": "E"}
EIGHT_NAMES = {
    "H": "α-helix", "G": "3₁₀-helix", "I": "π-helix", "E": "strand", "B": "bridge",
    "T": "turn", "S": "bend", "C": "other",
}  # fmt: skip
THREE_NAMES = {"H": "helix", "E": "strand", "C": "coil"}
BURIED_BELOW = 0.25  # RSA under which a residue counts as buried (the usual two-state cut)
# Column j of the 8-state probabilities adds to three-state column THREE_OF[j].
THREE_OF = np.array([THREE.index(TO_THREE.get(letter, "C")) for letter in EIGHT])


def to_three(ss8: str) -> str:
    return "".join(TO_THREE.get(letter, "C") for letter in ss8)


def three_probabilities(probabilities8: np.ndarray) -> np.ndarray:
    """(L, 8) -> (L, 3): each three-state class is the sum of its DSSP classes."""
    out = np.zeros((len(probabilities8), len(THREE)), np.float32)
    np.add.at(out.T, THREE_OF, np.asarray(probabilities8, np.float32).T)
    return out


@dataclass(frozen=True)
class SecondaryPrediction:
    probabilities: np.ndarray  # (L, 8) in EIGHT's order, rows sum to 1
    rsa: np.ndarray  # (L,) relative solvent accessibility, 0..1

    @property
    def ss8(self) -> str:
        return "".join(EIGHT[i] for i in np.argmax(self.probabilities, axis=1))

    @property
    def probabilities3(self) -> np.ndarray:
        return three_probabilities(self.probabilities)

    @property
    def ss3(self) -> str:
        """Three-state by the most probable three-state class (summed), which can differ from
        reducing ss8: 0.3 H + 0.3 G beat 0.4 C."""
        return "".join(THREE[i] for i in np.argmax(self.probabilities3, axis=1))

    def json(self, chain: str) -> dict:
        return {
            "chain": chain,
            "ss8": self.ss8,
            "ss3": self.ss3,
            "rsa": [round(float(x), 3) for x in self.rsa],
            "probabilities": {
                **{c: [round(float(x), 3) for x in self.probabilities[:, j]] for j, c in enumerate(EIGHT)},
            },
        }


CSV_HEADER = ("chain", "position", "residue", "ss3", "ss8", "rsa", *(f"p_{c}" for c in EIGHT))


def csv_text(chains: list[tuple[str, str, SecondaryPrediction]]) -> str:
    """One protein's CSV (CSV_HEADER): a row per residue of each (letter, sequence, prediction)."""
    lines = [",".join(CSV_HEADER)]
    for letter, sequence, p in chains:
        ss3, ss8 = p.ss3, p.ss8
        for i, aa in enumerate(sequence):
            values = [f"{float(p.rsa[i]):.3f}", *(f"{float(x):.3f}" for x in p.probabilities[i])]
            lines.append(",".join([letter, str(i + 1), aa, ss3[i], ss8[i], *values]))
    return "\n".join(lines) + "\n"


def agreement(predicted: str, observed: str) -> float | None:
    """Fraction of residues with the same letter (three-state strings of one length); None when
    nothing can be compared."""
    pairs = [(p, o) for p, o in zip(predicted, observed) if o in THREE]
    if not pairs or len(predicted) != len(observed):
        return None
    return sum(p == o for p, o in pairs) / len(pairs)
