"""The plate reader seam: no model, no reader; a model file is not silently faked."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import KnownError
from app.vision.plate_reader import (
    MODEL_NAME,
    NO_MODEL,
    default_model_path,
    load_plate_reader,
)


def test_no_model_file_means_no_reader(tmp_path: Path) -> None:
    assert load_plate_reader(tmp_path / MODEL_NAME) is None


def test_the_default_model_lives_in_models() -> None:
    path = default_model_path()
    assert path.parent.name == "models"
    assert path.name == MODEL_NAME
    assert NO_MODEL == "No plate reader model is installed (models/plate-reader.onnx)"
    if not path.exists():
        assert load_plate_reader() is None


def test_a_model_file_that_cannot_be_run_is_reported(tmp_path: Path) -> None:
    model = tmp_path / MODEL_NAME
    model.write_bytes(b"onnx")
    with pytest.raises(KnownError, match="cannot run it yet"):
        load_plate_reader(model)
