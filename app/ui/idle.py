"""Notices when nobody has touched the keyboard or mouse for a while."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
    }
)


class IdleWatcher(QObject):
    """An application-wide event filter: `idle` fires after `timeout_ms` without input.

    A timeout of 0 or less turns the watcher off. The filter only restarts a
    timer and lets every event through.
    """

    idle = Signal()

    def __init__(self, timeout_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.idle)
        self._timeout_ms = timeout_ms
        self._app: QApplication | None = None

    @property
    def timeout_ms(self) -> int:
        return self._timeout_ms

    @property
    def is_active(self) -> bool:
        return self._timer.isActive()

    def set_timeout_ms(self, timeout_ms: int) -> None:
        self._timeout_ms = timeout_ms
        if self._app is not None:
            self.start()

    def start(self) -> None:
        """Watch for input from now on; the idle time counts from now."""
        app = QApplication.instance()
        if self._timeout_ms <= 0 or not isinstance(app, QApplication):
            self.stop()
            return
        if self._app is None:
            app.installEventFilter(self)
            self._app = app
        self._timer.start(self._timeout_ms)

    def stop(self) -> None:
        self._timer.stop()
        if self._app is not None:
            self._app.removeEventFilter(self)
            self._app = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in ACTIVITY and self._app is not None:
            self._timer.start(self._timeout_ms)
        return False
