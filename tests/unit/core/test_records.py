"""Search orders as the CLI and saved views spell them."""

from __future__ import annotations

import pytest

from app.core.records import SearchOrder, SortKey, parse_order


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("time", SearchOrder(SortKey.TIME, descending=True)),
        ("plate", SearchOrder(SortKey.PLATE, descending=False)),
        ("Plate:DESC", SearchOrder(SortKey.PLATE, descending=True)),
        ("confidence", SearchOrder(SortKey.CONFIDENCE, descending=True)),
        ("time:asc", SearchOrder(SortKey.TIME, descending=False)),
    ],
)
def test_orders_parse_with_a_natural_default_direction(text: str, expected: SearchOrder) -> None:
    assert parse_order(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"), [("speed", "'speed' is not a sort key"), ("plate:up", "'up' is not")]
)
def test_a_bad_order_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_order(text)
