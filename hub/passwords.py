"""The password rules: length, the banned list, and not the user name.

The banned list (hub/data/banned-passwords.txt) holds common and leaked
passwords and their usual variations; it is compared case-insensitively.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from app.core.policy import MIN_PASSWORD_LENGTH

MIN_USERNAME_IN_PASSWORD = 3


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
    return None
