"""The Qt binding itself must not lose references: the desk emits signals all day.

PySide6 6.12.0 drops a reference on every Signal.emit to a Python slot; after some
thousands of emits CPython frees True, False or None and the process aborts
("bool_dealloc: deallocating True or False"). pyproject pins a release without
the bug; this test keeps it out.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

EMITS = 50_000  # far more than the shared singletons' reference counts can lose


class _Emitter(QObject):
    value = Signal(object)


def test_emitting_signals_keeps_none_true_and_false_alive() -> None:
    received: list[object] = []
    emitter = _Emitter()
    emitter.value.connect(received.append)
    before = {name: sys.getrefcount(obj) for name, obj in (("None", None), ("True", True))}
    for n in range(EMITS):
        emitter.value.emit(None if n % 2 else True)
    assert len(received) == EMITS
    received.clear()
    after = {name: sys.getrefcount(obj) for name, obj in (("None", None), ("True", True))}
    for name, count in before.items():
        assert after[name] >= count - 100, f"{name} lost {count - after[name]} references"
