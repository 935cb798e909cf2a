"""db.text: the one text policy, as tables of inputs and verdicts.

Every refused character is refused by single-line and multi-line text alike; they differ only
in what they do with whitespace.
"""

from __future__ import annotations

import unicodedata

import pytest

from db.text import clean_line, clean_multiline, has_refused_characters

REFUSED_CHARACTERS = {
    "NUL": "\x00",
    "BEL": "\x07",
    "vertical-tab": "\x0b",
    "form-feed": "\x0c",
    "file-separator": "\x1c",
    "unit-separator": "\x1f",
    "DEL": "\x7f",
    "next-line-C1": "\x85",
    "lone-surrogate": "\ud800",
    "private-use": "\ue000",
    "unassigned": "\u0378",
    "line-separator": "\u2028",
    "paragraph-separator": "\u2029",
    "right-to-left-override": "\u202e",
    "left-to-right-isolate": "\u2066",
    "zero-width-space": "\u200b",
    "soft-hyphen": "\u00ad",
    "byte-order-mark": "\ufeff",
}
REFUSED = [pytest.param(char, id=name) for name, char in REFUSED_CHARACTERS.items()]

ACCEPTED_SEQUENCES = [
    pytest.param("👩\u200d💻", id="ZWJ-emoji"),
    pytest.param("👨\u200d👩\u200d👧", id="ZWJ-family"),
    pytest.param("❤\ufe0f", id="variation-selector"),
    pytest.param("1\ufe0f\u20e3", id="keycap"),
    pytest.param("👍🏽", id="skin-tone"),
    pytest.param("🇫🇷", id="flag"),
    pytest.param("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", id="ZWNJ-persian"),
    pytest.param("क्\u200dष", id="ZWJ-devanagari"),
]


def _placements(char: str) -> list[str]:
    """The character alone, leading, trailing and inside ordinary text."""
    return [char, f"{char}text", f"text{char}", f"te{char}xt"]


def test_refused_table_covers_the_refused_categories() -> None:
    categories = {unicodedata.category(char) for char in REFUSED_CHARACTERS.values()}
    assert categories == {"Cc", "Cs", "Co", "Cn", "Zl", "Zp", "Cf"}


# --- single-line text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("  leading and trailing  ", "leading and trailing"),
        ("many    spaces", "many spaces"),
        ("a\tb", "a b"),
        ("a\nb", "a b"),
        ("a\r\nb", "a b"),
        ("a\rb", "a b"),
        ("a\u00a0b", "a b"),
        ("a\u3000b", "a b"),
        (" \t\u00a0a \n\r\n b\t ", "a b"),
    ],
)
def test_clean_line_collapses_whitespace_to_single_spaces(raw: str, expected: str) -> None:
    assert clean_line(raw, 100) == expected


@pytest.mark.parametrize("raw", ["", " ", "\t\n\r", "\u00a0", " \u3000 "])
def test_clean_line_refuses_empty_or_blank_text(raw: str) -> None:
    assert clean_line(raw, 100) is None


def test_clean_line_accepts_exactly_max_length() -> None:
    assert clean_line("abcde", 5) == "abcde"


def test_clean_line_refuses_over_max_length() -> None:
    assert clean_line("abcdef", 5) is None


def test_clean_line_measures_length_after_collapsing() -> None:
    assert clean_line("   a \t\n  b   ", 3) == "a b"


@pytest.mark.parametrize("char", REFUSED)
def test_clean_line_refuses_character(char: str) -> None:
    for raw in _placements(char):
        assert clean_line(raw, 100) is None, repr(raw)


@pytest.mark.parametrize("sequence", ACCEPTED_SEQUENCES)
def test_clean_line_keeps_joiners_and_emoji_sequences(sequence: str) -> None:
    assert clean_line(f" love {sequence} ", 100) == f"love {sequence}"


# --- multi-line text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("line one\nline two", "line one\nline two"),
        ("a\n\n\tindented", "a\n\n\tindented"),
        ("a\r\nb", "a\nb"),
        ("a\rb", "a\nb"),
        ("a\r\n\r\nb\rc", "a\n\nb\nc"),
        ("  \n\t text \n  ", "text"),
        ("inner   spaces\u00a0kept", "inner   spaces\u00a0kept"),
    ],
)
def test_clean_multiline_keeps_line_breaks_and_tabs_and_trims(raw: str, expected: str) -> None:
    assert clean_multiline(raw, 100) == expected


@pytest.mark.parametrize("raw", ["", "   ", "\r\n\t \n"])
def test_clean_multiline_may_be_empty(raw: str) -> None:
    assert clean_multiline(raw, 100) == ""


def test_clean_multiline_accepts_exactly_max_length() -> None:
    assert clean_multiline("abcde", 5) == "abcde"


def test_clean_multiline_refuses_over_max_length() -> None:
    assert clean_multiline("abcdef", 5) is None


def test_clean_multiline_measures_length_after_normalising_and_trimming() -> None:
    assert clean_multiline("  a\r\nb  ", 3) == "a\nb"


@pytest.mark.parametrize("char", REFUSED)
def test_clean_multiline_refuses_character(char: str) -> None:
    for raw in _placements(char):
        assert clean_multiline(raw, 100) is None, repr(raw)


@pytest.mark.parametrize("sequence", ACCEPTED_SEQUENCES)
def test_clean_multiline_keeps_joiners_and_emoji_sequences(sequence: str) -> None:
    assert clean_multiline(f"love\n{sequence}\n", 100) == f"love\n{sequence}"


# --- one set of refused characters ------------------------------------------------------------


@pytest.mark.parametrize("char", REFUSED)
def test_refused_character_gets_the_same_verdict_from_both(char: str) -> None:
    assert has_refused_characters(char)
    verdicts = {
        raw: (clean_line(raw, 100) is None, clean_multiline(raw, 100) is None)
        for raw in _placements(char)
    }
    assert verdicts == {raw: (True, True) for raw in _placements(char)}


@pytest.mark.parametrize("sequence", ACCEPTED_SEQUENCES)
def test_accepted_sequence_has_no_refused_characters(sequence: str) -> None:
    assert not has_refused_characters(sequence)


def test_has_refused_characters_skips_the_allowed_ones() -> None:
    assert has_refused_characters("a\nb")
    assert not has_refused_characters("a\nb", frozenset("\n"))
    assert has_refused_characters("a\n\x07", frozenset("\n"))
