"""The search panel: a plate pattern checked as it is typed, likely misreads, and filters.

The panel builds the SearchQuery (app/core/records.py); the engine searches with
every field of it and journals it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import PatternError
from app.core.plates import PlatePattern, parse_pattern
from app.core.records import CameraInfo, SavedSearch, SearchQuery
from app.ui.formatting import count_of, to_qdatetime, to_utc

FUZZY_LABEL = "Include likely misreads"
ALL_CAMERAS = "All cameras"
ANY_CONFIDENCE = "Any"
TIME_RANGE_ERROR = "The start of the time range must be before its end"
DATETIME_FORMAT = "yyyy-MM-dd HH:mm"
DEFAULT_LOOKBACK = timedelta(days=1)
SAVED_LABEL = "Saved searches"
NO_SAVED = "No saved searches for this case"


class SearchPanel(QFrame):
    """Query field, misread toggle, filters, Search button, result count; and the case gate."""

    search_requested = Signal(object)  # PlatePattern, or None for every read of the case
    filters_changed = Signal()
    saved_search_chosen = Signal(object)  # SavedSearch
    saved_search_delete_requested = Signal(object)  # SavedSearch
    save_requested = Signal()
    # The rows shown no longer answer what the panel says (an invalid pattern): drop them.
    results_outdated = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchPanel")
        self._gate: str | None = None
        self._pattern: PlatePattern | None = None
        self._valid = True
        self._searched = False  # a search was asked for: clearing filters runs it again
        self.camera_actions: dict[str, QAction] = {}
        self.saved_actions: dict[int, QAction] = {}
        self.delete_saved_actions: dict[int, QAction] = {}
        self.saved_searches: list[SavedSearch] = []

        self.query_edit = QLineEdit()
        self.query_edit.setObjectName("queryEdit")
        self.query_edit.setPlaceholderText(
            "Plate, e.g. 7K2* or *7K2?   (* any characters, ? one character; empty: all reads)"
        )
        self.query_edit.setClearButtonEnabled(True)
        self.fuzzy_check = QCheckBox(FUZZY_LABEL)
        self.fuzzy_check.setObjectName("fuzzyCheck")
        self.fuzzy_check.setToolTip(
            "Also find plates a camera may have misread: look-alike characters "
            "(0/O, 8/B, 1/I…), one character missing or one extra"
        )
        self.filters_button = QToolButton()
        self.filters_button.setObjectName("filtersButton")
        self.filters_button.setText("Filters")
        self.filters_button.setCheckable(True)
        self.filters_button.setToolTip("Time range, cameras, vehicle and confidence filters")
        self.saved_button = QToolButton()
        self.saved_button.setObjectName("savedButton")
        self.saved_button.setText(SAVED_LABEL)
        self.saved_button.setToolTip("Searches saved with this case: run one, save or delete")
        self.saved_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.saved_menu = QMenu(self.saved_button)
        self.saved_button.setMenu(self.saved_menu)
        self.search_button = QPushButton("Search")
        self.search_button.setObjectName("searchButton")
        self.count_label = QLabel()
        self.count_label.setObjectName("countLabel")
        self.count_label.setMinimumWidth(110)
        self.pattern_error_label = QLabel()
        self.pattern_error_label.setObjectName("fieldErrorLabel")
        self.pattern_error_label.hide()
        self.filter_error_label = QLabel()
        self.filter_error_label.setObjectName("fieldErrorLabel")
        self.filter_error_label.hide()
        self.gate_label = QLabel()
        self.gate_label.setObjectName("gateLabel")
        self.gate_label.hide()

        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self.query_edit, 1)
        row.addWidget(self.fuzzy_check)
        row.addWidget(self.filters_button)
        row.addWidget(self.saved_button)
        row.addWidget(self.search_button)
        row.addWidget(self.count_label)

        self.filters_box = self._build_filters()
        self.filters_box.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 4)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.pattern_error_label)
        layout.addWidget(self.filters_box)
        layout.addWidget(self.filter_error_label)
        layout.addWidget(self.gate_label)

        self.query_edit.textChanged.connect(self._validate)
        self.query_edit.returnPressed.connect(self.submit)
        self.search_button.clicked.connect(self.submit)
        self.filters_button.toggled.connect(self.filters_box.setVisible)
        self.set_saved_searches([])
        self._refresh()

    def _build_filters(self) -> QFrame:
        box = QFrame()
        box.setObjectName("filtersBox")
        now = datetime.now().astimezone()
        self.from_check = QCheckBox("From")
        self.from_edit = QDateTimeEdit(to_qdatetime(now - DEFAULT_LOOKBACK))
        self.to_check = QCheckBox("To")
        self.to_edit = QDateTimeEdit(to_qdatetime(now))
        for check, edit in ((self.from_check, self.from_edit), (self.to_check, self.to_edit)):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat(DATETIME_FORMAT)
            # Always open to typing: a time typed (or picked) turns its bound on. A field
            # disabled until its box was ticked swallowed the digits typed into it.
            edit.dateTimeChanged.connect(lambda _moment, box=check: box.setChecked(True))
            check.toggled.connect(self._filters_edited)
            edit.dateTimeChanged.connect(self._filters_edited)

        self.cameras_button = QToolButton()
        self.cameras_button.setObjectName("camerasButton")
        self.cameras_button.setText(ALL_CAMERAS)
        self.cameras_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.cameras_menu = QMenu(self.cameras_button)
        self.cameras_button.setMenu(self.cameras_menu)
        self.cameras_button.setMinimumWidth(150)

        self.confidence_spin = QSpinBox()
        self.confidence_spin.setRange(0, 100)
        self.confidence_spin.setSuffix("%")
        self.confidence_spin.setSpecialValueText(ANY_CONFIDENCE)
        self.confidence_spin.setToolTip("Only reads the camera read with at least this confidence")
        self.confidence_spin.valueChanged.connect(self._filters_edited)

        self.state_edit = self._text_filter("e.g. CA", width=60)
        self.make_edit = self._text_filter("e.g. Toyota")
        self.model_edit = self._text_filter("e.g. Camry")
        self.color_edit = self._text_filter("e.g. Silver")
        self.body_type_edit = self._text_filter("e.g. sedan")
        self.feature_edit = self._text_filter("e.g. roof rack")
        self.clear_filters_button = QPushButton("Clear filters")
        self.clear_filters_button.setAutoDefault(False)
        self.clear_filters_button.clicked.connect(self.clear_filters)

        grid = QGridLayout(box)
        grid.setContentsMargins(0, 4, 0, 4)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
        top = QHBoxLayout()
        top.setSpacing(8)
        for widget in (
            self.from_check,
            self.from_edit,
            self.to_check,
            self.to_edit,
            QLabel("Cameras"),
            self.cameras_button,
            QLabel("Min. confidence"),
            self.confidence_spin,
        ):
            top.addWidget(widget)
        top.addStretch(1)
        top.addWidget(self.clear_filters_button)
        grid.addLayout(top, 0, 0, 1, 12)
        fields = (
            ("State", self.state_edit),
            ("Make", self.make_edit),
            ("Model", self.model_edit),
            ("Color", self.color_edit),
            ("Body type", self.body_type_edit),
            ("Feature", self.feature_edit),
        )
        for i, (name, field) in enumerate(fields):
            grid.addWidget(QLabel(name), 1, i * 2)
            grid.addWidget(field, 1, i * 2 + 1)
            grid.setColumnStretch(i * 2 + 1, 0 if field is self.state_edit else 1)
        return box

    def _text_filter(self, placeholder: str, *, width: int | None = None) -> QLineEdit:
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        edit.setClearButtonEnabled(width is None)
        if width is not None:
            edit.setMaximumWidth(width)
        edit.textChanged.connect(self._filters_edited)
        edit.returnPressed.connect(self.submit)
        return edit

    # -- state -------------------------------------------------------------

    @property
    def gate_reason(self) -> str | None:
        """Why searching is unavailable, or None when it is available."""
        return self._gate

    @property
    def pattern(self) -> PlatePattern | None:
        return self._pattern

    @property
    def filter_problem(self) -> str | None:
        """Why the filters cannot be searched with, or None."""
        if (
            self.from_check.isChecked()
            and self.to_check.isChecked()
            and self.from_edit.dateTime() >= self.to_edit.dateTime()
        ):
            return TIME_RANGE_ERROR
        return None

    @property
    def can_search(self) -> bool:
        return self._gate is None and self._valid and self.filter_problem is None

    @property
    def active_filter_count(self) -> int:
        """How many filters narrow the search (the misread toggle is not a filter)."""
        query = self.build_query(case_number="", purpose="")
        values = (
            query.time_from,
            query.time_to,
            query.camera_ids or None,
            query.state,
            query.make,
            query.model,
            query.color,
            query.body_type,
            query.feature,
            query.min_confidence,
        )
        return sum(value is not None for value in values)

    def set_gate(self, reason: str | None) -> None:
        self._gate = reason
        self.gate_label.setText(reason or "")
        self.gate_label.setVisible(reason is not None)
        self._refresh()

    def set_count(self, text: str) -> None:
        self.count_label.setText(text)

    def set_cameras(self, cameras: list[CameraInfo]) -> None:
        """The cameras to choose from; the ones already chosen stay chosen."""
        chosen = set(self.checked_camera_ids())
        self.cameras_menu.clear()
        self.camera_actions = {}
        for camera in sorted(cameras, key=lambda c: c.name):
            suffix = "" if camera.active else " (inactive)"
            action = QAction(f"{camera.name} ({camera.camera_id}){suffix}", self.cameras_menu)
            action.setCheckable(True)
            action.setChecked(camera.camera_id in chosen)
            action.toggled.connect(self._filters_edited)
            self.cameras_menu.addAction(action)
            self.camera_actions[camera.camera_id] = action
        self._show_cameras()

    def conceal(self) -> None:
        """The lock: no query, count or saved search is left in the panel."""
        self.query_edit.clear()
        self.count_label.clear()
        self.set_saved_searches([])

    def set_saved_searches(self, saved: list[SavedSearch]) -> None:
        """The case's saved searches: choose one to run it; delete from the submenu."""
        self.saved_searches = list(saved)
        menu = self.saved_menu
        menu.clear()
        self.saved_actions = {}
        self.delete_saved_actions = {}
        self.save_action = menu.addAction("Save this search…")
        self.save_action.triggered.connect(self.save_requested)
        menu.addSeparator()
        if not saved:
            empty = menu.addAction(NO_SAVED)
            empty.setEnabled(False)
        for item in saved:
            action = menu.addAction(item.name)
            action.setToolTip(describe_search(item.query))
            action.triggered.connect(
                lambda _checked=False, s=item: self.saved_search_chosen.emit(s)
            )
            self.saved_actions[item.saved_id] = action
        if saved:
            menu.addSeparator()
            delete_menu = menu.addMenu("Delete")
            for item in saved:
                action = delete_menu.addAction(item.name)
                action.triggered.connect(
                    lambda _checked=False, s=item: self.saved_search_delete_requested.emit(s)
                )
                self.delete_saved_actions[item.saved_id] = action
        self.saved_button.setText(f"{SAVED_LABEL} ({len(saved)})" if saved else SAVED_LABEL)

    def apply_query(self, query: SearchQuery) -> None:
        """Fill the field, the misread toggle and the filters from a search."""
        self.query_edit.setText("" if query.pattern is None else query.pattern.text)
        self.fuzzy_check.setChecked(query.fuzzy)
        self.set_time_range(query.time_from, query.time_to)
        for camera_id, action in self.camera_actions.items():
            action.setChecked(camera_id in query.camera_ids)
        self.confidence_spin.setValue(
            0 if query.min_confidence is None else round(query.min_confidence * 100)
        )
        for edit, value in zip(
            self._text_edits(),
            (query.state, query.make, query.model, query.color, query.body_type, query.feature),
            strict=True,
        ):
            edit.setText(value or "")
        if self.active_filter_count:
            self.filters_button.setChecked(True)

    def checked_camera_ids(self) -> list[str]:
        return [cid for cid, action in self.camera_actions.items() if action.isChecked()]

    def set_time_range(self, time_from: datetime | None, time_to: datetime | None) -> None:
        for check, edit, moment in (
            (self.from_check, self.from_edit, time_from),
            (self.to_check, self.to_edit, time_to),
        ):
            if moment is not None:
                edit.setDateTime(to_qdatetime(moment))
            check.setChecked(moment is not None)

    def clear_filters(self) -> None:
        """Clear every filter and, when results are shown, search again without them (the
        filtered rows must not stay under an empty filter box)."""
        self.from_check.setChecked(False)
        self.to_check.setChecked(False)
        for action in self.camera_actions.values():
            action.setChecked(False)
        self.confidence_spin.setValue(0)
        for edit in self._text_edits():
            edit.clear()
        if self._searched:
            self.submit()

    def _text_edits(self) -> tuple[QLineEdit, ...]:
        return (
            self.state_edit,
            self.make_edit,
            self.model_edit,
            self.color_edit,
            self.body_type_edit,
            self.feature_edit,
        )

    def build_query(self, *, case_number: str, purpose: str) -> SearchQuery:
        """The search the panel describes, under a case and a purpose."""

        def text(edit: QLineEdit) -> str | None:
            return " ".join(edit.text().split()) or None

        state = text(self.state_edit)
        confidence = self.confidence_spin.value()
        return SearchQuery(
            case_number=case_number,
            purpose=purpose,
            pattern=self._pattern,
            time_from=to_utc(self.from_edit.dateTime()) if self.from_check.isChecked() else None,
            time_to=to_utc(self.to_edit.dateTime()) if self.to_check.isChecked() else None,
            camera_ids=tuple(self.checked_camera_ids()),
            state=state.upper() if state else None,
            make=text(self.make_edit),
            model=text(self.model_edit),
            color=text(self.color_edit),
            body_type=text(self.body_type_edit),
            feature=text(self.feature_edit),
            min_confidence=confidence / 100 if confidence > 0 else None,
            fuzzy=self.fuzzy_check.isChecked(),
        )

    def submit(self) -> None:
        if self.can_search:
            self._searched = True
            self.search_requested.emit(self._pattern)
        elif not self._valid:
            self.results_outdated.emit()

    # -- checks ------------------------------------------------------------

    def _validate(self, text: str) -> None:
        self._pattern = None
        self._valid = True
        if text.strip():
            try:
                self._pattern = parse_pattern(text)
            except PatternError as exc:
                self._valid = False
                self.pattern_error_label.setText(str(exc))
                self.results_outdated.emit()
        self.pattern_error_label.setVisible(not self._valid)
        self.query_edit.setProperty("invalid", not self._valid)
        self.query_edit.style().unpolish(self.query_edit)
        self.query_edit.style().polish(self.query_edit)
        self._refresh()

    def _show_cameras(self) -> None:
        chosen = self.checked_camera_ids()
        if not chosen:
            self.cameras_button.setText(ALL_CAMERAS)
        elif len(chosen) == 1:
            self.cameras_button.setText(self.camera_actions[chosen[0]].text())
        else:
            self.cameras_button.setText(count_of(len(chosen), "camera"))

    def _filters_edited(self) -> None:
        self._show_cameras()
        problem = self.filter_problem
        self.filter_error_label.setText(problem or "")
        self.filter_error_label.setVisible(problem is not None)
        active = self.active_filter_count
        self.filters_button.setText(f"Filters ({active})" if active else "Filters")
        self._refresh()
        self.filters_changed.emit()

    def _refresh(self) -> None:
        self.search_button.setEnabled(self.can_search)


def describe_search(query: Mapping[str, object]) -> str:
    """A search's pattern and filters (query_to_dict's form) in a line."""
    parts = [str(query.get("pattern") or "all reads")]
    if query.get("fuzzy"):
        parts.append("with likely misreads")
    for name in ("state", "make", "model", "color", "body_type", "feature"):
        if query.get(name):
            parts.append(f"{name.replace('_', ' ')} {query[name]}")
    cameras = query.get("camera_ids")
    if isinstance(cameras, list) and cameras:
        parts.append(count_of(len(cameras), "camera"))
    if query.get("time_from") or query.get("time_to"):
        parts.append("time range")
    if query.get("min_confidence") is not None:
        parts.append(f"confidence ≥ {query['min_confidence']}")
    return ", ".join(parts)
