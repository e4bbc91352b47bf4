"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from app.core.canonical import parse_utc, utc_iso


def to_ms(moment: datetime) -> datetime:
    """The moment in UTC, truncated to the millisecond (the precision the hub keeps)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in Platedesk is timezone-aware UTC")
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def sqlite_text(moment: datetime) -> str:
    """utc_iso(moment), the form SQLite keeps, made faster for the common case (a UTC
    time of a four-digit year): it is bound for every time column of every row."""
    if moment.tzinfo is UTC and moment.year >= 1000:
        return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
    return utc_iso(moment)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC time kept to the millisecond.

    PostgreSQL stores it as `timestamptz`; SQLite as ISO text with a Z
    (`2026-11-20T08:00:00.000Z`), which sorts and compares in time order.
    """

    impl = sa.String(24)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.DateTime(timezone=True))
        return dialect.type_descriptor(sa.String(24))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return to_ms(value)
        return sqlite_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return to_ms(value)
        return parse_utc(str(value))
