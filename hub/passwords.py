"""The password rules: length, the banned list, not the user name, and a strength
estimate.

The banned list (hub/data/banned-passwords.txt) holds common and leaked
passwords and their usual variations; it is compared case-insensitively. A list
misses what a guesser tries next (`Passw0rd!`, `Platedesk1`: a common word, a
capital, a digit, a symbol), so every password is also scored by zxcvbn (Dropbox's
estimate of how many guesses an attacker needs, with its dictionaries of passwords,
names and words, keyboard patterns, dates and l33t substitutions; the product's
name and the user name count as known words): a score of at least 3, "safely
unguessable: moderate protection from an offline slow-hash attack", is needed.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from zxcvbn import zxcvbn

from app.core.policy import MIN_PASSWORD_LENGTH

MIN_USERNAME_IN_PASSWORD = 3
MIN_STRENGTH_SCORE = 3  # zxcvbn's 0..4
STRENGTH_PREFIX = 72  # zxcvbn's own limit: a longer password is scored on its first 72
PRODUCT_WORDS = ("platedesk", "plate", "desk", "alpr", "hub")


@cache
def banned_passwords() -> frozenset[str]:
    text = resources.files("hub").joinpath("data/banned-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def password_problem(password: str, *, username: str) -> str | None:
    """Why this password is refused, as a sentence for the user; None when it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    if lowered in banned_passwords():
        return "This password is on the list of common or leaked passwords; choose another."
    name = username.lower()
    if len(name) >= MIN_USERNAME_IN_PASSWORD and name in lowered:
        return "A password may not contain the user name."
    if len(set(lowered)) <= 2:
        return "A password may not repeat one or two characters; choose another."
    estimate = zxcvbn(password[:STRENGTH_PREFIX], user_inputs=[*PRODUCT_WORDS, username])
    if int(estimate["score"]) < MIN_STRENGTH_SCORE:
        warning = str(estimate["feedback"].get("warning") or "").rstrip(".")
        why = f" ({warning[0].lower()}{warning[1:]})" if warning else ""
        return (
            f"This password is too easy to guess{why}; use a longer one, e.g. three or "
            "four unrelated words."
        )
    return None
