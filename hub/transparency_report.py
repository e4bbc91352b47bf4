"""The monthly transparency report for the council, as PDF.

The same figures as the public page (hub.transparency.build_report), counted over
one calendar month (UTC) instead of the last 30 days, plus two lists the public
page only counts: the month's refused requests (when, search or slice, the purpose
asked for, the hub's reason; never a plate, a case or a name) and the partner
agencies' accesses (agency, feed pages and images received). Refusal reasons are
the hub's own sentences, not a user's text.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.errors import ErrorKind, KnownError
from app.core.purposes import PURPOSES
from app.core.schemas import TransparencyPublic
from hub.audit import HUB_DEVICE_ID
from hub.db.tables import audit_events, users
from hub.slices import PARTNER_ACCESS_ACTION
from hub.transparency import (
    IMAGE_FETCH,
    REFUSALS,
    _moment,
    _param,
    build_report,
    period_conditions,
)

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
REFUSALS_SHOWN = 500
REPORT_ACTION = "transparency.report"


class MonthError(KnownError):
    kind = ErrorKind.INVALID


@dataclass(frozen=True)
class Refusal:
    at: datetime | None
    kind: str  # "search" or "slice"
    purpose: str
    reason: str


@dataclass(frozen=True)
class PartnerAccess:
    agency: str
    feed_pages: int
    images: int


@dataclass(frozen=True)
class MonthlyReport:
    month: str
    figures: TransparencyPublic
    refusals: list[Refusal]
    partner_accesses: list[PartnerAccess]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) in UTC, for 'YYYY-MM'."""
    found = MONTH_RE.fullmatch(month.strip())
    if found is None:
        raise MonthError(f"'{month}' is not a month; write it as YYYY-MM, e.g. 2026-11.")
    year, number = int(found.group(1)), int(found.group(2))
    try:
        start = datetime(year, number, 1, tzinfo=UTC)
        end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=UTC)
    except ValueError:  # year 0 or 9999-12: outside the calendar Python keeps
        raise MonthError(f"{month} is outside the years the hub reports on.") from None
    return start, end


def build_monthly(
    connection: Connection, *, month: str, now: datetime, retention_days: int
) -> MonthlyReport:
    start, end = month_bounds(month)
    if start > now:
        raise MonthError(f"{month} has not begun; choose this month or an earlier one.")
    figures = build_report(
        connection, now=now, retention_days=retention_days, since=start, until=end
    )
    period = period_conditions(start, end)
    refusals = [
        Refusal(
            at=_moment(row.occurred_at),
            kind=row.action.split(".")[0],
            purpose=PURPOSES.get(str(_param(row.params, "purpose")), "unknown purpose"),
            reason=_param(row.params, "reason") or "no reason recorded",
        )
        for row in connection.execute(
            sa.select(audit_events.c.occurred_at, audit_events.c.action, audit_events.c.params)
            .where(
                audit_events.c.action.in_(REFUSALS),
                audit_events.c.device_id == HUB_DEVICE_ID,
                *period,
            )
            .order_by(audit_events.c.occurred_at, audit_events.c.row_id)
            .limit(REFUSALS_SHOWN)
        )
    ]
    counts: dict[str, dict[str, int]] = {}
    for agency, action, count in connection.execute(
        sa.select(users.c.partner_agency, audit_events.c.action, sa.func.count())
        .select_from(audit_events.join(users, users.c.username == audit_events.c.username))
        .where(
            audit_events.c.action.in_((PARTNER_ACCESS_ACTION, IMAGE_FETCH)),
            audit_events.c.device_id == HUB_DEVICE_ID,
            users.c.partner_agency.is_not(None),
            *period,
        )
        .group_by(users.c.partner_agency, audit_events.c.action)
    ):
        counts.setdefault(str(agency), {})[str(action)] = int(count)
    accesses = [
        PartnerAccess(
            agency=agency,
            feed_pages=by_action.get(PARTNER_ACCESS_ACTION, 0),
            images=by_action.get(IMAGE_FETCH, 0),
        )
        for agency, by_action in sorted(counts.items())
    ]
    return MonthlyReport(month=month, figures=figures, refusals=refusals, partner_accesses=accesses)


def _rows(pairs: dict[str, int]) -> list[list[str]]:
    return [[name.replace("_", " ").capitalize(), f"{value:,}"] for name, value in pairs.items()]


def render_pdf(report: MonthlyReport) -> bytes:
    """The report as a PDF (a few pages; built in memory)."""
    from reportlab.lib import colors  # type: ignore[import-untyped]
    from reportlab.lib.pagesizes import LETTER  # type: ignore[import-untyped]
    from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
    from reportlab.platypus import (  # type: ignore[import-untyped]
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    f = report.figures
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )

    def table(header: list[str], rows: list[list[Any]], widths: list[float]) -> Table:
        body = [[Paragraph(str(cell), styles["BodyText"]) for cell in row] for row in rows]
        made = Table([header, *body], colWidths=widths, repeatRows=1)
        made.setStyle(grid)
        return made

    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    start, _end = month_bounds(report.month)
    title = f"ALPR transparency report: {start:%B %Y}"
    story: list[Any] = [
        Paragraph(esc(title), styles["Title"]),
        Paragraph(
            esc(
                f"Month {report.month} (UTC), generated {f.generated_at:%Y-%m-%d %H:%M} UTC. "
                "The same figures as the public transparency page, counted over this month, "
                "with the month's refused requests and partner agencies' accesses."
            ),
            styles["BodyText"],
        ),
        Spacer(1, 10),
        Paragraph("Figures", styles["Heading2"]),
        table(
            ["Figure", "Count"],
            [
                ["Searches", f"{f.searches:,}"],
                *_rows(f.searches_by_kind),
                ["Refused searches", f"{f.refused_searches:,}"],
                ["Unique vehicles", f"{f.unique_vehicles:,}"],
                ["Flagged searches", f"{f.flagged_searches:,}"],
                ["Cameras in use", f"{f.cameras_in_use:,}"],
            ],
            [300, 120],
        ),
        Spacer(1, 8),
        Paragraph("Review outcomes", styles["Heading3"]),
        table(["Outcome", "Count"], _rows(f.review_outcomes), [300, 120]),
        Spacer(1, 8),
        Paragraph("Search outcomes", styles["Heading3"]),
        table(["Outcome", "Count"], _rows(f.search_outcomes), [300, 120]),
        Spacer(1, 10),
        Paragraph(f"Refused requests ({len(report.refusals):,})", styles["Heading2"]),
    ]
    if report.refusals:
        story.append(
            table(
                ["When (UTC)", "Kind", "Purpose asked", "Reason"],
                [
                    [
                        "-" if r.at is None else f"{r.at:%Y-%m-%d %H:%M}",
                        r.kind,
                        esc(r.purpose),
                        esc(r.reason),
                    ]
                    for r in report.refusals
                ],
                [90, 45, 110, 270],
            )
        )
    else:
        story.append(Paragraph("No request was refused this month.", styles["BodyText"]))
    story += [
        Spacer(1, 10),
        Paragraph("Partner agencies' accesses", styles["Heading2"]),
    ]
    if report.partner_accesses:
        story.append(
            table(
                ["Agency", "Feed pages", "Images"],
                [
                    [esc(a.agency), f"{a.feed_pages:,}", f"{a.images:,}"]
                    for a in report.partner_accesses
                ],
                [260, 100, 100],
            )
        )
    else:
        story.append(Paragraph("No partner agency received reads this month.", styles["BodyText"]))
    story += [
        Spacer(1, 10),
        Paragraph("How the figures are counted", styles["Heading2"]),
        Paragraph(
            "As on the public page, except that this report counts each figure over the "
            "calendar month (UTC) instead of the last 30 days; reads deleted after 30 days "
            "no longer count as unique vehicles.",
            styles["BodyText"],
        ),
    ]
    story += [Paragraph(esc(rule), styles["BodyText"]) for rule in f.counting_rules]
    out = io.BytesIO()
    SimpleDocTemplate(
        out, pagesize=LETTER, title=title, author="Platedesk hub", leftMargin=48, rightMargin=48
    ).build(story)
    return out.getvalue()
