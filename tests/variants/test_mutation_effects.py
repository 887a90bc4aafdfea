"""The difference rules of models/variants/effects.py and the readouts of models/variants/readouts.py, on
annotations built by hand (every case named, no model), plus the wild type computed once."""

from __future__ import annotations

import numpy as np
import pytest

from models.analysis.annotation import Annotation, Site
from models.analysis.head_cards import read_head_cards
from models.shared.sequences import STANDARD_AMINO_ACIDS, Protein
from models.shared.settings import HEADS_DIR
from models.variants.effects import (
    EFFECT_COLUMNS,
    contact_change,
    effect_row,
    localization_change,
    ptm_change,
)
from models.variants.readouts import (
    LM_READOUT,
    MEMBRANE_READOUT,
    ScanError,
    parse_readout,
    readout_choices,
    split_chain,
)
from models.variants.scan import check_range, mutants_of
from tests.conftest import UBIQUITIN

TYPES = [("SUMOylation", "K")]


def annotation(sequence: str, sites: dict[int, float], loc=None, contacts=None) -> Annotation:
    return Annotation(
        id="x",
        sequence=sequence,
        sites=[Site(p, sequence[p - 1], "SUMOylation", x) for p, x in sorted(sites.items())],
        localization=loc or {"Cytoplasm": 0.6, "Nucleus": 0.3, "Cell_Membrane;Membrane": 0.1},
        contacts=contacts,
        ptm_types=TYPES,
    )


def test_sites_lost_and_gained_by_threshold_and_by_residue():
    wild = annotation("MKAKAKAR", {2: 0.7, 4: 0.4, 6: 0.55})
    # K2 falls below, K4 rises above, K6 -> A is no longer a candidate, R8 -> K is a new one.
    mutant = annotation("MKAKAAAK", {2: 0.45, 4: 0.6, 8: 0.9})
    change = ptm_change(wild, mutant, 0.5)
    assert [(s["site"], s["reason"]) for s in change["lost"]] == [
        ("SUMOylation K2", "below the threshold"),
        ("SUMOylation K6", "no longer a candidate residue"),
    ]
    assert [(s["site"], s["reason"]) for s in change["gained"]] == [
        ("SUMOylation K4", "above the threshold"),
        ("SUMOylation K8", "a new candidate residue"),
    ]
    by_position = {c["position"]: c for c in change["changes"]}
    assert by_position[6] == {
        "type": "SUMOylation", "position": 6, "wild_type_residue": "K", "mutant_residue": "A",
        "wild_type": 0.55, "mutant": None, "delta": -0.55,
    }  # fmt: skip
    assert by_position[8]["wild_type"] is None and by_position[8]["delta"] == 0.9
    assert by_position[2]["delta"] == pytest.approx(-0.25)


def test_a_site_exactly_at_the_threshold_counts():
    wild, mutant = annotation("MKA", {2: 0.5}), annotation("MKA", {2: 0.49})
    assert [s["position"] for s in ptm_change(wild, mutant, 0.5)["lost"]] == [2]
    assert ptm_change(mutant, wild, 0.5)["gained"][0]["position"] == 2


def test_localization_change_names_the_top_class_and_membrane_shift():
    wild = annotation("MKA", {})
    mutant = annotation("MKA", {}, loc={"Cytoplasm": 0.3, "Nucleus": 0.5, "Cell_Membrane;Membrane": 0.2})
    change = localization_change(wild, mutant)
    assert change["top_class"] == {
        "wild_type": "Cytoplasm",
        "mutant": "Nucleus",
        "changed": True,
        "delta": -0.3,
    }
    assert change["membrane"] == {"wild_type": 0.1, "mutant": 0.2, "delta": 0.1}
    assert change["delta"] == {"Cytoplasm": -0.3, "Nucleus": 0.2, "Cell_Membrane;Membrane": 0.1}


def test_contacts_that_move_more_than_the_cutoff_largest_first():
    before = np.zeros((4, 4))
    after = before.copy()
    after[0, 3] = after[3, 0] = 0.9  # +0.9
    after[1, 2] = after[2, 1] = 0.25  # +0.25
    after[0, 1] = after[1, 0] = 0.2  # exactly the cutoff: not "more than"
    pairs = contact_change(annotation("MKAK", {}, contacts=before), annotation("MKAK", {}, contacts=after))
    assert [(p["i"], p["j"], p["delta"]) for p in pairs] == [(1, 4, 0.9), (2, 3, 0.25)]


def test_effect_row_has_every_column_and_the_main_differences():
    wild = annotation("MKAKAKAR", {2: 0.7})
    mutant = annotation("MRAKAKAR", {}, loc={"Cytoplasm": 0.2, "Nucleus": 0.7, "Cell_Membrane;Membrane": 0.1})
    effect = {
        "variant": "K2R", "status": "ok", "error": None,
        "localization": localization_change(wild, mutant), "ptm": ptm_change(wild, mutant, 0.5),
        "contacts_changed": [], "language_model": {"score": -1.5}, "structure": None,
    }  # fmt: skip
    row = effect_row("p1", effect)
    assert tuple(row) == EFFECT_COLUMNS
    assert row["ptm_sites_lost"] == "SUMOylation K2" and row["top_localization_changed"] == "true"
    assert row["max_abs_localization_delta"] == pytest.approx(0.4) and row["lm_score"] == -1.5
    assert row["ca_rmsd"] == "" and row["error"] == ""
    failed = effect_row("p1", {"variant": "E2R", "status": "error", "error": "E2R: residue 2 is K, not E."})
    assert failed["status"] == "error" and failed["error"].startswith("E2R") and failed["lm_score"] == ""


CARDS = read_head_cards([HEADS_DIR])


def test_readout_choices_offer_every_lysine_the_classes_and_the_language_model():
    choices = readout_choices(UBIQUITIN, CARDS)
    lysines = [i for i, aa in enumerate(UBIQUITIN, start=1) if aa == "K"]
    assert [c for c in choices if c.startswith("SUMOylation ")] == [f"SUMOylation K{i}" for i in lysines]
    for card in CARDS.sites:  # every type's candidates, with no code per type
        offered = [c for c in choices if c.rsplit(" ", 1)[0] == card.ptm_type]
        assert len(offered) == sum(aa in card.residues for aa in UBIQUITIN)
    assert MEMBRANE_READOUT in choices and choices[-1] == LM_READOUT
    assert "localization: Nucleus" in choices
    for choice in choices:  # every offered readout parses back to itself
        assert parse_readout(choice, UBIQUITIN, CARDS).name == choice


def test_a_complex_offers_each_chains_readouts_under_its_letter():
    a, b = "GIVEQCCTSICSLYQLENYCN", "FVNQHLCGSHLVEALYLVCGERGFFYTPKT"  # insulin: B has K29
    choices = readout_choices((a, b), CARDS)
    assert choices == [f"A: {c}" for c in readout_choices(a, CARDS)] + [
        f"B: {c}" for c in readout_choices(b, CARDS)
    ]
    assert "B: SUMOylation K29" in choices and "A: SUMOylation K29" not in choices
    assert split_chain("chain b : membrane probability") == ("B", "membrane probability")
    assert split_chain("localization: Nucleus") == (None, "localization: Nucleus")  # not a chain


def test_readouts_are_read_case_and_space_insensitively():
    assert parse_readout("  sumoylation   k29 ", UBIQUITIN, CARDS).name == "SUMOylation K29"
    assert parse_readout("localization: nucleus", UBIQUITIN, CARDS).class_name == "Nucleus"
    assert parse_readout("Membrane", UBIQUITIN, CARDS).kind == "membrane"
    with pytest.raises(ScanError, match="SUMOylation is predicted at K, not at Q"):
        parse_readout("SUMOylation Q2", UBIQUITIN, CARDS)
    with pytest.raises(ScanError, match="position 99 is outside the sequence"):
        parse_readout("SUMOylation K99", UBIQUITIN, CARDS)


def test_scan_range_and_mutants():
    assert check_range(3, 5, 10, 3) == [3, 4, 5]
    with pytest.raises(ScanError, match="4 positions; a scan takes at most 3"):
        check_range(2, 5, 10, 3)
    with pytest.raises(ScanError, match="whole numbers"):
        check_range("a", 5, 10, 3)
    cells = mutants_of("MKV", [2])
    assert len(cells) == 19 and {s[1] for *_, s in cells} == set(STANDARD_AMINO_ACIDS) - {"K"}
    assert all(s[0] + s[2] == "MV" for *_, s in cells)
    assert [c for _, c, _ in cells] == [
        STANDARD_AMINO_ACIDS.index(a) for a in STANDARD_AMINO_ACIDS if a != "K"
    ]


def test_bad_variants_never_recompute_the_wild_type(real_backbone, monkeypatch):
    from models.studio import Studio, StudioConfig

    studio = Studio(StudioConfig(result_cache=None))
    protein = Protein("ubq", (UBIQUITIN,))
    first = studio.mutate(protein, "K63R")
    passes = []
    original = studio.annotator.backbone.run
    monkeypatch.setattr(
        studio.annotator.backbone, "run", lambda seqs, **kw: passes.append(seqs) or original(seqs, **kw)
    )
    again = studio.mutate(protein, "E48R, K480R, K48K")
    assert passes == []  # neither the wild type nor anything else went through the backbone
    assert [e.error for e in again.effects] == [
        "E48R: residue 48 is K, not E.",
        "K480R: position 480 is outside the sequence (1-76).",
        "K48K: the new residue is the wild type (K), so nothing changes.",
    ]
    assert again.wild_type.sites == first.wild_type.sites  # the remembered wild type, served again


def test_a_variant_is_shown_in_3d_only_from_folds_already_made(tiny_fold_model, real_backbone):
    from models.studio import Studio, StudioConfig
    from models.variants.effects import folded_variant, mutant_protein

    studio = Studio(StudioConfig(fold_model=str(tiny_fold_model), device="cpu", result_cache=None))
    protein = Protein("ab", ("GIVEQCCTSICSLYQLENYCN", "FVNQHLCGSHLVEALYLVCGERGFFYTPKT"))
    assert folded_variant(studio, protein, "B:F1A") is None  # nothing folded: nothing shown, nothing folded
    assert studio.cached_structure(protein) is None
    studio.fold(protein)
    assert folded_variant(studio, protein, "B:F1A") is None  # the wild type alone is not the mutant
    (variant,) = [e.variant for e in studio.mutate(protein, "B:F1A").effects]
    shown, wild = folded_variant(studio, protein, "B:F1A")
    assert wild.chains == protein.chains
    assert shown.label == "B:F1A" and shown.offset == 21
    assert shown.mutant_structure.chains == mutant_protein(protein, variant).chains
    assert shown.mutant_structure.chains[1].startswith("AV") and 0 < shown.structure["tm_score"] <= 1
    assert folded_variant(studio, protein, "B:G1A") is None  # not a variant of this protein
