"""A column among a list of values, bound as one parameter where the database allows.

On PostgreSQL `column = ANY(:values)` binds the list as one array: SQLAlchemy
compiles the statement once and psycopg parses it once, whatever the list's length
(an IN list of 200 values is a new statement for each length, and compiling and
parsing it cost more than the query: 0.08 ms a read in ingest's hotlist matching).
SQLite has no arrays: there it is an expanding IN list. A statement is therefore
built once per dialect (by_dialect) and picked by the connection's dialect name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

DIALECTS = ("postgresql", "sqlite")


def among(column: sa.ColumnElement[Any], name: str, dialect: str) -> sa.ColumnElement[bool]:
    """`column` is one of the values of the list parameter `name`, for `dialect`."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=ARRAY(column.type)))
    return column.in_(sa.bindparam(name, expanding=True))


def by_dialect(build: Callable[[str], Any]) -> dict[str, Any]:
    """`build(dialect)` for each dialect the hub runs on: pick with connection.dialect.name."""
    return {dialect: build(dialect) for dialect in DIALECTS}
