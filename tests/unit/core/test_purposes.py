import pytest

from app.core.errors import KnownError, PolicyRefusal
from app.core.purposes import DEFAULT_CASE_NUMBER_PATTERN, check_purpose, validate_case_number

GOOD = "Suspect vehicle seen leaving the robbery at the pharmacy on Dell Range"


def test_a_permitted_purpose_with_a_real_justification_passes() -> None:
    check_purpose("robbery", GOOD)


@pytest.mark.parametrize(
    ("justification", "reason"),
    [
        ("Locate undocumented worker for ICE detainer request", "immigration"),
        ("Find vehicles parked at the mosque during Friday prayer", "religious"),
        ("Identify cars of people at the protest downtown last night", "protests"),
        ("Repossession of a vehicle for the finance company lender", "civil"),
        ("Issue parking tickets to cars in the fire lane at the mall", "parking"),
    ],
)
def test_prohibited_uses_are_refused_with_the_policy_reason(
    justification: str, reason: str
) -> None:
    with pytest.raises(PolicyRefusal) as caught:
        check_purpose("other_felony", justification)
    assert reason in str(caught.value)


def test_short_justification_is_refused_with_the_minimum() -> None:
    with pytest.raises(PolicyRefusal, match="at least 20"):
        check_purpose("robbery", "because")


def test_unknown_purpose_lists_the_permitted_ones() -> None:
    with pytest.raises(KnownError, match="stolen_vehicle"):
        check_purpose("curiosity", GOOD)


def test_case_numbers() -> None:
    assert validate_case_number(" 2026-004211 ") == "2026-004211"
    with pytest.raises(KnownError, match="2026-000123"):
        validate_case_number("26-4211")


def test_case_numbers_take_ascii_digits_only() -> None:
    """Fullwidth (or any other script's) digits match `\\d`: neither the default format
    nor an agency's own pattern written with `\\d` takes them."""
    fullwidth = "２０２６-００４２１１"
    assert fullwidth.replace("-", "").isdigit()  # what `\d` matches outside ASCII mode
    for pattern in (DEFAULT_CASE_NUMBER_PATTERN, r"\d{4}-\d{6}"):
        assert validate_case_number("2026-004211", pattern) == "2026-004211"
        with pytest.raises(KnownError, match="not a case number"):
            validate_case_number(fullwidth, pattern)
        with pytest.raises(KnownError, match="not a case number"):
            validate_case_number("2026-00421\u0661", pattern)  # an Arabic-Indic one
