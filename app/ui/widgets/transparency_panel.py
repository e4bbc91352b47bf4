"""The supervisor's transparency tab: a preview of exactly what the public page shows
(the hub's /transparency.json, rendered by the page's own renderer), and the
council's monthly report saved as a PDF."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.schemas import TransparencyPublic
from app.core.transparency_page import render_transparency
from app.ui.errors import user_message
from app.ui.operations import oversight_desk
from app.ui.workers import TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

TRANSPARENCY_TAB = "Transparency"
PREVIEW_NOTE = "Exactly what the public transparency page shows now."


def last_month(now: datetime | None = None) -> str:
    """YYYY-MM of the month before this one (UTC): the report the council usually wants."""
    first = (now or datetime.now(UTC)).replace(day=1)
    return f"{first - timedelta(days=1):%Y-%m}"


class TransparencyPanel(QWidget):
    preview_loaded = Signal()
    report_saved = Signal(str)  # the path written
    failed = Signal(str)

    def __init__(
        self, *, workstation: Workstation, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._ws = workstation
        self._runner = runner
        self.report: TransparencyPublic | None = None
        self.status_label = QLabel(PREVIEW_NOTE)
        self.refresh_button = QPushButton("Refresh")
        self.preview = QTextBrowser()
        self.preview.setOpenLinks(False)
        self.month_edit = QLineEdit(last_month())
        self.month_edit.setPlaceholderText("YYYY-MM")
        self.month_edit.setMaximumWidth(100)
        self.save_button = QPushButton("Save monthly report (PDF)…")
        for button in (self.refresh_button, self.save_button):
            button.setAutoDefault(False)
        top = QHBoxLayout()
        top.addWidget(self.status_label, 1)
        top.addWidget(self.refresh_button)
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel("Council report for month"))
        bottom.addWidget(self.month_edit)
        bottom.addWidget(self.save_button)
        bottom.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.preview, 1)
        layout.addLayout(bottom)
        self.refresh_button.clicked.connect(self.refresh)
        self.save_button.clicked.connect(self._ask_where)

    def refresh(self) -> None:
        self.refresh_button.setEnabled(False)
        self.status_label.setText("Loading the public figures…")
        oversight_desk.load_transparency(
            workstation=self._ws, runner=self._runner, on_success=self._shown,
            on_failure=self._failed,
        )  # fmt: skip

    def save_report(self, out: Path) -> None:
        """Fetch the month's report and save it at `out` (the dialog's choice)."""
        self.save_button.setEnabled(False)
        self.status_label.setText(f"Preparing the report for {self.month_edit.text().strip()}…")
        oversight_desk.save_monthly_report(
            workstation=self._ws,
            runner=self._runner,
            month=self.month_edit.text(),
            out=out,
            on_success=self._saved,
            on_failure=self._failed,
        )

    def _ask_where(self) -> None:
        month = self.month_edit.text().strip()
        name, _filter = QFileDialog.getSaveFileName(
            self, "Save the monthly report", f"transparency-{month}.pdf", "PDF (*.pdf)"
        )
        if name:
            self.save_report(Path(name))

    def _shown(self, report: TransparencyPublic) -> None:
        self.report = report
        self.refresh_button.setEnabled(True)
        self.status_label.setText(PREVIEW_NOTE)
        self.preview.setHtml(render_transparency(report))
        self.preview_loaded.emit()

    def _saved(self, path: Path) -> None:
        self.save_button.setEnabled(True)
        self.status_label.setText(f"Saved the report as {path}.")
        self.report_saved.emit(str(path))

    def _failed(self, exc: BaseException) -> None:
        text = user_message(exc)
        self.refresh_button.setEnabled(True)
        self.save_button.setEnabled(True)
        self.status_label.setText(text)
        self.failed.emit(text)
