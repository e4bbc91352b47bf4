"""Python's garbage collection, on the GUI thread only.

CPython collects cycles on whichever thread happens to allocate when a threshold
is crossed: often a task runner's worker. A cycle that holds Qt wrappers (a
widget's slot bound to its own method, a lambda holding a model) is then
destroyed on that worker, and Qt objects must die on their own thread: Qt warns
("QBasicTimer::stop: Failed. Possibly trying to stop from a different thread")
or the process crashes. As Anki and calibre do, automatic collection is turned
off and a timer on the GUI thread runs the collections the thresholds ask for.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500  # a cycle's garbage lives at most this long


class GuiThreadCollector(QObject):
    """Runs gc's generations, as their thresholds ask, from a GUI-thread timer."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect)
        self._timer.start()

    def collect(self) -> None:
        young, middle, old = gc.get_count()
        first, second, third = self._thresholds
        if young > first:
            gc.collect(0)
            if middle > second:
                gc.collect(1)
                if old > third:
                    gc.collect(2)

    def stop(self) -> None:
        """Back to automatic collection (on any thread)."""
        self._timer.stop()
        gc.enable()
