"""The purpose taxonomy, the prohibited uses, and case numbers.

Every search and slice names a case and a purpose: a code from this fixed
taxonomy plus a written justification. A justification that names a
prohibited use is refused with the policy reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.errors import KnownError, PolicyRefusal

PURPOSES: dict[str, str] = {
    "stolen_vehicle": "Stolen vehicle",
    "violent_crime": "Violent crime",
    "homicide": "Homicide",
    "robbery": "Robbery",
    "burglary": "Burglary",
    "kidnapping": "Kidnapping",
    "missing_person": "Missing or endangered person",
    "amber_alert": "Amber alert",
    "hit_and_run": "Hit and run",
    "fraud": "Fraud",
    "organized_retail_crime": "Organized retail crime",
    "narcotics": "Narcotics",
    "other_felony": "Other felony",
}

MIN_JUSTIFICATION_LENGTH = 20
DEFAULT_CASE_NUMBER_PATTERN = r"[0-9]{4}-[0-9]{6}"


@dataclass(frozen=True)
class ProhibitedUse:
    """A use the agency has promised never to make, and how to recognize it in text."""

    code: str
    reason: str
    pattern: re.Pattern[str]


PROHIBITED_USES: tuple[ProhibitedUse, ...] = (
    ProhibitedUse(
        "immigration",
        "ALPR data may not be used for immigration enforcement.",
        re.compile(
            r"\b(immigra\w*|deport\w*|ice\s+(detainer|request|hold)|undocumented|visa\s+status)\b",
            re.I,
        ),
    ),
    ProhibitedUse(
        "civil",
        "ALPR data may not be used for civil matters (debts, repossession, custody, lawsuits).",
        re.compile(
            r"\b(civil\s+(matter|suit|dispute|case)|repossess\w*|debt\s+collect\w*|custody\s+dispute)\b",
            re.I,
        ),
    ),
    ProhibitedUse(
        "code_or_parking",
        "ALPR data may not be used for code or parking enforcement.",
        re.compile(
            r"\b(parking\s+(ticket|violation|enforcement|citation)\w*|code\s+enforcement|zoning)\b",
            re.I,
        ),
    ),
    ProhibitedUse(
        "traffic",
        "ALPR data may not be used for traffic enforcement based on an ALPR read alone.",
        re.compile(
            r"\b(speeding|traffic\s+(ticket|citation|enforcement|violation)\w*|red\s+light)\b", re.I
        ),
    ),
    ProhibitedUse(
        "first_amendment",
        "ALPR data may not be used to monitor protests, religious services, "
        "assemblies or political activity.",
        re.compile(
            r"\b(protest\w*|demonstrat(ion|ors?)|rall(y|ies)|march(ers)?|church|mosque|synagogue|"
            r"temple|religious|worship\w*|political|campaign\s+event|union\s+meeting)\b",
            re.I,
        ),
    ),
)


def purpose_label(code: str) -> str:
    """The display label of a purpose code; raises KnownError for an unknown code."""
    try:
        return PURPOSES[code]
    except KeyError:
        raise KnownError(
            f"'{code}' is not a permitted purpose; choose one of: {', '.join(PURPOSES)}"
        ) from None


def check_justification(text: str) -> None:
    """Raise PolicyRefusal (with the policy reason) unless the justification is acceptable."""
    stripped = " ".join(text.split())
    if len(stripped) < MIN_JUSTIFICATION_LENGTH:
        raise PolicyRefusal(
            f"A justification of at least {MIN_JUSTIFICATION_LENGTH} characters is required "
            f"(this one has {len(stripped)}): say what the case needs these reads for."
        )
    for use in PROHIBITED_USES:
        if use.pattern.search(stripped):
            raise PolicyRefusal(f"Refused by policy: {use.reason}")


def check_purpose(code: str, justification: str) -> None:
    """Validate a purpose code and its justification together."""
    purpose_label(code)
    check_justification(justification)


def validate_case_number(text: str, pattern: str = DEFAULT_CASE_NUMBER_PATTERN) -> str:
    """The case number, stripped; raises KnownError naming the expected format.

    The agency's pattern matches in ASCII mode: a `\\d` in it is 0-9 only, never
    another script's digits (a fullwidth "２０２６" is no case number).
    """
    value = text.strip()
    if not re.fullmatch(pattern, value, re.ASCII):
        example = "2026-000123" if pattern == DEFAULT_CASE_NUMBER_PATTERN else pattern
        raise KnownError(
            f"'{value}' is not a case number of this agency (expected a form like {example})"
        )
    return value
