"""Behaviour of the sequence / FASTA parser in `models.shared.sequences`.

Example tests pin the user-facing rules and messages; hypothesis tests check that no input,
however odd, escapes as anything but a `SequenceError`, and that well-formed FASTA round-trips.
"""

from __future__ import annotations

import hashlib
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.shared.sequences import (
    ACCEPTED_LETTERS,
    MAX_CHAINS,
    NON_STANDARD_AMINO_ACIDS,
    STANDARD_AMINO_ACIDS,
    Protein,
    SequenceError,
    check_foldable,
    content_name,
    parse,
    parse_one,
)

# Deterministic, offline, quick: fixed seed, no example database written into the repo.
PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def parse_error(text: str | None, **limits: int) -> str:
    with pytest.raises(SequenceError) as excinfo:
        parse(text, **limits)
    message = str(excinfo.value)
    assert message
    return message


def fold_error(protein: Protein, max_length: int) -> str:
    with pytest.raises(SequenceError) as excinfo:
        check_foldable(protein, max_length)
    message = str(excinfo.value)
    assert message
    return message


# --------------------------------------------------------------------------- normalisation


def test_plain_sequence_is_one_headerless_record():
    digest = hashlib.sha1(b"MKVLAAGG").hexdigest()[:6]
    assert parse("MKVLAAGG") == [Protein(id=f"seq_MKVLAA_8aa_{digest}", chains=("MKVLAAGG",), description="")]


def test_a_record_without_a_name_is_named_from_its_content():
    (first,), (again,), (other,) = parse("MKVLAAGG"), parse("mkvlaagg\n"), parse("MKVLAAGA")
    assert first.id == again.id  # stable for the same sequence
    assert first.id != other.id  # two proteins never share a name
    (complex_,) = parse("GIVEQC:FVNQHL")
    assert complex_.id.startswith("seq_GIVEQC_12aa_")


def test_fasta_header_gives_id_and_description():
    (protein,) = parse(">sp|P69905|HBA_HUMAN Hemoglobin subunit alpha\nMVLSPADKTN\nVKAAWGKVGA\n")
    assert protein.id == "sp|P69905|HBA_HUMAN"
    assert protein.description == "sp|P69905|HBA_HUMAN Hemoglobin subunit alpha"
    assert protein.chains == ("MVLSPADKTNVKAAWGKVGA",)


def test_header_whitespace_is_trimmed_and_indented_header_is_still_a_header():
    (protein,) = parse("   >  my_protein   some words  \nMKV")
    assert protein.id == "my_protein"
    assert protein.description == "my_protein   some words"
    assert protein.sequence == "MKV"


def test_empty_header_falls_back_to_numbered_id():
    proteins = parse(">\nMKV\n>named\nGG\n>   \nAA")
    assert [p.id for p in proteins] == [content_name(("MKV",)), "named", content_name(("AA",))]
    assert proteins[0].description == ""


def test_comment_lines_are_ignored():
    text = "; a comment before the header\n>x desc\n;another comment\nMKV\n  ; indented comment\nGG\n"
    (protein,) = parse(text)
    assert protein.id == "x"
    assert protein.sequence == "MKVGG"


def test_whitespace_blank_lines_tabs_and_crlf_are_ignored():
    text = "\n\n  >x\r\n M K V \t L\r\n\r\n\tA A G G  \r\n\n"
    assert parse(text)[0].sequence == "MKVLAAGG"


def test_genbank_style_line_numbers_and_lowercase_are_normalised():
    assert parse("  1 mkvl aa  61 gg")[0].sequence == "MKVLAAGG"
    genbank = "        1 mqifvktltg ktitleveps\n       21 dtienvkaki qdkegippdq\n"
    assert parse(genbank)[0].sequence == "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQ"


def test_lowercase_and_mixed_case_are_uppercased():
    assert parse("mKvLbzjuox")[0].sequence == "MKVLBZJUOX"


@pytest.mark.parametrize("text", ["MKV*", "MKV *", "MKV\n*\n", "MKV*   \n\n", "mkv*", "MKV* 123"])
def test_one_trailing_stop_is_dropped(text):
    assert parse(text)[0].sequence == "MKV"


def test_trailing_stop_is_allowed_per_record():
    proteins = parse(">a\nMKV*\n>b\nGG*\n")
    assert [p.sequence for p in proteins] == ["MKV", "GG"]


def test_trailing_stop_after_last_chain():
    assert parse("MKV:GG*")[0].chains == ("MKV", "GG")


def test_non_breaking_and_other_unicode_spaces_are_whitespace():
    assert parse("MK\u00a0V\u2003L")[0].sequence == "MKVL"


# --------------------------------------------------------------------------- multi-FASTA


def test_multi_fasta_gives_records_in_order():
    text = ">first one\nMKV\nLL\n>second\nGG\n\n>third x y\nacde\n"
    proteins = parse(text)
    assert [p.id for p in proteins] == ["first", "second", "third"]
    assert [p.sequence for p in proteins] == ["MKVLL", "GG", "ACDE"]
    assert [p.description for p in proteins] == ["first one", "second", "third x y"]


def test_parse_one_returns_the_single_record():
    assert parse_one(">x\nMKV") == Protein(id="x", chains=("MKV",), description="x")


def test_parse_one_rejects_two_records_naming_the_count():
    with pytest.raises(SequenceError) as excinfo:
        parse_one(">a\nMKV\n>b\nGG")
    message = str(excinfo.value)
    assert "Found 2 records (a, b)" in message
    assert "one protein" in message


def test_parse_one_lists_at_most_three_ids():
    text = "".join(f">r{i}\nMK\n" for i in range(5))
    with pytest.raises(SequenceError) as excinfo:
        parse_one(text)
    assert "Found 5 records (r0, r1, r2, ...)" in str(excinfo.value)


def test_parse_one_passes_limits_through():
    with pytest.raises(SequenceError, match="the limit is 3"):
        parse_one("MKVL", max_chars=3)


# --------------------------------------------------------------------------- chains


def test_colon_separates_chains():
    (protein,) = parse("MKV:GSHL")
    assert protein.chains == ("MKV", "GSHL")
    assert protein.sequence == "MKV:GSHL"
    assert protein.length == 7
    assert protein.residues == "MKVGSHL"


@pytest.mark.parametrize("text", ["MKV:\nGSHL", "MKV\n:GSHL", "MKV :\n  GSHL\n", "mkv : gshl"])
def test_colon_across_lines_and_with_spaces(text):
    assert parse(text)[0].chains == ("MKV", "GSHL")


def test_three_chains_in_fasta_record():
    (protein,) = parse(">complex A/B/C\nAAA:\nCC:\nD\n")
    assert protein.id == "complex"
    assert protein.chains == ("AAA", "CC", "D")
    assert protein.length == 6
    assert protein.residues == "AAACCD"
    assert protein.sequence == "AAA:CC:D"


def test_max_chains_is_accepted():
    chains = tuple(string.ascii_uppercase[i % 20] * 2 for i in range(MAX_CHAINS))
    assert MAX_CHAINS == 26
    assert parse(":".join(chains))[0].chains == chains


def test_more_than_26_chains_rejected():
    message = parse_error(":".join(["MK"] * 27))
    assert "27 chains" in message
    assert "26" in message


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("text", [None, "", "   ", "\n\n\t \r\n"])
def test_empty_input_rejected(text):
    assert "No sequence found" in parse_error(text)


def test_stop_only_is_no_sequence():
    assert "No sequence found" in parse_error("*")


def test_header_without_sequence_names_line():
    message = parse_error(">lonely header\n\n")
    assert "line 1" in message
    assert "no sequence" in message
    assert "lonely" in message


def test_header_without_sequence_in_multi_fasta_names_record_and_line():
    message = parse_error(">a\nMKV\n>b\n; just a comment\n>c\nGG")
    assert "Record 'b'" in message
    assert "line 3" in message
    assert "no sequence" in message


@pytest.mark.parametrize("text", [";only a comment", "; one\n;two\n\n", ">x\n;comment"])
def test_comment_only_input_is_a_sequence_error(text):
    # A record must come out, or a SequenceError: never an empty list.
    assert parse_error(text)


def test_parse_one_on_comment_only_input_raises_sequence_error():
    with pytest.raises(SequenceError):
        parse_one("; nothing but a comment")


def test_invalid_character_names_char_residue_line_and_column():
    message = parse_error("MK@V")
    assert "'@' at residue 3 (line 1, column 3)" in message
    assert STANDARD_AMINO_ACIDS in message  # tells the user what is allowed


def test_invalid_character_position_counts_residues_across_lines_and_columns_in_line():
    message = parse_error(">x\nMKV\n  GG@A\n")
    assert "'@' at residue 6 (line 3, column 5)" in message
    assert "Record 'x'" in message


def test_invalid_character_position_ignores_digits_and_separators():
    # residues before '#': MK + VL = 4, so it is residue 5; column counts every character
    message = parse_error("1 MK:VL#")
    assert "'#' at residue 5 (line 1, column 8)" in message


def test_invalid_character_in_second_record_names_that_record():
    message = parse_error(">good\nMKV\n>bad\nGG!\n")
    assert "Record 'bad'" in message
    assert "'!' at residue 3 (line 4, column 3)" in message


def test_internal_stop_is_an_error():
    message = parse_error("MK*V")
    assert "'*' at residue 3 (line 1, column 3)" in message


def test_internal_stop_across_lines_is_an_error():
    message = parse_error("MKV*\nGG")
    assert "'*' at residue 4 (line 1, column 4)" in message


@pytest.mark.parametrize("text", ["MKV**", "MKV*:GG", "*MKV", "MK*V*"])
def test_stop_anywhere_but_the_end_is_an_error(text):
    assert "'*'" in parse_error(text)


def test_nul_is_described_by_code_point():
    message = parse_error("MK\x00V")
    assert "U+0000" in message
    assert "at residue 3 (line 1, column 3)" in message


def test_other_control_character_described_by_code_point():
    message = parse_error("MK\x07V")
    assert "U+0007" in message


@pytest.mark.parametrize("char", ["ß", "É", "é", "ı", "Ｍ", "Α"])
def test_non_ascii_letters_rejected(char):
    # 'ı'.upper() == 'I' and 'Ｍ' is a full-width M: still not ASCII amino-acid letters.
    message = parse_error(f"MK{char}V")
    assert "at residue 3 (line 1, column 3)" in message


def test_non_ascii_letter_named_in_message():
    assert "'ß' at residue 1" in parse_error("ßMK")
    assert "'É' at residue 2" in parse_error("MÉ")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("A::B", "residue 2 (':' on line 1, column 2)"),
        (":A", "residue 1 (':' on line 1, column 1)"),
        ("A:", "residue 2 (':' on line 1, column 2)"),
        ("AB:\n:CD", "residue 3 (':' on line 1, column 3)"),
        (">x\nMK:\n>y\nGG", "residue 3 (':' on line 2, column 3)"),
    ],
)
def test_empty_chain_rejected(text, where):
    message = parse_error(text)
    assert "empty chain" in message
    assert where in message


def test_each_bad_character_has_its_own_residue_number():
    message = parse_error("MKT@@Q")
    assert "'@' at residue 4 (line 1, column 4), '@' at residue 5 (line 1, column 5)" in message
    assert "'*' at residue 3 (line 1, column 3), '@' at residue 4" in parse_error("MK*@V")


BAD_CHARACTERS = "@#$%&!?/=+~ßÉ"
REPORTED = re.compile(r"'(.)' at residue (\d+) \(line (\d+), column (\d+)\)")


@PROPERTY_SETTINGS
@given(
    residues=st.text(alphabet="".join(sorted(ACCEPTED_LETTERS)) + "acdefgk", min_size=1, max_size=60),
    inserts=st.lists(
        st.tuples(st.integers(min_value=0, max_value=60), st.sampled_from(BAD_CHARACTERS)),
        min_size=1,
        max_size=8,
    ),
    width=st.integers(min_value=1, max_value=25),
    noise=st.lists(st.sampled_from([" ", "1", "23", "\t"]), max_size=5),
    header=st.booleans(),
)
def test_residue_line_and_column_point_at_each_bad_character(residues, inserts, width, noise, header):
    """Each bad character is numbered by its position among the sequence characters (whitespace
    and digits not counted), and its line and column point at it in the text as given."""
    characters = list(residues)
    for at, ch in inserts:
        characters.insert(min(at, len(characters)), ch)
    # Wrap into lines, with digits and blanks sprinkled in (ignored by the parser).
    lines = []
    for start in range(0, len(characters), width):
        line = "".join(characters[start : start + width])
        lines.append((noise[len(lines) % len(noise)] if noise else "") + line)
    text = (">rec some protein\n" if header else "") + "\n".join(lines) + "\n"
    message = parse_error(text)
    reported = REPORTED.findall(message)
    expected = [(i + 1, ch) for i, ch in enumerate(characters) if ch in BAD_CHARACTERS]
    assert len(reported) == min(len(expected), 5)  # the first five are listed
    text_lines = text.splitlines()
    for (ch, residue, line, column), (position, wanted) in zip(reported, expected):
        assert (ch, int(residue)) == (wanted, position)
        assert text_lines[int(line) - 1][int(column) - 1] == ch


def test_more_than_five_bad_characters_are_summarised():
    message = parse_error("MK@#$%^&V")
    assert "and 1 more" in message
    for char in "@#$%^":
        assert f"'{char}'" in message
    assert "'&'" not in message


def test_many_bad_characters_count_the_rest():
    message = parse_error("M" + "@" * 1005)
    assert "and 1,000 more" in message


def test_exactly_five_bad_characters_are_all_listed():
    message = parse_error("M@#$%^")
    assert "more" not in message
    for char in "@#$%^":
        assert f"'{char}'" in message


def test_input_over_max_chars_rejected_with_limit():
    message = parse_error("A" * 11, max_chars=10)
    assert "11" in message
    assert "the limit is 10" in message
    assert parse("A" * 10, max_chars=10)[0].length == 10


def test_default_max_chars_limit_in_message():
    message = parse_error("A" * 2_000_001)
    assert "2,000,001" in message
    assert "2,000,000" in message


def test_more_than_max_records_rejected():
    text = "".join(f">r{i}\nMK\n" for i in range(3))
    message = parse_error(text, max_records=2)
    assert "More than 2 records" in message
    assert len(parse(text, max_records=3)) == 3


def test_headerless_record_counts_towards_max_records():
    assert "More than 1 records" in parse_error("MKV\n>b\nGG", max_records=1)


# --------------------------------------------------------------------------- check_foldable


@pytest.mark.parametrize("letter", sorted(NON_STANDARD_AMINO_ACIDS))
def test_non_standard_residue_not_foldable(letter):
    protein = parse_one(f"MK{letter.lower()}V")
    message = fold_error(protein, 1000)
    assert f"'{letter}' at residue 3" in message
    assert NON_STANDARD_AMINO_ACIDS[letter] in message
    assert "(chain" not in message  # single chain: no chain label


def test_non_standard_residues_in_complex_name_chain_and_position():
    message = fold_error(parse_one("MKV:GBX"), 1000)
    assert "'B' at residue 5 (chain B 2)" in message
    assert "'X' at residue 6 (chain B 3)" in message
    assert NON_STANDARD_AMINO_ACIDS["B"] in message
    assert NON_STANDARD_AMINO_ACIDS["X"] in message


def test_non_standard_residue_in_first_chain_of_complex():
    message = fold_error(parse_one("UKV:GG"), 1000)
    assert "'U' at residue 1 (chain A 1)" in message
    assert "selenocysteine" in message


def test_many_non_standard_residues_are_summarised():
    message = fold_error(parse_one("X" * 8), 1000)
    assert "and 3 more" in message


def test_suggested_replacement_is_not_duplicated():
    # The hint for each letter should read like "B (D or N) -> D or N", not "B -> B (D or N) -> ...".
    message = fold_error(parse_one("MKBV"), 1000)
    assert message.count(NON_STANDARD_AMINO_ACIDS["B"]) == 1
    assert "B -> B" not in message


def test_too_long_names_length_limit_and_option():
    protein = parse_one(">long\n" + "A" * 11)
    message = fold_error(protein, 10)
    assert "'long'" in message
    assert "11 residues" in message
    assert "10" in message
    assert "--max-fold-length" in message


def test_too_long_uses_thousands_separators():
    message = fold_error(Protein("big", ("A" * 1501,)), 1500)
    assert "1,501 residues" in message
    assert "1,500" in message


def test_exactly_at_limit_is_foldable():
    assert check_foldable(parse_one("A" * 10), 10) is None
    # the limit counts residues, not the ':' separators
    assert check_foldable(parse_one("AAAAA:CCCCC"), 10) is None


def test_non_standard_is_reported_before_length():
    message = fold_error(parse_one("X" * 20), 10)
    assert "'X' at residue 1" in message


# --------------------------------------------------------------------------- properties

FASTA_ALPHABET = STANDARD_AMINO_ACIDS + STANDARD_AMINO_ACIDS.lower() + "BZJUOXbzjuox>:*;0123456789 \t\n\r"

fasta_like_text = st.one_of(
    st.text(alphabet=FASTA_ALPHABET, max_size=120),
    st.lists(
        st.one_of(
            st.text(alphabet=FASTA_ALPHABET.replace("\n", "").replace("\r", ""), max_size=30),
            st.builds(lambda s: ">" + s, st.text(max_size=15)),
            st.builds(lambda s: ";" + s, st.text(max_size=15)),
            st.just(""),
            st.just("*"),
            st.just(":"),
        ),
        max_size=8,
    ).map("\n".join),
)

any_text = st.one_of(st.text(), st.text(alphabet=st.characters(codec="utf-8"), max_size=50), fasta_like_text)


@PROPERTY_SETTINGS
@given(text=any_text)
def test_property_parse_returns_valid_proteins_or_sequence_error(text):
    try:
        proteins = parse(text)
    except SequenceError as error:
        assert str(error)
        return
    assert isinstance(proteins, list)
    assert proteins, f"parse({text!r}) returned an empty list instead of raising SequenceError"
    for protein in proteins:
        assert isinstance(protein, Protein)
        assert protein.id
        assert 1 <= len(protein.chains) <= MAX_CHAINS
        for chain in protein.chains:
            assert chain
            assert set(chain) <= ACCEPTED_LETTERS
        assert protein.length == len(protein.residues)


@st.composite
def formatted_chains(draw):
    chains = draw(
        st.lists(st.text(alphabet=STANDARD_AMINO_ACIDS, min_size=1, max_size=40), min_size=1, max_size=26)
    )
    joined = ":".join(chains)
    lowered = draw(st.lists(st.booleans(), min_size=len(joined), max_size=len(joined)))
    joined = "".join(c.lower() if low else c for c, low in zip(joined, lowered))
    width = draw(st.integers(min_value=1, max_value=80))
    lines = [joined[i : i + width] for i in range(0, len(joined), width)]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    header = draw(st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_|.]{1,12}( [ -~]{0,20})?", fullmatch=True)))
    if header is not None:
        lines.insert(0, ">" + header)
    if draw(st.booleans()):
        lines.append("*")
    if draw(st.booleans()):
        lines.append("")
    return tuple(chains), header, newline.join(lines)


@PROPERTY_SETTINGS
@given(case=formatted_chains())
def test_property_round_trip_fasta(case):
    chains, header, text = case
    (protein,) = parse(text)
    assert protein.chains == chains
    assert protein.sequence == ":".join(chains)
    assert protein.length == sum(map(len, chains))
    if header is None:
        assert protein.id == content_name(chains)
    else:
        assert protein.id == header.split()[0]
        assert protein.description == header.strip()


foldable_candidates = st.lists(
    st.text(alphabet="".join(sorted(ACCEPTED_LETTERS)), min_size=1, max_size=30), min_size=1, max_size=26
).map(":".join)


@PROPERTY_SETTINGS
@given(text=st.one_of(foldable_candidates, any_text), max_length=st.integers(min_value=0, max_value=400))
def test_property_check_foldable_raises_only_sequence_error(text, max_length):
    try:
        proteins = parse(text)
    except SequenceError:
        return
    for protein in proteins:
        expected_ok = set(protein.residues) <= set(STANDARD_AMINO_ACIDS) and protein.length <= max_length
        try:
            check_foldable(protein, max_length)
        except SequenceError as error:
            assert str(error)
            assert not expected_ok
        else:
            assert expected_ok
