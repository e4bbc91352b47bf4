import pytest

from app.core.errors import PatternError
from app.core.plates import PatternKind, normalize_plate, parse_pattern


def test_normalize_keeps_letters_and_digits_upper_case() -> None:
    assert normalize_plate(" abc-12 3·x ") == "ABC123X"


@pytest.mark.parametrize(
    ("text", "kind", "normalized"),
    [
        ("7k2-abc", PatternKind.EXACT, "7K2ABC"),
        ("ABC*", PatternKind.PREFIX, "ABC*"),
        ("ABC**", PatternKind.PREFIX, "ABC*"),
        ("*7K2*", PatternKind.WILDCARD, "*7K2*"),
        ("AB?123", PatternKind.WILDCARD, "AB?123"),
        ("A?C*", PatternKind.WILDCARD, "A?C*"),
    ],
)
def test_pattern_kinds(text: str, kind: PatternKind, normalized: str) -> None:
    pattern = parse_pattern(text)
    assert pattern.kind is kind
    assert pattern.text == normalized


def test_invalid_character_names_its_position() -> None:
    with pytest.raises(PatternError) as caught:
        parse_pattern("AB%12")
    assert caught.value.position == 3
    assert "position 3" in str(caught.value)


@pytest.mark.parametrize("text", ["", "  ", "*", "**?"])
def test_pattern_without_letters_is_refused(text: str) -> None:
    with pytest.raises(PatternError):
        parse_pattern(text)


def test_too_long_pattern_is_refused() -> None:
    with pytest.raises(PatternError) as caught:
        parse_pattern("ABCDEFGHIJK")
    assert caught.value.position == 11


def test_pattern_parts_for_the_indexes() -> None:
    pattern = parse_pattern("*7K2*X?Z")
    assert pattern.literal_runs == ("7K2", "X", "Z")
    assert pattern.trigram_terms == ("7K2",)
    assert pattern.known_characters == 5
    assert pattern.like == "%7K2%X_Z"
    assert parse_pattern("ABC*").prefix == "ABC"


@pytest.mark.parametrize(
    ("text", "plate", "matches"),
    [
        ("*7K2*", "AB7K2C", True),
        ("*7K2*", "7K2", True),
        ("*7K2*", "7K3", False),
        ("AB?123", "ABX123", True),
        ("AB?123", "AB123", False),
        ("ABC*", "ABC", True),
        ("ABC", "ABCD", False),
    ],
)
def test_matches(text: str, plate: str, matches: bool) -> None:
    assert parse_pattern(text).matches(plate) is matches


def test_folding_makes_confusable_characters_alike() -> None:
    from app.core.plates import fold_plate

    assert fold_plate("B0SS1") == fold_plate("8OS5I") == fold_plate("8D5SL")
    assert fold_plate("AB*7?") == "A8*7?"


@pytest.mark.parametrize(
    ("text", "plate", "matches"),
    [
        ("ABC123", "A8C123", True),  # B read as 8
        ("ABC123", "ABCI23", True),  # 1 read as I
        ("ABC123", "ABC12", True),  # one character missing
        ("ABC123", "ABC1234", True),  # one extra character
        ("ABC123", "XABC123", True),
        ("ABC123", "A8C12", True),  # confusion and a missing character
        ("ABC123", "ABC456", False),
        ("ABC123", "AB12", False),  # two missing
        ("ABC123", "ABX123", False),  # X is not confusable with C
        ("*7K2*", "AB7KZC", True),
    ],
)
def test_fuzzy_matches(text: str, plate: str, matches: bool) -> None:
    from app.core.plates import fuzzy_matches

    assert fuzzy_matches(parse_pattern(text), plate) is matches
