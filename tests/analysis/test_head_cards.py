"""Which heads are installed: cards found in the --heads folders, clashes refused, flags parsed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from models.analysis.head_cards import HeadCardError, read_head_cards, split_head_folders
from models.shared.settings import HEADS_DIR, add_model_arguments


def _card(folder: Path, stem: str, kind: str = "site_ensemble", ptm_type: str = "Phospho", residues="ST"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.safetensors").write_bytes(b"")
    card = {"kind": kind, "name": stem, "weights": f"{stem}.safetensors", "backbone": {"id": "esm"}}
    card["config"] = {"ptm_type": ptm_type, "residues": residues, "dim": 320}
    (folder / f"{stem}.json").write_text(json.dumps(card))


def test_the_shipped_folder_holds_sumo_and_localization():
    cards = read_head_cards([HEADS_DIR])
    shipped = {"SUMOylation": "K", "Phosphorylation (S/T)": "ST", "Phosphorylation (Y)": "Y",
               "N-glycosylation": "N", "O-glycosylation": "ST", "Ubiquitination": "K", "Acetylation": "K",
               "Methylation (R)": "R", "Methylation (K)": "K"}  # fmt: skip
    assert {c.ptm_type: c.residues for c in cards.sites} == shipped
    assert cards.localization is not None and cards.localization.name == "localization"
    assert cards.problem() is None


def test_site_heads_from_several_folders_add_ptm_types_in_order(tmp_path):
    _card(tmp_path / "mine", "phospho", ptm_type="Phosphorylation", residues="STY")
    (tmp_path / "mine" / "notes.json").write_text('{"not": "a card"}')  # other JSON is left alone
    shipped = read_head_cards([HEADS_DIR])
    cards = read_head_cards([HEADS_DIR, tmp_path / "mine"])
    assert cards.ptm_types == [*shipped.ptm_types, "Phosphorylation"]
    assert [c.residues for c in cards.sites] == [*(c.residues for c in shipped.sites), "STY"]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ({"stem": "ptm_sumo", "ptm_type": "Other"}, "Two heads claim the name 'ptm_sumo'"),
        ({"stem": "sumo2", "ptm_type": "sumoylation"}, "Two heads claim the PTM type 'sumoylation'"),
        ({"stem": "loc2", "kind": "localization"}, "More than one localization head"),
        ({"stem": "odd", "kind": "secondary_structure"}, "has kind 'secondary_structure'; known kinds"),
    ],
)
def test_clashes_and_unknown_kinds_are_refused_naming_both_files(tmp_path, second, message):
    _card(tmp_path / "b", **second)
    with pytest.raises(HeadCardError, match=message) as error:
        read_head_cards([HEADS_DIR, tmp_path / "b"])
    assert str(tmp_path / "b") in str(error.value)


def test_problems_name_the_folder_or_the_missing_weights(tmp_path):
    assert "No head folder at" in read_head_cards([tmp_path / "absent"]).problem()
    assert "No trained heads in" in read_head_cards([tmp_path]).problem()
    _card(tmp_path / "w", "phospho")
    (tmp_path / "w" / "phospho.safetensors").unlink()
    assert "weights are missing" in read_head_cards([tmp_path / "w"]).problem()


def test_heads_flag_repeats_and_its_environment_variable_splits_on_colons(monkeypatch):
    def parse(argv):
        parser = argparse.ArgumentParser()
        add_model_arguments(parser)
        return parser.parse_args(argv).heads

    monkeypatch.delenv("PROTEIN_STUDIO_HEADS", raising=False)
    assert parse([]) == [str(HEADS_DIR)]
    assert parse(["--heads", "a", "--heads", "b"]) == ["a", "b"]  # replaces the default
    monkeypatch.setenv("PROTEIN_STUDIO_HEADS", "x:y")
    assert parse([]) == ["x", "y"]
    assert split_head_folders(["a:b", "c"]) == [Path("a"), Path("b"), Path("c")]
