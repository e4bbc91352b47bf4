"""The supervisor's charts (Qt Charts): searches per day, flags per rule, decisions
over time and users by volume, over the unit's last N days; each saved as PNG."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QDateTimeAxis,
    QHorizontalBarSeries,
    QLineSeries,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QDate, QDateTime, Qt, QTime, QTimeZone, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import KnownError
from app.core.insights import DEFAULT_DAYS, MAX_DAYS, OversightChartsPublic
from app.ui.errors import user_message
from app.ui.operations import insights as insight_ops
from app.ui.workers import TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

CHARTS_TAB = "Charts"
CHARTS = {
    "searches_per_day": "Searches per day",
    "flags_per_rule": "Flags per rule",
    "decisions": "Decisions over time",
    "users_by_volume": "Users by volume",
}
TOP_USERS = 15
DECISION_WORDS = {"approve": "approved", "request_justification": "justification asked",
                  "refer": "referred", "answer": "answered"}  # fmt: skip


def _bars(
    chart: QChart,
    categories: list[str],
    sets: dict[str, list[int]],
    *,
    axis_titles: tuple[str, str],
    horizontal: bool = False,
    stacked: bool = False,
) -> None:
    """Bars over `categories`; `axis_titles` names the categories' axis, then the counts'."""
    chart.removeAllSeries()
    for axis in chart.axes():
        chart.removeAxis(axis)
    series: QBarSeries | QHorizontalBarSeries | QStackedBarSeries
    if horizontal:
        series = QHorizontalBarSeries()
    elif stacked:
        series = QStackedBarSeries()
    else:
        series = QBarSeries()
    top = 0
    for name, values in sets.items():
        bar = QBarSet(name)
        bar.append([float(v) for v in values])
        series.append(bar)
        top = max(top, *values) if values else top
    if stacked:
        top = max([sum(col) for col in zip(*sets.values(), strict=True)] or [0])
    chart.addSeries(series)
    labels = QBarCategoryAxis()
    labels.append(categories or ["none"])
    labels.setTitleText(axis_titles[0])
    values_axis = QValueAxis()
    values_axis.setTitleText(axis_titles[1])
    values_axis.setRange(0, max(1, top))
    values_axis.setLabelFormat("%d")
    values_axis.setTickCount(min(max(2, top + 1), 6))
    values_axis.applyNiceNumbers()
    label_side, value_side = (
        (Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignBottom)
        if horizontal
        else (Qt.AlignmentFlag.AlignBottom, Qt.AlignmentFlag.AlignLeft)
    )
    chart.addAxis(labels, label_side)
    chart.addAxis(values_axis, value_side)
    series.attachAxis(labels)
    series.attachAxis(values_axis)
    chart.legend().setVisible(len(sets) > 1)
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)


def _days_line(chart: QChart, points: list[tuple[date, int]]) -> None:
    """One point a day on a date axis (a week between labels, at most)."""
    chart.removeAllSeries()
    for axis in chart.axes():
        chart.removeAxis(axis)
    series = QLineSeries()
    series.setName("searches")
    series.setPointsVisible(True)
    for day, count in points:
        moment = QDateTime(QDate(day.year, day.month, day.day), QTime(12, 0), QTimeZone.utc())
        series.append(float(moment.toMSecsSinceEpoch()), float(count))
    chart.addSeries(series)
    days = QDateTimeAxis()
    days.setFormat("MM-dd")
    days.setTitleText("Day (UTC)")
    days.setTickCount(min(max(2, len(points)), 7))
    if points:
        first, last = points[0][0], points[-1][0]
        days.setRange(
            QDateTime(QDate(first.year, first.month, first.day), QTime(0, 0), QTimeZone.utc()),
            QDateTime(QDate(last.year, last.month, last.day), QTime(23, 59), QTimeZone.utc()),
        )
    counts = QValueAxis()
    counts.setRange(0, max([1, *(c for _, c in points)]))
    counts.setLabelFormat("%d")
    counts.setTitleText("Searches")
    counts.applyNiceNumbers()
    chart.addAxis(days, Qt.AlignmentFlag.AlignBottom)
    chart.addAxis(counts, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(days)
    series.attachAxis(counts)
    chart.legend().setVisible(False)


class ChartsPanel(QWidget):
    loaded = Signal()
    saved = Signal(str)  # the PNG written
    failed = Signal(str)

    def __init__(
        self, *, workstation: Workstation, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._ws = workstation
        self._runner = runner
        self.data: OversightChartsPublic | None = None
        self.days_spin = QSpinBox()
        self.days_spin.setRange(1, MAX_DAYS)
        self.days_spin.setValue(DEFAULT_DAYS)
        self.days_spin.setSuffix(" days")
        self.refresh_button = QPushButton("Refresh")
        self.status_label = QLabel()
        self.views: dict[str, QChartView] = {}
        grid = QGridLayout()
        for index, (key, title) in enumerate(CHARTS.items()):
            chart = QChart()
            chart.setTitle(title)
            chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
            view = QChartView(chart)
            view.setRenderHint(QPainter.RenderHint.Antialiasing)
            view.setMinimumSize(320, 220)
            save = QPushButton("Save PNG…")
            save.setAutoDefault(False)
            save.clicked.connect(lambda _=False, k=key: self._choose_file(k))
            box = QVBoxLayout()
            box.addWidget(view, 1)
            box.addWidget(save, 0, Qt.AlignmentFlag.AlignRight)
            grid.addLayout(box, index // 2, index % 2)
            self.views[key] = view
        top = QHBoxLayout()
        top.addWidget(QLabel("Over the last"))
        top.addWidget(self.days_spin)
        top.addWidget(self.refresh_button)
        top.addWidget(self.status_label, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(grid, 1)
        self.refresh_button.clicked.connect(self.refresh)

    def conceal(self) -> None:
        """The lock: the charts are emptied (they load again when opened)."""
        self.data = None
        for view in self.views.values():
            view.chart().removeAllSeries()
            for axis in view.chart().axes():
                view.chart().removeAxis(axis)
        self.status_label.clear()

    def refresh(self) -> None:
        self.refresh_button.setEnabled(False)
        self.status_label.setText("Loading the charts…")
        insight_ops.load_charts(
            workstation=self._ws, runner=self._runner, days=self.days_spin.value(),
            on_success=self.show_data, on_failure=self._failed,
        )  # fmt: skip

    def show_data(self, data: OversightChartsPublic) -> None:
        self.data = data
        self.refresh_button.setEnabled(True)
        days = data.searches_per_day
        _days_line(self.views["searches_per_day"].chart(), [(d.day, d.count) for d in days])
        _bars(
            self.views["flags_per_rule"].chart(),
            [c.key.replace("_", " ") for c in data.flags_per_rule],
            {"flags": [c.searches for c in data.flags_per_rule]},
            axis_titles=("Rule", "Searches flagged"),
            horizontal=True,
        )
        self.views["decisions"].chart().setTitle(
            CHARTS["decisions"] + ("" if data.decisions_per_day else " (none in this period)")
        )
        decision_days = sorted({d.day for d in data.decisions_per_day})
        kinds = sorted({d.decision for d in data.decisions_per_day})
        counts = {(d.day, d.decision): d.count for d in data.decisions_per_day}
        _bars(
            self.views["decisions"].chart(),
            [f"{day:%m-%d}" for day in decision_days],
            {DECISION_WORDS.get(k, k): [counts.get((day, k), 0) for day in decision_days]
             for k in kinds} or {"decisions": []},
            axis_titles=("Day (UTC)", "Decisions"),
            stacked=True,
        )  # fmt: skip
        users = list(reversed(data.users_by_volume[:TOP_USERS]))
        _bars(
            self.views["users_by_volume"].chart(),
            [u.key for u in users],
            {"searches": [u.searches for u in users]},
            axis_titles=("User", "Searches"),
            horizontal=True,
        )
        total = sum(d.count for d in days)
        self.status_label.setText(
            f"{total} searches, {sum(c.searches for c in data.flags_per_rule)} flags, "
            f"{sum(d.count for d in data.decisions_per_day)} decisions and answers "
            f"over {data.days} days."
        )
        self.loaded.emit()

    def save_png(self, key: str, path: Path) -> Path:
        """Write one chart as PNG, as it is shown."""
        if not self.views[key].grab().save(str(path), "PNG"):
            raise KnownError(f"The chart could not be written to {path}; choose another folder.")
        self.saved.emit(str(path))
        return path

    def _choose_file(self, key: str) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Save the chart", f"{key.replace('_', '-')}.png", "*.png"
        )
        if not name:
            return
        try:
            self.save_png(key, Path(name))
        except KnownError as exc:
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        self.refresh_button.setEnabled(True)
        text = user_message(exc)
        self.status_label.setText(text)
        self.failed.emit(text)
