"""The seam for re-reading a plate with an ONNX model.

The project has no plate-reader model yet (issue: plate reader). Until it
does, `load_plate_reader` finds nothing to load and returns None, and the UI
shows "Re-read plate" disabled. Nothing here pretends to read a plate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.config.paths import model_path
from app.core.errors import KnownError

MODEL_NAME = "plate-reader.onnx"
NO_MODEL = f"No plate reader model is installed (models/{MODEL_NAME})"


@dataclass(frozen=True)
class PlateCandidate:
    """One reading of the plate: normalized text and the model's confidence (0..1)."""

    text: str
    confidence: float


class PlateReader(Protocol):
    def read(self, image: npt.NDArray[np.uint8]) -> list[PlateCandidate]:
        """Candidate readings of the plate in an 8-bit BGR image, best first."""
        ...


def default_model_path() -> Path:
    return model_path(MODEL_NAME)


def load_plate_reader(model_path: Path | None = None) -> PlateReader | None:
    """The plate reader for the model at `model_path` (default: models/plate-reader.onnx).

    None when no model file is installed. A model file that is present cannot be
    loaded by this version yet: that is a KnownError, not a silent stand-in.
    """
    path = model_path if model_path is not None else default_model_path()
    if not path.is_file():
        return None
    raise KnownError(
        f"A plate reader model is installed at {path}, but this version of Platedesk "
        "cannot run it yet; re-reading plates stays off."
    )
