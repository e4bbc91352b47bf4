"""The review queue's filters: status, rule, user, case and the searches' dates. The
hub applies them all (hub.review.list_items); this bar only collects them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QLineEdit, QPushButton, QWidget

from app.core.flag_rules import RULES
from app.services.oversight import STATUSES

ANY_RULE = "any rule"
BAD_DATE = "'{text}' is not a date; write it as YYYY-MM-DD, or leave it empty."


class FilterError(ValueError):
    """A filter the user typed that cannot be sent (the message says what to fix)."""


@dataclass(frozen=True)
class QueueFilters:
    status: str = "pending"
    rule: str | None = None
    user: str | None = None
    case_number: str | None = None
    since: datetime | None = None  # searches from this local day on
    until: datetime | None = None  # searches before the end of this local day


def _day(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(BAD_DATE.format(text=text)) from None


def _start_of(day: date) -> datetime:
    """The first instant of a local calendar day, in UTC."""
    return datetime.combine(day, time()).astimezone().astimezone(UTC)


class ReviewFilterBar(QWidget):
    applied = Signal()  # the user asked for the queue with these filters

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status_box = QComboBox()
        for status in STATUSES:
            self.status_box.addItem(status.replace("_", " "), status)
        self.rule_box = QComboBox()
        self.rule_box.addItem(ANY_RULE, None)
        for rule in (*RULES, "unevaluated"):
            self.rule_box.addItem(rule.replace("_", " "), rule)
        self.user_edit = QLineEdit()
        self.user_edit.setPlaceholderText("user")
        self.case_edit = QLineEdit()
        self.case_edit.setPlaceholderText("case")
        self.from_edit = QLineEdit()
        self.from_edit.setPlaceholderText("from YYYY-MM-DD")
        self.to_edit = QLineEdit()
        self.to_edit.setPlaceholderText("to YYYY-MM-DD")
        self.apply_button = QPushButton("Filter")
        self.apply_button.setAutoDefault(False)
        layout = QGridLayout(self)  # two rows: what, then whose and when
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status_box, 0, 0)
        layout.addWidget(self.rule_box, 0, 1)
        layout.addWidget(self.user_edit, 0, 2)
        layout.addWidget(self.apply_button, 0, 3)
        layout.addWidget(self.case_edit, 1, 0)
        layout.addWidget(self.from_edit, 1, 1)
        layout.addWidget(self.to_edit, 1, 2)
        self.apply_button.clicked.connect(self.applied)
        for edit in (self.user_edit, self.case_edit, self.from_edit, self.to_edit):
            edit.returnPressed.connect(self.applied)

    def filters(self) -> QueueFilters:
        """The filters as typed; FilterError names a date that is not one."""
        first, last = _day(self.from_edit.text()), _day(self.to_edit.text())
        if first is not None and last is not None and last < first:
            raise FilterError("The 'to' date is before the 'from' date; swap them.")
        return QueueFilters(
            status=str(self.status_box.currentData()),
            rule=self.rule_box.currentData(),
            user=self.user_edit.text().strip() or None,
            case_number=self.case_edit.text().strip() or None,
            since=None if first is None else _start_of(first),
            until=None if last is None else _start_of(last + timedelta(days=1)),
        )
