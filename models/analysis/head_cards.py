"""Which trained heads are installed: the model cards found in the head folders (pure Python).

Every `*.json` card in a head folder (`--heads`, repeatable) declares its `kind`. A site head
(kind `site` or `site_ensemble`) adds one PTM type, named by its config's `ptm_type`, at the
residues in its config's `residues`; a `localization` head answers per protein; a `secondary`
head gives every residue its DSSP class and relative accessibility (at most one of each). Reading the
cards needs no torch, so the page can name its PTM types and a clash stops the app at start-up,
before any model loads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SITE_KINDS = ("site", "site_ensemble")
PROTEIN_KINDS = ("localization",)
RESIDUE_KINDS = ("secondary",)
KINDS = SITE_KINDS + PROTEIN_KINDS + RESIDUE_KINDS
ONE_ONLY = {"localization": "localization", "secondary": "secondary-structure"}


class HeadCardError(ValueError):
    """The head folders cannot be used as they are (two heads of one name, an unknown kind)."""


@dataclass(frozen=True)
class HeadCard:
    path: Path  # the JSON card; its weights lie beside it
    card: dict

    @property
    def name(self) -> str:
        return self.card.get("name") or self.path.stem

    @property
    def kind(self) -> str:
        return self.card["kind"]

    @property
    def is_site(self) -> bool:
        return self.kind in SITE_KINDS

    @property
    def ptm_type(self) -> str:
        """The PTM type a site head predicts, as users read it (e.g. "SUMOylation")."""
        return self.card["config"].get("ptm_type") or self.name

    @property
    def residues(self) -> str:
        return self.card["config"].get("residues", "")

    @property
    def weights(self) -> Path:
        return self.path.parent / self.card["weights"]

    @property
    def backbone_id(self) -> str:
        return str(self.card.get("backbone", {}).get("id", "an unknown backbone"))

    @property
    def threshold(self) -> float:
        """The probability from which the page calls a site by default: the card's calibrated
        threshold (chosen on validation data), or 0.5 for cards without one."""
        return float((self.card.get("threshold") or {}).get("value", 0.5))

    @property
    def data_licence(self) -> str | None:
        """A restriction the training data puts on use (e.g. non-commercial), or None."""
        return self.card.get("data_licence")

    @property
    def test_metrics(self) -> dict:
        """The card's final test-set metrics: {split: {"roc_auc": …, …}} (empty if none)."""
        return self.card.get("metrics", {}).get("final", {})


@dataclass(frozen=True)
class HeadCards:
    """The cards of every installed head, in folder order then file name order."""

    folders: tuple[Path, ...]
    cards: tuple[HeadCard, ...]

    @property
    def sites(self) -> tuple[HeadCard, ...]:
        return tuple(c for c in self.cards if c.is_site)

    @property
    def localization(self) -> HeadCard | None:
        return next((c for c in self.cards if c.kind == "localization"), None)

    @property
    def secondary(self) -> HeadCard | None:
        return next((c for c in self.cards if c.kind == "secondary"), None)

    @property
    def ptm_types(self) -> list[str]:
        return [c.ptm_type for c in self.sites]

    def problem(self) -> str | None:
        """Why no analysis can run with these folders, in words; None when it can."""
        missing = [str(f) for f in self.folders if not f.is_dir()]
        if missing:
            return f"No head folder at {', '.join(missing)}. Check --heads / PROTEIN_STUDIO_HEADS."
        if not self.cards:
            folders = ", ".join(str(f) for f in self.folders)
            return (
                f"No trained heads in {folders}. Point --heads at a folder of head cards "
                "(the shipped ones are in assets/heads), or train one with `python -m training site-head`."
            )
        for card in self.cards:
            if not card.weights.is_file():
                return f"The {card.name} head's weights are missing: {card.weights} (named in {card.path})."
        return None


def split_head_folders(value: str | list | tuple | None) -> list[Path]:
    """Folders from repeated --heads values, each of which may hold several paths joined by ':'."""
    if value is None:
        return []
    values = [value] if isinstance(value, str | Path) else list(value)
    return [Path(part) for v in values for part in str(v).split(":") if part.strip()]


def read_head_cards(folders: list[Path] | tuple[Path, ...]) -> HeadCards:
    """Every head card in these folders. Raises HeadCardError for a clash the user must fix:
    two heads of the same name or PTM type, an unknown kind, a card that is not valid JSON."""
    folders = tuple(dict.fromkeys(Path(f).resolve() for f in folders))
    found: list[HeadCard] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            try:
                card = json.loads(path.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                raise HeadCardError(f"Head card {path} cannot be read: {error}") from None
            if not isinstance(card, dict) or "kind" not in card or "weights" not in card:
                continue  # not a head card (any other JSON may share the folder)
            if card["kind"] not in KINDS:
                raise HeadCardError(
                    f"Head card {path} has kind '{card['kind']}'; known kinds: {', '.join(KINDS)}."
                )
            found.append(HeadCard(path, card))
    _refuse_clashes(found)
    return HeadCards(folders, tuple(found))


def _refuse_clashes(cards: list[HeadCard]) -> None:
    for what, key in (("name", lambda c: c.name), ("PTM type", lambda c: c.ptm_type if c.is_site else None)):
        seen: dict[str, HeadCard] = {}
        for card in cards:
            value = key(card)
            if value is None:
                continue
            if value.lower() in seen:
                raise HeadCardError(
                    f"Two heads claim the {what} '{value}': {seen[value.lower()].path} and {card.path}. "
                    "Rename one (train it again with another --name) or leave one folder out of --heads."
                )
            seen[value.lower()] = card
    for kind, words in ONE_ONLY.items():
        same = [c for c in cards if c.kind == kind]
        if len(same) > 1:
            raise HeadCardError(
                f"More than one {words} head: "
                + ", ".join(str(c.path) for c in same)
                + f". Keep one folder with a {words} head in --heads."
            )
