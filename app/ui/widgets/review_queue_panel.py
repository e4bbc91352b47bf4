"""The supervisor's review queue: the unit's flagged searches (most severe, newest
first, as the hub orders and pages them), filtered at the hub by status, rule, user,
case and date; the chosen item's whole context (with the user's searches around it
and, on request, the reads it returned); and the decisions (approve, request a
justification, refer), each sent to the hub on the network lane. Several low-severity
random-sample items can be approved together.

And the user's side: a non-blocking notice of the supervisors' open questions, and
a dialog to answer one."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.flag_rules import RANDOM_SAMPLE
from app.core.records import CameraInfo
from app.core.schemas import JustificationRequestPublic, ReviewItemPublic
from app.ui.errors import user_message
from app.ui.formatting import count_of, local_time
from app.ui.models.review_queue_model import QUEUE_COLUMNS, ReviewQueueModel, status_words
from app.ui.operations import oversight, oversight_desk
from app.ui.widgets.review_context_pane import ReviewContextPane
from app.ui.widgets.review_filter_bar import FilterError, ReviewFilterBar
from app.ui.workers import TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

REVIEW_QUEUE_TAB = "Review queue"
CHOOSE_ITEM = "Choose a flagged search to see its context."
EMPTY_QUEUE = "No flagged searches wait for review."
NEEDS_NOTE = {
    "request_justification": "Write the question the user must answer.",
    "refer": "Say why and to whom this search is referred.",
}
FINAL_STATUSES = ("approved", "referred")
PAGE = 100  # items asked of the hub at a time
SAMPLE_STATUSES = ("open", "answered")  # what the hub approves together
SAMPLE_NOTE = "Routine random sample: checked, nothing of concern."


def sample_item(item: ReviewItemPublic) -> bool:
    """Whether the hub approves this item with others: low severity, random sample, undecided."""
    return (
        item.severity == "low"
        and RANDOM_SAMPLE in {rule.rule for rule in item.rules}
        and item.status in SAMPLE_STATUSES
    )


def item_html(item: ReviewItemPublic) -> str:
    """The item's whole context, for the detail pane (every value escaped)."""

    def e(value: object) -> str:
        return html.escape("-" if value is None or value == "" else str(value))

    who = f"{item.display_name} ({item.username})" if item.display_name else item.username
    rules = "".join(f"<li><b>{e(r.rule)}</b>: {e(r.reason)}</li>" for r in item.rules)
    history = "".join(
        f"<li>{e(local_time(step.at))} {e(step.actor)} {e(step.kind.replace('_', ' '))}: "
        f"{e(step.text)}</li>"
        for step in item.history
    )
    recent = "".join(
        f"<li>{e(local_time(s.occurred_at))} · {e(s.case_number)} · {e(s.purpose)} · "
        f"{e(s.result_count)} results{' · flagged' if s.flagged else ''}</li>"
        for s in item.recent_searches
    )
    params = json.dumps(item.params, indent=2, sort_keys=True, ensure_ascii=False)
    severity = item.severity
    return (
        f"<h3>{e(who)} · case {e(item.case_number)} ({e(item.case_status or 'unknown case')})</h3>"
        f"<p>Searched {e(local_time(item.occurred_at))} ({e(item.source)}); "
        f"flagged {e(local_time(item.flagged_at))}; severity {e(severity)}; "
        f"status {e(status_words(item.status))}.</p>"
        f"<p><b>Purpose</b>: {e(item.purpose)}<br><b>Justification</b>: "
        f"{e(item.justification)}<br><b>Results</b>: {e(item.result_count)}</p>"
        f"<p><b>Rules that fired</b></p><ul>{rules}</ul>"
        f"<p><b>Parameters</b></p><pre>{e(params)}</pre>"
        f"<p><b>History</b></p><ul>{history or '<li>no decision yet</li>'}</ul>"
        f"<p><b>The user's recent searches</b></p><ul>{recent}</ul>"
    )


class ReviewQueuePanel(QWidget):
    queue_loaded = Signal(int)  # items
    decided = Signal(str, str)  # item id, new status
    sampled = Signal(int)  # random-sample items approved together
    failed = Signal(str)  # the sentence shown

    def __init__(
        self, *, workstation: Workstation, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._ws = workstation
        self._runner = runner
        self.model = ReviewQueueModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        # Who searched and which rules fired take the spare width (their tooltips give
        # the whole name and each rule's reason); the other columns are as wide as what
        # they hold: a word, a date, a number.
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for column in ("User", "Rules"):
            header.setSectionResizeMode(QUEUE_COLUMNS.index(column), QHeaderView.ResizeMode.Stretch)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh")
        self.filter_bar = ReviewFilterBar()
        self.more_button = QPushButton("Show more")
        self.sample_button = QPushButton("Approve random sample")
        self.sample_button.setToolTip(
            "Approve the chosen low-severity random-sample items together"
        )
        self.context = ReviewContextPane(workstation=workstation, runner=runner)
        self._has_more = False
        self.detail = QTextBrowser()
        self.detail.setOpenLinks(False)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText(
            "Note: the question to ask (request justification), or why and to whom (refer)"
        )
        self.note_edit.setMaximumHeight(80)
        self.approve_button = QPushButton("Approve")
        self.justify_button = QPushButton("Request justification")
        self.refer_button = QPushButton("Refer")
        self._decision_buttons = {
            "approve": self.approve_button,
            "request_justification": self.justify_button,
            "refer": self.refer_button,
        }

        top = QHBoxLayout()
        top.addWidget(self.status_label, 1)
        top.addWidget(self.refresh_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(top)
        left_layout.addWidget(self.filter_bar)
        left_layout.addWidget(self.table)
        below = QHBoxLayout()
        below.addWidget(self.sample_button)
        below.addStretch(1)
        below.addWidget(self.more_button)
        left_layout.addLayout(below)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        context = QSplitter(Qt.Orientation.Vertical)
        context.addWidget(self.detail)
        context.addWidget(self.context)
        context.setSizes([420, 480])  # the item's rules in full above its reads
        right_layout.addWidget(context, 1)
        right_layout.addWidget(self.note_edit)
        buttons = QHBoxLayout()
        for button in self._decision_buttons.values():
            button.setAutoDefault(False)
            buttons.addWidget(button)
        right_layout.addLayout(buttons)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([700, 800])  # the opened item is what the supervisor reads
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        for button in (self.refresh_button, self.more_button, self.sample_button):
            button.setAutoDefault(False)
        self.refresh_button.clicked.connect(self.refresh)
        self.filter_bar.applied.connect(self.refresh)
        self.more_button.clicked.connect(self.more)
        self.sample_button.clicked.connect(self.approve_sample)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        for decision, button in self._decision_buttons.items():
            button.clicked.connect(lambda _=False, d=decision: self.decide(d))
        self._show(None)

    @property
    def current(self) -> ReviewItemPublic | None:
        """The opened item: the one chosen (none when several are)."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.item_at(rows[0].row()) if len(rows) == 1 else None

    @property
    def chosen(self) -> list[ReviewItemPublic]:
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [self.model.item_at(row) for row in rows]

    def conceal(self) -> None:
        """The lock: no item is left in the queue, nor its reads (it loads again after unlock)."""
        self.model.set_items([])
        self._has_more = False
        self.more_button.setEnabled(False)
        self.context.set_item(None)
        self._show(None)

    def set_cameras(self, cameras: Sequence[CameraInfo]) -> None:
        """The catalog's cameras, to name the cameras of an item's reads."""
        self.context.set_cameras(cameras)

    def refresh(self) -> None:
        """The first page of the queue, with the filters as they are."""
        self._load(after=None)

    def more(self) -> None:
        """The next page, after the last item shown."""
        items = self.model.items
        if items:
            self._load(after=items[-1].item_id)

    def _load(self, *, after: str | None) -> None:
        try:
            filters = self.filter_bar.filters()
        except FilterError as exc:
            self._failed_text(str(exc))
            return
        self.status_label.setText("Loading the review queue…")
        self.refresh_button.setEnabled(False)
        self.more_button.setEnabled(False)
        oversight_desk.load_page(
            workstation=self._ws,
            runner=self._runner,
            status=filters.status,
            rule=filters.rule,
            user=filters.user,
            case_number=filters.case_number,
            since=filters.since,
            until=filters.until,
            after=after,
            limit=PAGE,
            on_success=self._loaded if after is None else self._appended,
            on_failure=self._failed,
        )

    def select(self, item_id: str) -> None:
        row = self.model.row_of(item_id)
        if row is not None:
            self.table.selectRow(row)

    def select_many(self, item_ids: list[str]) -> None:
        """Choose these items together (as a Ctrl-click would)."""
        selection = QItemSelection()
        for item_id in item_ids:
            row = self.model.row_of(item_id)
            if row is not None:
                index = self.model.index(row, 0)
                selection.select(index, index)
        flags = (
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.selectionModel().select(selection, flags)

    def approve_sample(self) -> None:
        chosen = self.chosen
        if not chosen or not all(sample_item(item) for item in chosen):
            self._failed_text(
                "Choose only low-severity random-sample items that wait for a decision."
            )
            return
        self.sample_button.setEnabled(False)
        oversight_desk.approve_sample(
            workstation=self._ws,
            runner=self._runner,
            item_ids=[item.item_id for item in chosen],
            note=self.note_edit.toPlainText().strip() or SAMPLE_NOTE,
            on_success=self._sampled,
            on_failure=self._failed,
        )

    def decide(self, decision: str) -> None:
        item = self.current
        if item is None:
            return
        note = self.note_edit.toPlainText().strip()
        if decision in NEEDS_NOTE and not note:
            self._failed_text(NEEDS_NOTE[decision])
            return
        for button in self._decision_buttons.values():
            button.setEnabled(False)
        oversight.decide(
            workstation=self._ws,
            runner=self._runner,
            item_id=item.item_id,
            decision=decision,
            note=note,
            on_success=self._decided,
            on_failure=self._failed,
        )

    def _loaded(self, items: list[ReviewItemPublic]) -> None:
        self.model.set_items(items)
        self._paged(len(items))
        self._show(None)
        self.queue_loaded.emit(len(items))

    def _appended(self, items: list[ReviewItemPublic]) -> None:
        self.model.append_items(items)
        self._paged(len(items))
        self.queue_loaded.emit(self.model.rowCount())

    def _paged(self, received: int) -> None:
        self.refresh_button.setEnabled(True)
        self._has_more = received == PAGE
        self.more_button.setEnabled(self._has_more)
        shown = self.model.rowCount()
        more = "; more wait: Show more" if self._has_more else ""
        self.status_label.setText(
            count_of(shown, "flagged search", "flagged searches") + f" shown{more}"
            if shown
            else EMPTY_QUEUE
        )

    def _sampled(self, items: list[ReviewItemPublic]) -> None:
        for item in items:
            self.model.replace(item)
        self.note_edit.clear()
        self.status_label.setText(
            f"Approved {count_of(len(items), 'random-sample item')} together."
        )
        self._selected(QItemSelection(), QItemSelection())
        self.sampled.emit(len(items))

    def _decided(self, item: ReviewItemPublic) -> None:
        self.model.replace(item)
        self.note_edit.clear()
        self._show(item)
        self.decided.emit(item.item_id, item.status)

    def _failed(self, exc: BaseException) -> None:
        self.refresh_button.setEnabled(True)
        self.more_button.setEnabled(self._has_more)
        self._show(self.current)
        self._failed_text(user_message(exc))

    def _failed_text(self, text: str) -> None:
        self.status_label.setText(text)
        self.failed.emit(text)

    def _selected(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        item = self.current
        self._show(item)
        if self.context.item is None or item is None or self.context.item.item_id != item.item_id:
            self.context.set_item(item)
        chosen = self.chosen
        self.sample_button.setEnabled(bool(chosen) and all(sample_item(i) for i in chosen))

    def _show(self, item: ReviewItemPublic | None) -> None:
        several = len(self.table.selectionModel().selectedRows()) > 1
        if item is not None:
            self.detail.setHtml(item_html(item))
        elif several:
            self.detail.setHtml(
                html.escape(f"{len(self.chosen)} flagged searches chosen.")
                + "<p>Low-severity random-sample items can be approved together.</p>"
            )
        else:
            self.detail.setHtml(html.escape(CHOOSE_ITEM))
        open_item = item is not None and item.status not in FINAL_STATUSES
        for decision, button in self._decision_buttons.items():
            asked = item is not None and item.status == "justification_requested"
            button.setEnabled(open_item and not (asked and decision == "request_justification"))


class JustificationNotice(QFrame):
    """The non-blocking notice of a supervisor's open questions: Answer and Dismiss."""

    answer_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("justificationNotice")
        self.text_label = QLabel()
        self.answer_button = QPushButton("Answer")
        self.answer_button.setAutoDefault(False)
        self.dismiss_button = QPushButton("Later")
        self.dismiss_button.setAutoDefault(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.addWidget(self.text_label, 1)
        layout.addWidget(self.answer_button)
        layout.addWidget(self.dismiss_button)
        self.answer_button.clicked.connect(self.answer_requested)
        self.dismiss_button.clicked.connect(self.hide)
        self.hide()

    def conceal(self) -> None:
        """The lock: the notice is hidden (the next check shows it again)."""
        self.hide()

    def show_requests(self, requests: list[JustificationRequestPublic]) -> None:
        if not requests:
            self.hide()
            return
        waits = "waits" if len(requests) == 1 else "wait"
        self.text_label.setText(
            f"{count_of(len(requests), 'question')} from a supervisor about your searches "
            f"{waits} for your answer."
        )
        self.show()


class AnswerDialog(QDialog):
    """One question, the search it is about, and the user's answer."""

    answered = Signal(str)  # item id
    failed = Signal(str)

    def __init__(
        self,
        request: JustificationRequestPublic,
        *,
        workstation: Workstation,
        runner: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Answer a supervisor's question")
        self._ws = workstation
        self._runner = runner
        self.request = request
        rules = ", ".join(rule.rule.replace("_", " ") for rule in request.rules)
        self.question_label = QLabel(
            f"<b>{html.escape(request.requested_by)}</b> asks about your search of "
            f"{html.escape(local_time(request.occurred_at))} (case "
            f"{html.escape(request.case_number)}, flagged: {html.escape(rules)}):"
            f"<p>{html.escape(request.question)}</p>"
        )
        self.question_label.setWordWrap(True)
        self.answer_edit = QPlainTextEdit()
        self.answer_edit.setPlaceholderText("What the case needed this search for")
        self.error_label = QLabel()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Send answer")
        layout = QVBoxLayout(self)
        layout.addWidget(self.question_label)
        layout.addWidget(self.answer_edit)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.send)
        self.buttons.rejected.connect(self.reject)

    def send(self) -> None:
        text = self.answer_edit.toPlainText().strip()
        if not text:
            self._failed_text("The answer is empty; say what the case needed this search for.")
            return
        self.buttons.setEnabled(False)
        oversight.answer(
            workstation=self._ws,
            runner=self._runner,
            item_id=self.request.item_id,
            text=text,
            on_success=lambda _none: self._sent(),
            on_failure=lambda exc: self._failed_text(user_message(exc)),
        )

    def _sent(self) -> None:
        self.answered.emit(self.request.item_id)
        self.accept()

    def _failed_text(self, text: str) -> None:
        self.buttons.setEnabled(True)
        self.error_label.setText(text)
        self.failed.emit(text)
