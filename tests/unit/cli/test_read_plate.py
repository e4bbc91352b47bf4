"""`platedesk read-plate IMAGE... --json`: one model load, one result per image, and a bad
file named in its own result while the others are still read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli.commands import run
from app.vision import plate_reader
from app.vision.decode import decode_file

DATA = Path(__file__).resolve().parents[2] / "data" / "plates"


def test_read_plate_reads_every_image_with_one_model_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import cv2

    crops = np.load(DATA / "heldout_crops.npz")
    images = []
    for i in range(3):
        path = tmp_path / f"crop{i}.png"
        cv2.imwrite(str(path), crops["images"][i])
        images.append(path)
    pdf = tmp_path / "statement.jpg"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((1080, 1920, 3), 128, np.uint8))
    reader = plate_reader.load_plate_reader()
    assert reader is not None
    expected = []
    for path in images:
        reading = reader.read_image(decode_file(path))
        expected.append(reading.text if reading is not None else None)
    loads = []
    real_init = plate_reader.OnnxPlateReader.__init__

    def counting_init(self: plate_reader.OnnxPlateReader, path: Path, *, threads: int = 1) -> None:
        loads.append(path)
        real_init(self, path, threads=threads)

    monkeypatch.setattr(plate_reader.OnnxPlateReader, "__init__", counting_init)

    code = run(["read-plate", *map(str, [images[0], pdf, images[1], blank, images[2]]), "--json"])

    out = capsys.readouterr()
    assert code == 1  # one file could not be read
    assert len(loads) == 1
    results = json.loads(out.out)
    assert [r["image"] for r in results] == [
        str(p) for p in (images[0], pdf, images[1], blank, images[2])
    ]
    assert results[1]["plate"] is None
    assert results[1]["problem"] == "not an image"
    assert str(pdf) in results[1]["error"]
    assert str(pdf) in out.err
    assert results[3]["plate"] is None
    assert results[3]["reason"] == "no plate found"
    for r in (results[0], results[2], results[4]):
        assert isinstance(r["plate"], str)
        assert 0 <= r["confidence"] <= 1
        assert len(r["box"]) == 4
        assert r["alternatives"][0] == [r["plate"], r["confidence"]]
    assert [r["plate"] for r in (results[0], results[2], results[4])] == expected


def test_read_plate_without_a_model_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import cv2

    image = tmp_path / "crop.png"
    cv2.imwrite(str(image), np.zeros((48, 144), np.uint8))
    code = run(["read-plate", str(image), "--model", str(tmp_path / "none.onnx")])
    assert code == 1
    assert "No plate reader model is installed" in capsys.readouterr().err
