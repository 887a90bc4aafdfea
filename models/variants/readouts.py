"""What a site-saturation scan can read out, named as users read them (pure Python: the page
offers the choices without importing torch).

- "<PTM type> <residue><position>" (e.g. "SUMOylation K29"): that site's probability. A mutant
  that replaces the site's own residue has no such site: it counts as 0.
- "membrane probability", "localization: <class>": from the localization head.
- `LM_READOUT`: the masked language model's log-likelihood ratio (models/variants/language_model.py).

In a complex a readout names the chain it scans, as variants do: "B: SUMOylation K29",
"B: membrane probability"; positions count within that chain, which is scanned on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.analysis.head_cards import HeadCards
from models.shared.sequences import CHAIN_LETTERS, describe_chains

LM_READOUT = "language model (log-likelihood ratio)"
MEMBRANE_READOUT = "membrane probability"
CLASS_PREFIX = "localization: "
_SITE = re.compile(r"^(?P<type>.+?)\s+(?P<residue>[A-Za-z])(?P<position>\d+)$")
_CHAIN = re.compile(r"^\s*(?:chain\s+)?(?P<chain>[A-Za-z])\s*:\s*(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)


class ScanError(ValueError):
    """A scan request that cannot be run as asked; the message says what to change."""


@dataclass(frozen=True)
class Readout:
    name: str
    kind: str  # "site", "membrane", "class" or "lm"
    ptm_type: str = ""
    position: int = 0  # 1-based, for a site
    class_name: str = ""


def split_chain(text: str | None) -> tuple[str | None, str]:
    """("B", "SUMOylation K29") from "B: SUMOylation K29" (or "chain B: …"); (None, text) without."""
    match = _CHAIN.match(str(text or ""))
    if match is None:
        return None, str(text or "")
    return match["chain"].upper(), match["rest"]


def readout_chain(text: str | None, chains: tuple[str, ...], protein_id: str) -> tuple[int, str]:
    """(index of the chain a readout scans, the readout without its chain). A one-chain protein
    needs no prefix (and takes "A:"); a complex's readout must name one of its chains."""
    letter, rest = split_chain(text)
    if letter is None and len(chains) == 1:
        return 0, rest
    letters = CHAIN_LETTERS[: len(chains)]
    named = describe_chains(chains)
    if letter is None:
        raise ScanError(
            f"'{protein_id}' has chains {named}: name the one to scan in the readout, "
            f"e.g. '{letters[-1]}: {text}'."
        )
    if letter not in letters:
        raise ScanError(f"There is no chain {letter}: '{protein_id}' has chains {named}.")
    return letters.index(letter), rest


def readout_choices(chains: str | tuple[str, ...], cards: HeadCards) -> list[str]:
    """Every readout this sequence offers: each candidate site of each loaded PTM type, the
    membrane probability, each localization class, the language model; a complex's, chain by
    chain, each prefixed with its letter ("B: membrane probability")."""
    if isinstance(chains, str) or len(chains) == 1:
        return _choices(chains if isinstance(chains, str) else chains[0], cards)
    return [f"{letter}: {c}" for letter, chain in zip(CHAIN_LETTERS, chains) for c in _choices(chain, cards)]


def _choices(sequence: str, cards: HeadCards) -> list[str]:
    choices = [
        f"{card.ptm_type} {aa}{i}"
        for card in cards.sites
        for i, aa in enumerate(sequence, start=1)
        if aa in card.residues
    ]
    if cards.localization is not None:
        choices.append(MEMBRANE_READOUT)
        choices += [CLASS_PREFIX + c for c in cards.localization.card["config"]["classes"]]
    return [*choices, LM_READOUT]


def parse_readout(text: str, sequence: str, cards: HeadCards) -> Readout:
    """The readout a user named, checked against the sequence and the loaded heads."""
    name = " ".join(str(text or "").split())
    if not name:
        raise ScanError(f"Choose a readout, e.g. '{MEMBRANE_READOUT}' or a PTM site like 'SUMOylation K29'.")
    if name.lower() == LM_READOUT.lower() or name.lower() in ("language model", "lm"):
        return Readout(LM_READOUT, "lm")
    localization = cards.localization
    if name.lower() in (MEMBRANE_READOUT, "membrane"):
        if localization is None:
            raise ScanError("No localization head is loaded, so there is no membrane probability to scan.")
        return Readout(MEMBRANE_READOUT, "membrane")
    if name.lower().startswith(CLASS_PREFIX):
        if localization is None:
            raise ScanError("No localization head is loaded, so there is no localization class to scan.")
        classes = localization.card["config"]["classes"]
        wanted = name[len(CLASS_PREFIX) :].strip()
        match = next((c for c in classes if c.lower() == wanted.lower()), None)
        if match is None:
            raise ScanError(f"'{wanted}' is not a localization class; the classes are: {', '.join(classes)}.")
        return Readout(CLASS_PREFIX + match, "class", class_name=match)
    site = _SITE.match(name)
    types = {card.ptm_type.lower(): card for card in cards.sites}
    if site and site["type"].lower() in types:
        card = types[site["type"].lower()]
        residue, position = site["residue"].upper(), int(site["position"])
        if not 1 <= position <= len(sequence):
            raise ScanError(f"{name}: position {position} is outside the sequence (1-{len(sequence)}).")
        if sequence[position - 1] != residue:
            raise ScanError(f"{name}: residue {position} is {sequence[position - 1]}, not {residue}.")
        if residue not in card.residues:
            where = ", ".join(card.residues)
            raise ScanError(f"{name}: {card.ptm_type} is predicted at {where}, not at {residue}.")
        label = f"{card.ptm_type} {residue}{position}"
        return Readout(label, "site", ptm_type=card.ptm_type, position=position)
    known = ", ".join(card.ptm_type for card in cards.sites) or "none loaded"
    raise ScanError(
        f"'{name}' is not a readout. Use a PTM site as '<type> <residue><position>' (types: {known}), "
        f"'{MEMBRANE_READOUT}', '{CLASS_PREFIX}<class>' or '{LM_READOUT}'."
    )
