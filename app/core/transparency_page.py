"""The /transparency page: semantic HTML with inline CSS, readable on a phone, no script.

Every value is escaped; the page shows only what TransparencyPublic holds (counts,
policy text, purpose labels, prohibited-use reasons).

Pure rendering, in app.core so that the hub serves it (/transparency) and the
supervisor's desk previews exactly the same page from /transparency.json.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from app.core.canonical import utc_iso
from app.core.records import SEARCH_OUTCOMES
from app.core.schemas import TransparencyPublic

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:1rem;
line-height:1.5;color:#1b1f23;background:#fff;max-width:46rem;margin-inline:auto}
h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.15rem;margin-top:1.75rem;
border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .25rem;
border-bottom:1px solid #eaeef2;vertical-align:top}td.n{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}
ul{padding-left:1.25rem}small{color:#57606a}
"""

# The attributes are for the desk's preview (Qt's rich text reads no rem padding and no
# CSS width on tables); browsers follow the style sheet.
TABLE = '<table cellpadding="4" width="100%">'

REVIEW_LABELS = {
    "approved": "Approved",
    "justification_requested": "Justification requested",
    "referred": "Referred",
}


def _rows(items: Iterable[tuple[str, object]]) -> str:
    return "".join(
        f'<tr><th scope="row">{escape(label)}</th><td class="n">{escape(str(value))}</td></tr>'
        for label, value in items
    )


def _list(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def render_transparency(report: TransparencyPublic) -> str:
    last_purge = utc_iso(report.last_purge_at) if report.last_purge_at else "not yet run"
    figures = _rows(
        [
            ("Cameras in use", report.cameras_in_use),
            (f"Searches, last {report.period_days} days", report.searches),
            ("Unique vehicles detected", report.unique_vehicles),
            ("Refused searches", report.refused_searches),
            ("Flagged searches", report.flagged_searches),
            ("Days reads are kept", report.retention_days),
            ("Last purge of expired reads", last_purge),
        ]
    )
    kinds = _rows(
        [
            (
                "On investigators' workstations",
                report.searches_by_kind.get("workstation_searches", 0),
            ),
            ("Remote searches at the hub", report.searches_by_kind.get("hub_searches", 0)),
            ("Requests for reads", report.searches_by_kind.get("slice_requests", 0)),
        ]
    )
    outcomes = _rows(
        (SEARCH_OUTCOMES.get(code, "Other"), count)
        for code, count in report.search_outcomes.items()
    )
    reviews = _rows(
        (REVIEW_LABELS.get(code, code.replace("_", " ").capitalize()), count)
        for code, count in report.review_outcomes.items()
    )
    partners = (
        _list(report.partner_agencies)
        if report.partner_agencies
        else "<p>No partner agency accessed data in this period.</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>ALPR transparency report</title>"
        f"<style>{STYLE}</style></head><body>"
        "<header><h1>ALPR transparency report</h1>"
        f"<p><small>Period {escape(utc_iso(report.period_start))} to "
        f"{escape(utc_iso(report.generated_at))}. Also as "
        '<a href="/transparency.json">JSON</a>.</small></p></header><main>'
        f"<section><h2>Policy</h2><p>{escape(report.agency_policy)}</p></section>"
        f"<section><h2>Figures</h2>{TABLE}{figures}</table></section>"
        f"<section><h2>Searches by kind</h2>{TABLE}{kinds}</table></section>"
        f"<section><h2>What searches led to</h2>{TABLE}{outcomes}</table></section>"
        f"<section><h2>Review of flagged searches</h2>{TABLE}{reviews}</table></section>"
        f"<section><h2>Partner agencies that accessed data</h2>{partners}</section>"
        f"<section><h2>Acceptable uses</h2>{_list(report.acceptable_uses)}</section>"
        f"<section><h2>Prohibited uses</h2>{_list(report.prohibited_uses)}</section>"
        f"<section><h2>How these figures are counted</h2>{_list(report.counting_rules)}"
        "</section></main></body></html>\n"
    )
