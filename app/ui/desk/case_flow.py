"""The desk's case flow: the hub's reference data (cases, purposes, cameras), the case
and purpose chosen, and the gate that lets a search run only when the chosen case has
reads synced on this workstation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.records import CameraInfo, CaseInfo, PurposeInfo, SliceInfo
from app.ui.errors import user_message
from app.ui.formatting import camera_names
from app.ui.operations import catalog as catalog_ops

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

GATE_CHOOSE = "Choose a case and purpose to search"
GATE_NEED_SLICE = "Request the reads this case needs (Request reads…) before searching"
GATE_CHECKING = "Checking which reads this case has on this workstation…"


class CaseFlow:
    """Loads the reference data once, selects the case asked for at start, and keeps the
    search gate true to the chosen case's slices."""

    def __init__(
        self, window: MainWindow, *, initial_case: str | None, initial_purpose: str | None
    ) -> None:
        self._w = window
        self._initial = (initial_case, initial_purpose)
        self._cases: list[CaseInfo] | None = None
        self._purposes: list[PurposeInfo] | None = None
        self._gate_request = 0

    # -- reference data --------------------------------------------------

    def load_reference_data(self) -> None:
        window = self._w
        catalog_ops.load_reference_data(
            workstation=window.workstation, runner=window.runner, on_cases=self._cases_arrived,
            on_purposes=self._purposes_arrived, on_cameras=self._cameras_arrived,
            on_failure=self._reference_failed,
        )  # fmt: skip

    def _cameras_arrived(self, cameras: list[CameraInfo]) -> None:
        window = self._w
        window.cameras = list(cameras)
        window.search_panel.set_cameras(cameras)
        window.sightings_panel.set_cameras(cameras)
        window.review_queue_panel.set_cameras(cameras)
        window.alerts_panel.set_cameras(cameras)
        window.alert_banner.camera_names = camera_names(cameras)
        window.cameras_loaded.emit(len(cameras))

    def _cases_arrived(self, cases: list[CaseInfo]) -> None:
        self._cases = cases
        self._w.case_bar.set_cases(cases)
        self._maybe_ready()

    def _purposes_arrived(self, purposes: list[PurposeInfo]) -> None:
        self._purposes = purposes
        self._w.case_bar.set_purposes(purposes)
        self._maybe_ready()

    def _reference_failed(self, exc: BaseException) -> None:
        self._w.chores.note_hub(exc)
        self._w.statusBar().showMessage(user_message(exc))

    def _maybe_ready(self) -> None:
        window = self._w
        if self._cases is None or self._purposes is None or window.is_ready:
            return
        case_number, purpose = self._initial
        if case_number is not None or purpose is not None:
            if not window.case_bar.select(case_number=case_number, purpose=purpose):
                window.statusBar().showMessage(
                    f"Case {case_number} or purpose {purpose} is not among yours; choose them above."
                )
        elif len(self._cases) == 1:
            window.case_bar.select(case_number=self._cases[0].case_number)
        window.is_ready = True
        window.ready.emit()

    # -- the case gate ---------------------------------------------------

    def set_gate(self, reason: str | None) -> None:
        window = self._w
        changed = reason != window.search_panel.gate_reason
        window.search_panel.set_gate(reason)
        window.desk_actions.update()
        if changed:
            window.gate_changed.emit(reason)

    def selection_changed(self) -> None:
        """Another case or purpose: nothing of the last one stays on screen."""
        window = self._w
        case_number = window.case_bar.case_number
        window.last_query = None
        window.results_model.clear()
        window.count_label.clear()
        window.image_pane.case_number = case_number
        window.image_pane.show_read(None)
        window.evidence_panel.set_case(case_number)
        window.forget_sightings()
        if window.multi_place_dialog is not None:
            window.multi_place_dialog.close()
        window.setWindowTitle(f"Platedesk — case {case_number}" if case_number else "Platedesk")
        self.refresh_gate()
        window.review_flow.load_saved_searches()

    def refresh_gate(self) -> None:
        """Searching needs a case, a purpose, and a slice of the case with reads synced."""
        window = self._w
        self._gate_request += 1
        case_number, purpose = window.case_bar.case_number, window.case_bar.purpose
        if case_number is None or purpose is None:
            self.set_gate(GATE_CHOOSE)
            return
        if window.search_panel.gate_reason is not None:
            self.set_gate(GATE_CHECKING)
        request = self._gate_request
        catalog_ops.case_slices(
            workstation=window.workstation, runner=window.runner, case_number=case_number,
            on_success=lambda slices: self._slices_arrived(request, purpose, slices),
            on_failure=lambda exc: self._slices_failed(request, exc),
        )  # fmt: skip

    def _slices_arrived(self, request: int, purpose: str, slices: list[SliceInfo]) -> None:
        if request != self._gate_request:
            return
        synced = any(s.purpose == purpose and (s.complete or s.synced_reads > 0) for s in slices)
        self.set_gate(None if synced else GATE_NEED_SLICE)

    def _slices_failed(self, request: int, exc: BaseException) -> None:
        if request != self._gate_request:
            return
        self.set_gate(user_message(exc))
