"""Transparency: what the public page shows, and the council's monthly report (remote).

preview() is exactly what the hub's /transparency.json serves to anyone, so the
supervisor's desk shows the public page's figures, not a figure of its own.
monthly_report() fetches the PDF (supervisors and administrators; the hub audits
it), writes it where the user chose, and journals the saving.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from app.core.errors import ErrorKind, KnownError
from app.core.schemas import TransparencyPublic
from app.services.session import Session

REPORT_ACTION = "transparency.report"
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class ReportInputError(KnownError):
    kind = ErrorKind.INVALID


class TransparencyService:
    def __init__(self, session: Session) -> None:
        self._s = session

    def preview(self) -> TransparencyPublic:
        """The public figures, as the public page shows them."""
        return self._s.client.transparency()

    def monthly_report(self, month: str, *, out: Path) -> Path:
        """Save the council's report for YYYY-MM as a PDF at `out`; journaled."""
        month = month.strip()
        if not MONTH_RE.fullmatch(month):
            raise ReportInputError(f"'{month}' is not a month; write it as YYYY-MM, e.g. 2026-11.")
        if out.suffix.lower() != ".pdf":
            out = out.with_suffix(".pdf")
        self._s.require()
        pdf = self._s.client.transparency_report(month)
        _write_atomically(out, pdf)
        with self._s.journaled(
            REPORT_ACTION, object_refs={"month": month}, params={"bytes": len(pdf)}
        ):
            pass
        return out


def _write_atomically(path: Path, data: bytes) -> None:
    """Write the whole file or nothing (a half-written report is never left behind)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".report-", suffix=".pdf", dir=path.parent)
    except OSError as exc:
        raise ReportInputError(
            f"Cannot write in {path.parent} ({exc.strerror}); choose another folder."
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise ReportInputError(
            f"Cannot write {path} ({exc.strerror}); choose another file."
        ) from None
