"""First run: which hub this workstation talks to, and the agency's CA bundle if the hub's
certificate comes from the agency's own certificate authority.

Shown when the profile names no hub. The bundle's certificates are listed with their
SHA-256 fingerprints so the user can compare them with the ones IT published. Connect
checks the hub off the GUI thread (remote), then keeps address and bundle in the
profile (local); plain http:// to another computer is refused before connecting.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.core.errors import KnownError
from app.core.hub_address import check_hub_address
from app.services.hub_link import HubLink, read_ca_file
from app.sync.tls import CaBundle
from app.ui.dialogs.parts import action_buttons, column, error_label, heading
from app.ui.errors import user_message
from app.ui.style import fit_height
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

NO_BUNDLE = "None: the hub's certificate is checked against this computer's authorities."


class FirstRunDialog(QDialog):
    """Asks for the hub's address (and the agency CA bundle); closes once the hub answered."""

    connected = Signal(object)  # HubLink
    connect_failed = Signal(str)  # the message shown in error_label

    def __init__(
        self, *, workstation: Workstation, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._workstation = workstation
        self._runner = runner
        self._busy = False
        self.bundle: CaBundle | None = None
        self.link: HubLink | None = None
        self.setWindowTitle("Connect Platedesk to your hub")
        self.setObjectName("firstRunDialog")
        self.setMinimumWidth(520)

        title, hint = heading(
            "Connect to your agency's hub",
            "Your IT staff give you the hub's address. If the hub's certificate comes from "
            "the agency's own certificate authority, they also give you its CA bundle (a "
            ".pem file): compare the fingerprint below with the one they published.",
        )

        self.hub_edit = QLineEdit(workstation.hub_url or "")
        self.hub_edit.setPlaceholderText("https://hub.example.gov")
        self.ca_edit = QLineEdit()
        self.ca_edit.setReadOnly(True)
        self.ca_edit.setPlaceholderText("No CA bundle (optional)")
        self.choose_button = QPushButton("Choose…")
        self.choose_button.setAutoDefault(False)
        self.choose_button.clicked.connect(self._choose_bundle)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setAutoDefault(False)
        self.clear_button.clicked.connect(lambda: self.set_bundle_file(None))
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_edit, 1)
        ca_row.addWidget(self.choose_button)
        ca_row.addWidget(self.clear_button)
        self.fingerprint_label = QLabel(NO_BUNDLE)
        self.fingerprint_label.setObjectName("fingerprintLabel")
        self.fingerprint_label.setWordWrap(True)
        self.fingerprint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        form.addRow("Hub address", self.hub_edit)
        form.addRow("CA bundle", ca_row)
        form.addRow("Fingerprint", self.fingerprint_label)

        self.error_label = error_label()
        buttons, self.connect_button, self.quit_button = action_buttons("Connect", "Quit")
        self.connect_button.clicked.connect(self.submit)
        self.quit_button.clicked.connect(self.reject)
        column(self, title, hint, form, self.error_label, buttons)
        self.hub_edit.setFocus()

    @property
    def busy(self) -> bool:
        return self._busy

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        fit_height(self)

    def set_bundle_file(self, path: Path | None) -> bool:
        """Read and show the CA bundle at `path` (None: no bundle); False, with the
        problem shown, when it is not a usable bundle (the one before is kept)."""
        if path is None:
            self.bundle = None
            self.ca_edit.clear()
            self.fingerprint_label.setText(NO_BUNDLE)
            return True
        try:
            bundle = read_ca_file(path)
        except KnownError as exc:
            self.show_error(str(exc))
            self.connect_failed.emit(str(exc))
            return False
        self.bundle = bundle
        self.ca_edit.setText(str(path))
        self.fingerprint_label.setText(
            "\n".join(f"{cert.subject}\nSHA-256 {cert.sha256}" for cert in bundle.certificates)
        )
        self.error_label.hide()
        fit_height(self)
        return True

    def _choose_bundle(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "The agency's CA bundle", "", "Certificates (*.pem *.crt *.cer);;All files (*)"
        )
        if name:
            self.set_bundle_file(Path(name))

    def submit(self) -> None:
        """Refuse a bad address at once; otherwise check the hub off the GUI thread."""
        if self._busy:
            return
        try:
            hub = check_hub_address(self.hub_edit.text())
        except KnownError as exc:
            self.show_error(str(exc))
            self.connect_failed.emit(str(exc))
            return
        self.error_label.hide()
        self._set_busy(True)
        bundle, link = self.bundle, self._workstation.hub_link
        self._runner.run(
            lambda: link.probe(hub, bundle),
            on_success=self._answered,
            on_failure=self._failed,
            lane=Lane.NETWORK,
        )

    def accept(self) -> None:
        """Enter and the default button connect; the dialog closes once connected."""
        if self.link is None:
            self.submit()
        else:
            super().accept()

    def _answered(self, hub: str) -> None:
        """The hub answered: keep it (and the bundle) in the profile (local, small)."""
        ws = self._workstation
        try:
            self.link = ws.hub_link.keep(hub, self.bundle)
        except KnownError as exc:
            self._failed(exc)
            return
        self._set_busy(False)
        self.connected.emit(self.link)
        super().accept()

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        message = user_message(exc)
        self.show_error(message)
        self.connect_failed.emit(message)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in (self.hub_edit, self.choose_button, self.clear_button, self.connect_button):
            widget.setEnabled(not busy)
        self.connect_button.setText("Connecting…" if busy else "Connect")
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()
