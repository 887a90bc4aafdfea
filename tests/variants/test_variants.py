"""Behaviour of the variant parser in `models.variants.notation`, against human ubiquitin.

Example tests pin the notations and the user-facing messages; hypothesis tests check that a
valid variant reads back from its own label and that no input escapes as anything but a
`VariantError` in its place or a `VariantListError` for the whole list.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.variants.notation import (
    AMINO_ACIDS,
    MAX_VARIANTS,
    Substitution,
    Variant,
    VariantError,
    VariantListError,
    check_variants,
    parse_variant,
    split_entries,
)

UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
# Written out here rather than imported, so the module's own table is checked, not trusted.
THREE = {
    "A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "Q": "Gln", "E": "Glu",
    "G": "Gly", "H": "His", "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe",
    "P": "Pro", "S": "Ser", "T": "Thr", "W": "Trp", "Y": "Tyr", "V": "Val",
}  # fmt: skip

K48R = Substitution(48, "K", "R")
E51A = Substitution(51, "E", "A")

PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def one(text: str, sequence: str = UBIQUITIN) -> Variant | VariantError:
    (result,) = check_variants(text, sequence)
    return result


def error_message(text: str, sequence: str = UBIQUITIN) -> str:
    result = one(text, sequence)
    assert isinstance(result, VariantError), result
    assert result.text == text.strip()
    assert result.message.startswith(f"{text.strip()}: ")
    return result.message


def list_error(text: str | None, **kwargs: int) -> str:
    with pytest.raises(VariantListError) as excinfo:
        check_variants(text, UBIQUITIN, **kwargs)
    return str(excinfo.value)


def test_the_reference_residues_used_below():
    assert len(UBIQUITIN) == 76
    assert (UBIQUITIN[47], UBIQUITIN[50], UBIQUITIN[51], UBIQUITIN[62]) == ("K", "E", "D", "K")
    assert AMINO_ACIDS == "ACDEFGHIKLMNPQRSTVWY"
    assert MAX_VARIANTS == 200


# --------------------------------------------------------------------------- notations


@pytest.mark.parametrize(
    "text",
    ["K48R", "k48r", "K48r", "p.K48R", "P.k48R", "Lys48Arg", "p.Lys48Arg", "p.(Lys48Arg)", "LYS48ARG",
     "lys48arg", "p.lys48Arg", "(K48R)", "K048R", "Lys48R", "K48Arg", "  K48R  "],
)  # fmt: skip
def test_single_substitution_notations(text):
    result = one(text)
    assert result == Variant(text.strip(), (K48R,))
    assert result.label == "K48R"


@pytest.mark.parametrize(
    "text",
    ["K48R+E51A", "E51A+K48R", "K48R + E51A", "K48R +E51A", "k48r+e51a", "p.[Lys48Arg;Glu51Ala]",
     "p.[Lys48Arg; Glu51Ala]", "p.[Glu51Ala;Lys48Arg]", "p.[K48R;E51A]", "p.[(Lys48Arg;Glu51Ala)]",
     "[K48R;E51A]", "p.K48R+p.E51A", "Lys48Arg+Glu51Ala", "(K48R)+(E51A)"],
)  # fmt: skip
def test_combined_notations_give_one_variant_sorted_by_position(text):
    result = one(text)
    assert isinstance(result, Variant), result
    assert result.text == text
    assert result.substitutions == (K48R, E51A)
    assert result.label == "K48R+E51A"


def test_every_three_letter_code_reads_as_its_letter():
    # Residue 1 is M, so every other amino acid is a valid mutant there.
    for letter, code in THREE.items():
        if letter == "M":
            continue
        for spelled in (code, code.upper(), code.lower()):
            assert one(f"Met1{spelled}").substitutions == (Substitution(1, "M", letter),)


def test_non_standard_wild_type_letters_match_the_sequence():
    sequence = "MUOBZJXK"
    results = check_variants(
        "U2C, p.Sec2Cys, p.Pyl3Lys, O3K, B4D, Asx4Asn, Glx5Gln, Xle6Leu, Xaa7Ala", sequence
    )
    assert [r.label if isinstance(r, Variant) else r.message for r in results] == [
        "U2C",
        "p.Sec2Cys: repeats entry 1 (U2C).",
        "O3K",
        "O3K: repeats entry 3 (O3K).",
        "B4D",
        "B4N",
        "Z5Q",
        "J6L",
        "X7A",
    ]
    assert results[0].apply(sequence) == "MCOBZJXK"


# --------------------------------------------------------------------------- splitting the list


def test_entries_are_split_on_commas_semicolons_newlines_and_whitespace():
    text = "K48R, E51A;K63R\nK6R\tK11R  K27R\r\n\nK29R ,; K33R"
    assert split_entries(text) == ["K48R", "E51A", "K63R", "K6R", "K11R", "K27R", "K29R", "K33R"]


def test_brackets_and_plus_keep_a_combined_variant_together():
    text = "p.[Lys48Arg;Glu51Ala], K63R + E64A; p.[Lys6Arg; Lys11Arg] K27R+ K29R"
    assert split_entries(text) == [
        "p.[Lys48Arg;Glu51Ala]",
        "K63R + E64A",
        "p.[Lys6Arg; Lys11Arg]",
        "K27R+ K29R",
    ]


def test_an_unclosed_bracket_ends_with_its_line():
    entries = split_entries("p.[Lys48Arg;Glu51Ala K63R\nK6R")
    assert entries == ["p.[Lys48Arg;Glu51Ala K63R", "K6R"]
    results = check_variants("p.[Lys48Arg;Glu51Ala K63R\nK6R", UBIQUITIN)
    assert "brackets do not pair up" in results[0].message
    assert "p.[Lys48Arg;Glu51Ala]" in results[0].message
    assert results[1].label == "K6R"


def test_results_keep_input_order_and_one_bad_entry_does_not_stop_the_others():
    results = check_variants("K63R, K480R, K48R+E51A, junk, K6R", UBIQUITIN)
    assert [r.text for r in results] == ["K63R", "K480R", "K48R+E51A", "junk", "K6R"]
    assert [type(r) for r in results] == [Variant, VariantError, Variant, VariantError, Variant]
    assert [r.label for r in results if isinstance(r, Variant)] == ["K63R", "K48R+E51A", "K6R"]


# --------------------------------------------------------------------------- apply


def test_apply_makes_the_mutant_sequence():
    single = one("K48R").apply(UBIQUITIN)
    assert single == UBIQUITIN[:47] + "R" + UBIQUITIN[48:]
    combined = one("p.[Glu51Ala;Met1Val;Gly76Trp]").apply(UBIQUITIN)
    assert combined[0] == "V" and combined[47] == "K" and combined[50] == "A" and combined[75] == "W"
    assert [i for i, (a, b) in enumerate(zip(UBIQUITIN, combined)) if a != b] == [0, 50, 75]
    assert len(combined) == len(UBIQUITIN)


def test_apply_refuses_a_sequence_the_variant_does_not_fit():
    variant = one("K48R")
    with pytest.raises(ValueError, match="K48R"):
        variant.apply(UBIQUITIN.replace("K", "E"))
    with pytest.raises(ValueError, match="position 48"):
        variant.apply(UBIQUITIN[:40])


# --------------------------------------------------------------------------- errors, entry by entry


def test_wrong_wild_type_names_the_residue_actually_there():
    assert error_message("E48R") == "E48R: residue 48 is K, not E."
    assert error_message("p.Glu48Arg") == "p.Glu48Arg: residue 48 is K, not E."


def test_wrong_wild_type_in_a_combined_variant_names_the_substitution():
    message = error_message("K48R+E52A")
    assert message == "K48R+E52A: in E52A, residue 52 is D, not E."
    assert "K48R," not in message


def test_every_bad_substitution_of_a_combined_variant_is_named():
    message = error_message("K480R+E52A+K63R")
    assert "in K480R, position 480 is outside the sequence (1-76)" in message
    assert "in E52A, residue 52 is D, not E" in message
    assert "K63R" not in message.partition(": ")[2]


@pytest.mark.parametrize(
    ("text", "position"), [("K480R", 480), ("K77R", 77), ("K0R", 0), ("p.Lys100Arg", 100)]
)
def test_position_outside_the_sequence_names_the_length(text, position):
    assert error_message(text) == f"{text}: position {position} is outside the sequence (1-76)."


def test_last_residue_is_inside():
    assert one("G76A").label == "G76A"
    assert "(1-5)" in error_message("K6R", sequence="MQIFV")


@pytest.mark.parametrize("text", ["Xyz48Arg", "Lys48Xyz", "Ly48R", "K48Argg", "K48RE"])
def test_unknown_amino_acid_names_the_allowed_letters(text):
    message = error_message(text)
    assert "is not an amino acid" in message
    assert "ACDEFGHIKLMNPQRSTVWY" in message
    assert "three-letter code" in message


def test_unknown_amino_acid_quotes_the_code_typed():
    assert "'Xyz'" in error_message("Lys48Xyz")
    assert "'Ly'" in error_message("Ly48R")


@pytest.mark.parametrize(
    ("text", "named"),
    [("K48X", "X (unknown)"), ("K48B", "B (D or N)"), ("K48Z", "Z (E or Q)"), ("K48J", "J (L or I)"),
     ("K48U", "U (selenocysteine)"), ("p.Lys48Sec", "U (selenocysteine)"), ("K48O", "O (pyrrolysine)"),
     ("Lys48Xaa", "X (unknown)")],
)  # fmt: skip
def test_non_standard_mutant_is_refused_naming_the_standard_letters(text, named):
    message = error_message(text)
    assert "ACDEFGHIKLMNPQRSTVWY" in message
    assert "three-letter code" in message
    assert message.endswith(f"not {named}.")


@pytest.mark.parametrize("text", ["K48K", "k48k", "p.Lys48Lys", "p.Lys48="])
def test_mutant_equal_to_wild_type_says_nothing_changes(text):
    assert error_message(text) == f"{text}: the new residue is the wild type (K), so nothing changes."


def test_no_change_is_an_error_even_where_the_letter_does_not_match():
    # Intrinsic to the notation, so said before comparing with the sequence.
    assert "nothing changes" in error_message("E48E")


@pytest.mark.parametrize(
    ("text", "twice"),
    [
        ("K48R+K48A", "K48R and K48A"),
        ("K48R+K48R", "K48R and K48R"),
        ("p.[Lys48Arg;Lys48Ala]", "K48R and K48A"),
    ],
)
def test_a_position_changed_twice_in_one_variant_is_named(text, twice):
    message = error_message(text)
    assert f"position 48 is changed twice ({twice})" in message


def test_a_position_changed_three_times():
    assert "position 48 is changed 3 times" in error_message("K48R+K48A+K48E+E51A")


def test_a_repeated_variant_names_the_entry_it_repeats():
    results = check_variants("K63R\nK48R\np.Lys48Arg\nE51A+K48R\nK48R + E51A\nk48r", UBIQUITIN)
    assert [r.message if isinstance(r, VariantError) else r.label for r in results] == [
        "K63R",
        "K48R",
        "p.Lys48Arg: repeats entry 2 (K48R).",
        "K48R+E51A",
        "K48R + E51A: repeats entry 4 (K48R+E51A).",
        "k48r: repeats entry 2 (K48R).",
    ]


def test_a_repeated_bad_entry_keeps_its_own_message():
    results = check_variants("E48R, E48R", UBIQUITIN)
    assert [r.message for r in results] == ["E48R: residue 48 is K, not E."] * 2


@pytest.mark.parametrize(
    ("text", "what"),
    [("K48*", "stop (nonsense) changes"), ("p.Lys48Ter", "stop (nonsense) changes"),
     ("p.Lys48*", "stop (nonsense) changes"), ("K48del", "deletions"), ("K48_E51del", "deletions"),
     ("p.Lys48_Glu51del", "deletions"), ("K48fs", "frameshifts"), ("p.Lys48ArgfsTer12", "frameshifts"),
     ("K48Rfs*12", "frameshifts"), ("p.Lys48_Glu51insAla", "insertions"),
     ("K48delinsRA", "deletion-insertions"), ("K48dup", "duplications"),
     ("p.Ter77GlnextTer12", "stop-loss changes"), ("*77Q", "stop-loss changes")],
)  # fmt: skip
def test_changes_other_than_substitutions_are_refused_clearly(text, what):
    message = error_message(text)
    assert message.startswith(f"{text}: {what} are not supported")
    assert "only substitutions of one amino acid by another" in message


@pytest.mark.parametrize("text", ["c.142A>G", "g.12345A>G", "C.142A>G"])
def test_dna_notation_asks_for_the_protein_change(text):
    message = error_message(text)
    assert "DNA and RNA notation is not supported" in message
    assert "p.Lys48Arg" in message


@pytest.mark.parametrize(
    "text",
    ["hello", "48R", "K48R?", "K-48R", "K48é", "[]", "p.", "K48>R", "K" + "9" * 30 + "R"],
)
def test_unparseable_entries_show_the_notation(text):
    message = error_message(text)
    assert "not a substitution" in message
    for example in ("K48R", "p.Lys48Arg", "K48R+E51A"):
        assert example in message


def test_a_missing_mutant_says_so():
    message = error_message("K48")
    assert "no new amino acid after position 48" in message
    assert "K48R" in message


def test_bad_part_of_a_combined_variant_is_quoted():
    assert "in 'junk', not a substitution" in error_message("K48R+junk")
    assert "an empty change around '+'" in error_message("K48R++E51A")
    assert "an empty change" in error_message("K48R+")


def test_long_entries_are_shortened_in_the_message():
    text = "K48R+" + "x" * 500
    result = one(text)
    assert result.text == text
    assert len(result.message) < 250
    assert result.message.startswith(text[:30])


# --------------------------------------------------------------------------- the list as a whole


@pytest.mark.parametrize("text", [None, "", "   ", "\n\n", ", ;\n\t,"])
def test_nothing_given_is_a_list_error(text):
    assert list_error(text).startswith("No variants given")


def test_too_many_variants_names_the_count_and_the_limit():
    text = ", ".join([f"M1{aa}" for aa in AMINO_ACIDS if aa != "M"] * 11)  # 209 entries
    message = list_error(text)
    assert "209 variants given" in message
    assert "at most 200" in message
    assert "at most 5" in list_error("K48R K63R K6R K11R K27R K29R", max_variants=5)
    assert len(check_variants("K48R K63R K6R K11R K27R", UBIQUITIN, max_variants=5)) == 5


def test_parse_variant_reads_without_a_sequence():
    assert parse_variant(" p.[Glu51Ala;Lys48Arg] ") == Variant("p.[Glu51Ala;Lys48Arg]", (K48R, E51A))
    # Fits no sequence here, but the notation is sound: only check_variants compares.
    assert parse_variant("W999Y") == Variant("W999Y", (Substitution(999, "W", "Y"),))
    assert isinstance(parse_variant("K48K"), VariantError)


def test_importing_the_module_does_not_pull_in_torch():
    code = "import sys, models.variants.notation; print('torch' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- properties


@st.composite
def valid_variants(draw) -> tuple[Substitution, ...]:
    positions = draw(st.lists(st.integers(1, len(UBIQUITIN)), min_size=1, max_size=5, unique=True))
    subs = []
    for position in positions:
        wild_type = UBIQUITIN[position - 1]
        mutant = draw(st.sampled_from([aa for aa in AMINO_ACIDS if aa != wild_type]))
        subs.append(Substitution(position, wild_type, mutant))
    return tuple(subs)


@PROPERTY_SETTINGS
@given(valid_variants(), st.booleans(), st.randoms(use_true_random=False))
def test_a_valid_variant_reads_back_from_its_label_and_its_hgvs_form(subs, lower, rng):
    expected = tuple(sorted(subs, key=lambda s: s.position))
    one_letter = "+".join(f"{s.wild_type}{s.position}{s.mutant}" for s in subs)
    if lower:
        one_letter = one_letter.lower()
    variant = one(one_letter)
    assert variant == Variant(one_letter, expected)
    assert one(variant.label) == Variant(variant.label, expected)

    hgvs_parts = [f"{THREE[s.wild_type]}{s.position}{THREE[s.mutant]}" for s in subs]
    rng.shuffle(hgvs_parts)
    hgvs = f"p.[{';'.join(hgvs_parts)}]" if len(hgvs_parts) > 1 else f"p.({hgvs_parts[0]})"
    assert one(hgvs).substitutions == expected

    mutant = variant.apply(UBIQUITIN)
    changed = [i + 1 for i, (a, b) in enumerate(zip(UBIQUITIN, mutant)) if a != b]
    assert changed == [s.position for s in expected]


@PROPERTY_SETTINGS
@given(st.lists(valid_variants(), min_size=1, max_size=8))
def test_a_list_of_labels_checks_entry_by_entry_in_order(variants):
    labels = ["+".join(s.label for s in subs) for subs in variants]
    results = check_variants("\n".join(labels), UBIQUITIN)
    assert [r.text for r in results] == labels
    seen: dict[frozenset, int] = {}
    for number, (subs, result) in enumerate(zip(variants, results), start=1):
        key = frozenset(subs)
        if key in seen:
            assert isinstance(result, VariantError)
            assert f"repeats entry {seen[key]} " in result.message
        else:
            seen[key] = number
            assert result.substitutions == tuple(sorted(subs, key=lambda s: s.position))


VARIANT_ALPHABET = "KREAX*=_+;,.[]() \n\t0123456789pcLysArgTerdelinsfs>é"


@PROPERTY_SETTINGS
@given(st.one_of(st.text(max_size=60), st.text(alphabet=VARIANT_ALPHABET, max_size=60)))
def test_any_text_gives_one_result_per_entry_or_a_list_error(text):
    try:
        results = check_variants(text, UBIQUITIN)
    except VariantListError as error:
        assert str(error)
        assert not split_entries(text)
        return
    assert [r.text for r in results] == split_entries(text)
    for result in results:
        if isinstance(result, VariantError):
            assert result.message.startswith(result.text[:20])
            assert result.message.endswith(".")
        else:
            assert isinstance(result, Variant)
            mutant = result.apply(UBIQUITIN)
            assert all(mutant[s.position - 1] == s.mutant for s in result.substitutions)


COMPLEX = ("GIVEQCCTSICSLYQLENYCN", "FVNQHLCGSHLVEALYLVCGERGFFYTPKT")  # insulin A and B


@pytest.mark.parametrize(
    ("text", "label"),
    [("B:F1A", "B:F1A"), ("b : F1A", "B:F1A"), ("B:F1A+V2A", "B:F1A+V2A"), ("B:F1A + B:V2A", "B:F1A+V2A"),
     ("B:p.[Phe1Ala;Val2Ala]", "B:F1A+V2A"), ("A:p.Ile2Thr", "A:I2T")],
)  # fmt: skip
def test_a_complex_variant_names_its_chain(text, label):
    (variant,) = check_variants(text, COMPLEX)
    assert variant.label == label and variant.chain == label[0]
    mutant = variant.apply(COMPLEX["AB".index(variant.chain)])  # positions count within the chain
    assert all(mutant[s.position - 1] == s.mutant for s in variant.substitutions)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("F1A", "F1A: say which chain it changes, e.g. B:F1A (the complex has chains A (21 aa), B (30 aa))."),
        ("C7S", "e.g. A:C7S or B:C7S"),  # fits both chains: both are offered
        ("C:F1A", "C:F1A: there is no chain C (the complex has chains A (21 aa), B (30 aa))."),
        ("A:G1A+B:F1A", "A:G1A+B:F1A: it changes chains A, B; a variant changes one chain"),
        ("B:G1A", "B:G1A: residue 1 is F, not G."),
        ("B:F1", "B:F1: no new amino acid after position 1"),
    ],
)
def test_a_bad_complex_variant_names_the_chain_problem(text, message):
    (error,) = check_variants(text, COMPLEX)
    assert isinstance(error, VariantError) and message in error.message


def test_a_one_chain_protein_takes_chain_a_and_refuses_others():
    (plain,) = check_variants("A:K6R", UBIQUITIN)
    assert plain.label == "K6R" and plain.chain is None
    (error,) = check_variants("B:K6R", UBIQUITIN)
    assert error.message == "B:K6R: there is no chain B (one chain here: A (76 aa))."


def test_the_same_change_on_two_chains_is_two_variants_and_a_repeat_is_named():
    results = check_variants("A:C7S, B:C7S, B:Cys7Ser", COMPLEX)
    assert [getattr(r, "label", None) for r in results[:2]] == ["A:C7S", "B:C7S"]
    assert results[2].message == "B:Cys7Ser: repeats entry 2 (B:C7S)."


@given(st.one_of(st.text(max_size=60), st.text(alphabet=VARIANT_ALPHABET + ":ABC", max_size=60)))
def test_any_text_against_a_complex_gives_one_result_per_entry_each_on_its_chain(text):
    try:
        results = check_variants(text, COMPLEX)
    except VariantListError:
        assert not split_entries(text)
        return
    assert [r.text for r in results] == split_entries(text)
    for result in results:
        if isinstance(result, VariantError):
            assert result.message.startswith(result.text[:20]) and result.message.endswith(".")
        else:  # every accepted variant names a chain of the complex and fits it
            mutant = result.apply(COMPLEX["AB".index(result.chain)])
            assert all(mutant[s.position - 1] == s.mutant for s in result.substitutions)


@pytest.mark.parametrize(
    ("text", "label"),
    [("NP_000537.3:p.Lys48Arg", "K48R"), ("ENSP00000269305.4:p.(Lys48Arg)", "K48R"),
     ("NP_000537.3(TP53):p.Lys48Arg", "K48R"), ("XP_1.2: p.[Lys48Arg;Glu51Ala]", "K48R+E51A")],
)  # fmt: skip
def test_a_reference_before_the_change_is_read_as_clinvar_writes_it(text, label):
    (variant,) = check_variants(text, UBIQUITIN)
    assert variant.label == label and variant.text == text


def test_a_reference_keeps_the_message_whole():
    (wrong,) = check_variants("NP_1:p.Glu48Arg", UBIQUITIN)
    assert wrong.message == "NP_1:p.Glu48Arg: residue 48 is K, not E."
    (dna,) = check_variants("NM_000546.6:c.215C>G", UBIQUITIN)
    assert dna.message.startswith("NM_000546.6:c.215C>G: DNA and RNA notation is not supported")
    (where,) = check_variants("NP_1.1:p.Phe1Ala", COMPLEX)
    assert "say which chain it changes, e.g. B:F1A" in where.message
    (chained,) = check_variants("B:NP_1.1:p.Phe1Ala", COMPLEX)
    assert chained.label == "B:F1A"
