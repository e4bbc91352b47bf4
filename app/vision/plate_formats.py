"""US state serial formats: what a standard-issue plate number looks like, state by state.

The table is written from the public descriptions of each state's current general-issue
passenger series (approximate: older series, specialty and vanity plates differ). It serves
twice: the synthetic plate generator (models/plates) draws serials from it, and the plate
reader re-ranks its candidate readings by how well they fit one of these formats.

Pattern letters: L a letter, N a digit, A either; '-' a dash, ' ' a space, '*' a state
symbol between groups. Separators are drawn on the plate but are not part of the read.
Pure Python: no Qt, no OpenCV.
"""

from __future__ import annotations

import re
from functools import cache

FORMATS: dict[str, tuple[str, ...]] = {
    "AK": ("LLL NNN",),
    "AL": ("NNLNNNN", "NNNNLLL"),
    "AR": ("NNN LLL", "LLL NNL"),
    "AZ": ("LLL NNNN", "LLLNNNN"),
    "CA": ("NLLLNNN",),
    "CO": ("LLL-NNN", "NNN-LLL", "LLL-LNN"),
    "CT": ("LL-NNNNN", "NLLLLN"),
    "DC": ("LL-NNNN",),
    "DE": ("NNNNNN", "NNNNN"),
    "FL": ("LLL LNN", "NNN LLL", "LLLL NN"),
    "GA": ("LLL NNNN", "LLLNNNN"),
    "HI": ("LLL NNN",),
    "IA": ("LLL NNN", "NNN LLL"),
    "ID": ("N L NNNNN", "NL NNNNN", "LL NNNNN"),
    "IL": ("LL NNNNN", "LLL NNNN"),
    "IN": ("NNN LLL", "NNNL"),
    "KS": ("NNN LLL",),
    "KY": ("NNN LLL", "LLL NNN"),
    "LA": ("NNN LLL", "LLL NNN"),
    "MA": ("NLLL NN", "NLL NNN", "NNL NNN"),
    "MD": ("NLL NNNN", "NLLNNNN"),
    "ME": ("NNNN LL",),
    "MI": ("LLL NNNN", "NLL NNN"),
    "MN": ("LLL-NNN", "NNN-LLL"),
    "MO": ("LLN-LNL", "LLN LNL"),
    "MS": ("LLL NNNN",),
    "MT": ("NN-NNNNL", "N-NNNNNL"),
    "NC": ("LLL-NNNN",),
    "ND": ("LLL NNN",),
    "NE": ("LLL NNN", "NN-LNNN"),
    "NH": ("NNN NNNN",),
    "NJ": ("LNN-LLL", "LLL-NNL"),
    "NM": ("LLL-NNN", "NNN-LLL"),
    "NV": ("NNN-LNN", "NLL NNN"),
    "NY": ("LLL-NNNN",),
    "OH": ("LLL NNNN",),
    "OK": ("LLL-NNN", "LLL NNN"),
    "OR": ("NNN LLL", "LLL NNN"),
    "PA": ("LLL-NNNN",),
    "RI": ("LL-NNN", "NNNNNN", "NNN NNN"),
    "SC": ("LLL NNN", "LLL NNNN"),
    "SD": ("NLL NNN", "NN LNNN"),
    "TN": ("LLL*NNNN", "NLN*NLN"),
    "TX": ("LLL*NNNN", "LL*NNNNN"),
    "UT": ("LNNN LL", "LNN NLL"),
    "VA": ("LLL-NNNN",),
    "VT": ("LLL NNN",),
    "WA": ("LLL NNNN", "LLLNNNN"),
    "WI": ("LLL-NNNN", "NNN-LLL"),
    "WV": ("NLL NNN", "NL NNNN"),
    "WY": ("N-NNNNN", "NN-NNNNL"),
}

SEPARATORS = frozenset("- *")
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def bare(pattern: str) -> str:
    """The pattern without its separators: the shape of the normalized read."""
    return "".join(c for c in pattern if c not in SEPARATORS)


@cache
def _shapes() -> tuple[re.Pattern[str], ...]:
    classes = {"L": "[A-Z]", "N": "[0-9]", "A": "[A-Z0-9]"}
    shapes = {bare(p) for patterns in FORMATS.values() for p in patterns}
    return tuple(
        re.compile("".join(classes[c] for c in shape)) for shape in sorted(shapes, key=str)
    )


def fits_a_format(text: str) -> bool:
    """Whether a normalized plate (A-Z0-9) has the shape of some state's serial format."""
    return any(shape.fullmatch(text) for shape in _shapes())


def states_fitting(text: str) -> list[str]:
    """The states one of whose serial formats the normalized plate fits, sorted."""
    classes = {"L": str.isalpha, "N": str.isdigit}
    found = []
    for state, patterns in FORMATS.items():
        for pattern in patterns:
            shape = bare(pattern)
            if len(shape) == len(text) and all(
                c == "A" or classes[c](t) for c, t in zip(shape, text, strict=True)
            ):
                found.append(state)
                break
    return sorted(found)
