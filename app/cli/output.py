"""What a command prints: JSON with --json, otherwise lines a person reads (a list of
records as an aligned table, a record as "key: value" lines)."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

from app.core.canonical import utc_iso


def print_result(result: Any, *, as_json: bool) -> None:
    plain = _plain(result)
    if as_json:
        print(json.dumps(plain, indent=None, ensure_ascii=False))
    elif isinstance(plain, dict):
        for key, value in plain.items():
            if _is_table(value):
                print(f"{key}:" if value else f"{key}: none")
                for line in _table(value):
                    print(f"  {line}")
            elif isinstance(value, list | dict):
                print(f"{key}: {json.dumps(value, ensure_ascii=False)}")
            else:
                print(f"{key}: {value}")
    elif _is_table(plain):
        for line in _table(plain):
            print(line)
    else:
        print(json.dumps(plain, indent=2, ensure_ascii=False))


def _is_table(value: Any) -> bool:
    """A list of records (dicts), shown to people as a table."""
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    """Rows as aligned columns under a header; an empty value is shown as "-"."""
    if not rows:
        return []
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [
        ["-" if row.get(c) in (None, "") else str(row.get(c)) for c in columns] for row in rows
    ]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [columns, *cells]
    return [
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return utc_iso(value)
    return value
