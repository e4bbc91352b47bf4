"""The desk's review flows: evidence and misread marks, outcomes and saved searches,
each a dialog, then a journaled call on the cache lane."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.records import (
    SEARCH_OUTCOMES,
    ReadRecord,
    ReviewMark,
    SavedSearch,
    query_from_dict,
    query_to_dict,
)
from app.ui.desk.actions import OUTCOME_ROLES, REVIEW_ROLES
from app.ui.dialogs.review_dialogs import (
    EvidenceDialog,
    MisreadDialog,
    OutcomeDialog,
    SaveSearchDialog,
)
from app.ui.errors import user_message
from app.ui.operations import evidence as evidence_ops
from app.ui.operations import review as review_ops
from app.ui.widgets.search_panel import describe_search

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow


class ReviewFlow:
    """Marks, outcomes and saved searches of the case on screen."""

    def __init__(self, window: MainWindow) -> None:
        self._w = window
        self._saved_request = 0
        self.review_dialog: EvidenceDialog | MisreadDialog | None = None
        self.outcome_dialog: OutcomeDialog | None = None
        self.save_search_dialog: SaveSearchDialog | None = None

    # -- review marks ------------------------------------------------------

    def _target(self) -> tuple[ReadRecord, str] | None:
        window = self._w
        read, case_number = window.image_pane.read, window.case_bar.case_number
        if (
            window.is_locked
            or read is None
            or case_number is None
            or window.role not in REVIEW_ROLES
        ):
            window.statusBar().showMessage("Select a read of the case to mark it.", 5000)
            return None
        return read, case_number

    def _open_review_dialog(self, dialog: EvidenceDialog | MisreadDialog) -> None:
        if self.review_dialog is not None:
            self.review_dialog.deleteLater()
        self.review_dialog = dialog
        dialog.open()

    def mark_evidence(self) -> EvidenceDialog | None:
        """Ctrl+E: ask for a note, then mark the shown read as evidence for the case."""
        target = self._target()
        if target is None:
            return None
        read, case_number = target
        window = self._w
        dialog = EvidenceDialog(read=read, case_number=case_number, parent=window)

        def submit() -> None:
            window.statusBar().showMessage("Recording the review mark…")
            evidence_ops.mark_evidence(
                workstation=window.workstation, runner=window.runner, read_id=read.read_id,
                case_number=case_number, note=dialog.note, on_success=self._marked,
                on_failure=self.action_failed,
            )  # fmt: skip

        dialog.accepted.connect(submit)
        self._open_review_dialog(dialog)
        return dialog

    def mark_misread(self) -> MisreadDialog | None:
        """Ctrl+M: ask for the plate the image shows and a note, then record the misread."""
        return self._misread_dialog(corrected_plate="", note="")

    def accept_reader_correction(self, plate: str, note: str) -> MisreadDialog | None:
        """The image pane's "Accept": the same misread record, the reader's plate prefilled."""
        return self._misread_dialog(corrected_plate=plate, note=note)

    def _misread_dialog(self, *, corrected_plate: str, note: str) -> MisreadDialog | None:
        target = self._target()
        if target is None:
            return None
        read, case_number = target
        window = self._w
        dialog = MisreadDialog(read=read, case_number=case_number, parent=window)
        dialog.plate_edit.setText(corrected_plate)
        dialog.note_edit.setPlainText(note)

        def submit() -> None:
            window.statusBar().showMessage("Recording the review mark…")
            review_ops.mark_misread(
                workstation=window.workstation, runner=window.runner, read_id=read.read_id,
                case_number=case_number, corrected_plate=dialog.corrected_plate,
                note=dialog.note, on_success=self._marked, on_failure=self.action_failed,
            )  # fmt: skip

        dialog.accepted.connect(submit)
        self._open_review_dialog(dialog)
        return dialog

    def _marked(self, mark: ReviewMark) -> None:
        window = self._w
        what = "evidence" if mark.kind == "evidence" else f"a misread of {mark.corrected_plate}"
        window.statusBar().showMessage(
            f"Marked read {mark.read_id} as {what} for case {mark.case_number}.", 8000
        )
        if window.image_pane.read is not None and window.image_pane.read.read_id == mark.read_id:
            window.image_pane.refresh_marks()
        window.results_model.add_mark(mark)
        window.chores.refresh_status()
        window.review_marked.emit(mark)

    def action_failed(self, exc: BaseException) -> None:
        """A review, outcome, saved-search or session call failed: say why."""
        window = self._w
        message = user_message(exc)
        window.chores.note_hub(exc)
        window.statusBar().showMessage(message, 10000)
        window.action_failed.emit(message)

    # -- outcomes ----------------------------------------------------------

    def record_outcome(self) -> OutcomeDialog | None:
        """Ask what the case's searches led to, then record it (journaled)."""
        window = self._w
        case_number, purpose = window.case_bar.case_number, window.case_bar.purpose
        label = window.case_bar.purpose_label
        if window.is_locked or case_number is None or purpose is None or label is None:
            return None
        if window.role not in OUTCOME_ROLES:
            return None
        dialog = OutcomeDialog(case_number=case_number, purpose_label=label, parent=window)

        def submit() -> None:
            outcome = dialog.outcome
            review_ops.record_outcome(
                workstation=window.workstation, runner=window.runner, case_number=case_number,
                purpose=purpose, outcome=outcome, note=dialog.note,
                on_success=lambda _none: self._outcome_recorded(case_number, outcome),
                on_failure=self.action_failed,
            )  # fmt: skip

        dialog.accepted.connect(submit)
        if self.outcome_dialog is not None:
            self.outcome_dialog.deleteLater()
        self.outcome_dialog = dialog
        dialog.open()
        return dialog

    def _outcome_recorded(self, case_number: str, outcome: str) -> None:
        window = self._w
        label = SEARCH_OUTCOMES.get(outcome, outcome)
        window.statusBar().showMessage(f"Outcome recorded for case {case_number}: {label}.", 8000)
        window.chores.refresh_status()
        window.outcome_recorded.emit(outcome)

    # -- saved searches ------------------------------------------------------

    def load_saved_searches(self) -> None:
        """Refresh the search panel's list of the case's saved searches (cache lane)."""
        window = self._w
        self._saved_request += 1
        case_number = window.case_bar.case_number
        if window.is_locked or case_number is None:
            window.search_panel.set_saved_searches([])
            return
        request = self._saved_request
        review_ops.load_saved_searches(
            workstation=window.workstation, runner=window.runner, case_number=case_number,
            on_success=lambda saved: self._saved_searches_arrived(request, saved),
            on_failure=self.action_failed,
        )  # fmt: skip

    def _saved_searches_arrived(self, request: int, saved: list[SavedSearch]) -> None:
        if request != self._saved_request or self._w.is_locked:
            return
        self._w.search_panel.set_saved_searches(saved)
        self._w.saved_searches_loaded.emit(len(saved))

    def save_search(self) -> SaveSearchDialog | None:
        """Ctrl+Shift+S: name the search now in the panel and keep it with the case."""
        window = self._w
        case_number, purpose = window.case_bar.case_number, window.case_bar.purpose
        if window.is_locked or case_number is None or purpose is None:
            return None
        if not window.search_panel.can_search:
            window.statusBar().showMessage("Fix the search before saving it.", 5000)
            return None
        query = window.search_panel.build_query(case_number=case_number, purpose=purpose)
        dialog = SaveSearchDialog(
            case_number=case_number, summary=describe_search(query_to_dict(query)), parent=window
        )

        def submit() -> None:
            review_ops.save_search(
                workstation=window.workstation, runner=window.runner, name=dialog.name,
                query=query, on_success=self._search_saved, on_failure=self.action_failed,
            )  # fmt: skip

        dialog.accepted.connect(submit)
        if self.save_search_dialog is not None:
            self.save_search_dialog.deleteLater()
        self.save_search_dialog = dialog
        dialog.open()
        return dialog

    def _search_saved(self, saved: SavedSearch) -> None:
        self._w.statusBar().showMessage(f"Saved the search \u201c{saved.name}\u201d.", 8000)
        self.load_saved_searches()
        self._w.search_saved.emit(saved)

    def run_saved_search(self, saved: SavedSearch) -> None:
        """Fill the query field, misread toggle and filters from a saved search, and run it."""
        window = self._w
        case_number, purpose = window.case_bar.case_number, window.case_bar.purpose
        if window.is_locked or case_number is None or purpose is None:
            return
        query = query_from_dict(saved.query, case_number=case_number, purpose=purpose)
        window.search_panel.apply_query(query)
        window.search_panel.submit()

    def delete_saved_search(self, saved: SavedSearch) -> None:
        window = self._w
        if window.is_locked:
            return
        review_ops.delete_saved_search(
            workstation=window.workstation, runner=window.runner, saved_id=saved.saved_id,
            on_success=lambda _none: self._saved_search_deleted(saved),
            on_failure=self.action_failed,
        )  # fmt: skip

    def _saved_search_deleted(self, saved: SavedSearch) -> None:
        self._w.statusBar().showMessage(f"Deleted the saved search \u201c{saved.name}\u201d.", 8000)
        self.load_saved_searches()
        self._w.saved_search_deleted.emit(saved.saved_id)
