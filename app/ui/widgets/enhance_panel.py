"""Enhancement controls: brightness, contrast, gamma, CLAHE, sharpen, and Reset.

The panel only describes what the reviewer wants (an `Enhancement`); the image
pane computes it off the GUI thread with app.vision.enhance.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QLabel,
    QPushButton,
    QSlider,
    QWidget,
)

from app.vision.enhance import Enhancement

# Sliders work in whole steps: contrast, gamma and sharpen in hundredths.
HUNDREDTHS = 100


class EnhancePanel(QFrame):
    """Sliders and a checkbox; `enhancement_changed` carries the new Enhancement."""

    enhancement_changed = Signal(object)  # Enhancement

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("enhancePanel")
        self._updating = False

        self.brightness_slider = self._slider(-100, 100, 0)
        self.contrast_slider = self._slider(50, 300, HUNDREDTHS)
        self.gamma_slider = self._slider(30, 300, HUNDREDTHS)
        self.sharpen_slider = self._slider(0, 200, 0)
        self.brightness_value = QLabel()
        self.contrast_value = QLabel()
        self.gamma_value = QLabel()
        self.sharpen_value = QLabel()
        self.clahe_check = QCheckBox("Local contrast (CLAHE)")
        self.clahe_check.setToolTip("Evens out dark and bright areas, e.g. a plate in shadow")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("resetEnhancementButton")
        self.reset_button.setAutoDefault(False)
        self.reset_button.setToolTip("Show the image as the camera took it")
        self.note_label = QLabel("Display only: the original image is never changed")
        self.note_label.setObjectName("hintLabel")

        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        rows = (
            ("Brightness", self.brightness_slider, self.brightness_value),
            ("Contrast", self.contrast_slider, self.contrast_value),
            ("Gamma", self.gamma_slider, self.gamma_value),
            ("Sharpen", self.sharpen_slider, self.sharpen_value),
        )
        for i, (name, slider, value) in enumerate(rows):
            row, column = divmod(i, 2)
            value.setMinimumWidth(36)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(QLabel(name), row, column * 3)
            grid.addWidget(slider, row, column * 3 + 1)
            grid.addWidget(value, row, column * 3 + 2)
            slider.valueChanged.connect(self._changed)
        grid.addWidget(self.clahe_check, 2, 0, 1, 3)
        grid.addWidget(self.reset_button, 2, 5)
        grid.addWidget(self.note_label, 3, 0, 1, 6)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(4, 1)
        self.clahe_check.toggled.connect(self._changed)
        self.reset_button.clicked.connect(self.reset)
        self._show_values()
        self.reset_button.setEnabled(False)

    @staticmethod
    def _slider(low: int, high: int, value: int) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(low, high)
        slider.setValue(value)
        slider.setSingleStep(1)
        slider.setPageStep(10)
        slider.setMinimumWidth(80)
        return slider

    @property
    def enhancement(self) -> Enhancement:
        return Enhancement(
            brightness=self.brightness_slider.value(),
            contrast=self.contrast_slider.value() / HUNDREDTHS,
            gamma=self.gamma_slider.value() / HUNDREDTHS,
            clahe=self.clahe_check.isChecked(),
            sharpen=self.sharpen_slider.value() / HUNDREDTHS,
        )

    def set_enhancement(self, enhancement: Enhancement) -> None:
        """Move the controls to `enhancement`; one `enhancement_changed` if it differs."""
        before = self.enhancement
        self._updating = True
        try:
            self.brightness_slider.setValue(enhancement.brightness)
            self.contrast_slider.setValue(round(enhancement.contrast * HUNDREDTHS))
            self.gamma_slider.setValue(round(enhancement.gamma * HUNDREDTHS))
            self.sharpen_slider.setValue(round(enhancement.sharpen * HUNDREDTHS))
            self.clahe_check.setChecked(enhancement.clahe)
        finally:
            self._updating = False
        if self.enhancement != before:
            self._changed()

    def reset(self) -> None:
        self.set_enhancement(Enhancement())

    def _show_values(self) -> None:
        current = self.enhancement
        self.brightness_value.setText(f"{current.brightness:+d}")
        self.contrast_value.setText(f"{current.contrast:.2f}")
        self.gamma_value.setText(f"{current.gamma:.2f}")
        self.sharpen_value.setText(f"{current.sharpen:.2f}")
        self.reset_button.setEnabled(not current.is_identity)

    def _changed(self) -> None:
        if self._updating:
            return
        self._show_values()
        self.enhancement_changed.emit(self.enhancement)
