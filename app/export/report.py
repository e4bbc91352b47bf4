"""data/report.pdf, written page by page as the packet is built (memory bounded).

reportlab's Canvas keeps every page and every embedded image in memory until
`save()`, so a 10,000-read report would need gigabytes. This writer streams a
plain PDF 1.4 instead: each page's images and text go to the file as soon as the
page is done; only the object offsets (a few integers per page) stay in memory.
reportlab supplies the font metrics (Helvetica) for wrapping the text. JPEG
images are embedded as they are (DCTDecode): the report shows the original bytes.

Layout: a case summary page, then one page per read (scene image, plate crop,
time, camera and location, confidence, vehicle, who reviewed and marked it and
their notes). Every page carries the packet id and "page i of n" (n is known
before the first page: 1 + the number of reads).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]

PAGE_W, PAGE_H = 612.0, 792.0  # US Letter, points
MARGIN = 48.0
FONT, BOLD = "Helvetica", "Helvetica-Bold"
SUMMARY_ROWS = 38


@dataclass(frozen=True)
class JpegInfo:
    width: int
    height: int
    components: int


def jpeg_info(data: bytes) -> JpegInfo | None:
    """Width, height and components from a JPEG's SOF marker; None if not a JPEG."""
    if not data.startswith(b"\xff\xd8"):
        return None
    pos = 2
    sof = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in sof and pos + 10 <= len(data):
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            components = data[pos + 9]
            if width and height and components in (1, 3, 4):
                return JpegInfo(width, height, components)
            return None
        if marker == 0xDA:
            return None
        pos += 2 + length
    return None


def _pdf_text(text: str) -> bytes:
    """A PDF literal string in WinAnsi (Latin-1 here); other characters become '?'."""
    raw = str(text).encode("latin-1", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def wrap(text: str, *, font: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    for paragraph in str(text).splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if stringWidth(candidate, font, size) <= width or not line:
                line = candidate
            else:
                lines.append(line)
                line = word
            while stringWidth(line, font, size) > width and len(line) > 1:
                cut = len(line)
                while cut > 1 and stringWidth(line[:cut], font, size) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines


class _Page:
    def __init__(self) -> None:
        self.ops: list[bytes] = []
        self.images: list[tuple[str, int]] = []  # (name, object number)

    def text(self, x: float, y: float, text: str, *, size: float = 10, bold: bool = False) -> None:
        font = b"/F2" if bold else b"/F1"
        self.ops.append(
            b"BT " + font + f" {size:.1f} Tf {x:.2f} {y:.2f} Td ".encode() + _pdf_text(text)
            + b" Tj ET"
        )  # fmt: skip

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.ops.append(f"0.6 G 0.5 w {x1:.2f} {y1:.2f} m {x2:.2f} {y2:.2f} l S 0 G".encode())

    def image(self, name: str, obj: int, x: float, y: float, w: float, h: float) -> None:
        self.images.append((name, obj))
        self.ops.append(f"q {w:.2f} 0 0 {h:.2f} {x:.2f} {y:.2f} cm /{name} Do Q".encode())


class ReportWriter:
    """Writes the report to an open binary file, one page at a time."""

    def __init__(
        self, handle: IO[bytes], *, packet_id: str, case_number: str, pages: int, title: str
    ) -> None:
        self._out = handle
        self._pos = 0
        self._offsets: dict[int, int] = {}
        self._next = 6  # 1 catalog, 2 pages, 3 and 4 fonts, 5 info
        self._kids: list[int] = []
        self.packet_id = packet_id
        self.case_number = case_number
        self.pages = pages
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        self._object(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        for number, font in ((3, FONT), (4, BOLD)):
            self._object(
                number,
                f"<< /Type /Font /Subtype /Type1 /BaseFont /{font} "
                "/Encoding /WinAnsiEncoding >>".encode(),
            )
        self._object(
            5, b"<< /Title " + _pdf_text(title) + b" /Producer (Platedesk packet report) >>"
        )

    # low level ---------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._pos += len(data)

    def _new(self) -> int:
        number = self._next
        self._next += 1
        return number

    def _object(self, number: int, body: bytes) -> None:
        self._offsets[number] = self._pos
        self._write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")

    def _stream(self, number: int, head: str, data: bytes) -> None:
        self._offsets[number] = self._pos
        self._write(f"{number} 0 obj\n<< {head} /Length {len(data)} >>\nstream\n".encode())
        self._write(data)
        self._write(b"\nendstream\nendobj\n")

    def _jpeg(self, data: bytes) -> tuple[int, JpegInfo] | None:
        info = jpeg_info(data)
        if info is None:
            return None
        space = {1: "/DeviceGray", 3: "/DeviceRGB", 4: "/DeviceCMYK"}[info.components]
        decode = " /Decode [1 0 1 0 1 0 1 0]" if info.components == 4 else ""
        number = self._new()
        self._stream(
            number,
            f"/Type /XObject /Subtype /Image /Width {info.width} /Height {info.height} "
            f"/ColorSpace {space} /BitsPerComponent 8 /Filter /DCTDecode{decode}",
            data,
        )
        return number, info

    def _finish_page(self, page: _Page) -> None:
        number = len(self._kids) + 1
        page.line(MARGIN, PAGE_H - MARGIN + 4, PAGE_W - MARGIN, PAGE_H - MARGIN + 4)
        page.text(MARGIN, PAGE_H - MARGIN + 10, f"Case {self.case_number}", size=8)
        page.text(PAGE_W - MARGIN - 190, PAGE_H - MARGIN + 10, "Platedesk evidence packet", size=8)
        page.line(MARGIN, MARGIN - 6, PAGE_W - MARGIN, MARGIN - 6)
        page.text(MARGIN, MARGIN - 18, f"Packet {self.packet_id}", size=8)
        page.text(PAGE_W - MARGIN - 70, MARGIN - 18, f"Page {number} of {self.pages}", size=8)
        content = zlib.compress(b"\n".join(page.ops), 6)
        contents = self._new()
        self._stream(contents, "/Filter /FlateDecode", content)
        xobjects = " ".join(f"/{name} {obj} 0 R" for name, obj in page.images)
        page_obj = self._new()
        self._object(
            page_obj,
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W:.0f} {PAGE_H:.0f}] "
            f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> /XObject << {xobjects} >> >> "
            f"/Contents {contents} 0 R >>".encode(),
        )
        self._kids.append(page_obj)

    # pages -------------------------------------------------------------------------
    def summary_page(
        self, *, facts: Sequence[tuple[str, str]], reads: Sequence[Mapping[str, Any]]
    ) -> None:
        page = _Page()
        y = PAGE_H - MARGIN - 30
        page.text(MARGIN, y, f"Evidence packet: case {self.case_number}", size=18, bold=True)
        y -= 30
        for label, value in facts:
            page.text(MARGIN, y, label, bold=True)
            for line in wrap(value, font=FONT, size=10, width=PAGE_W - 2 * MARGIN - 150):
                page.text(MARGIN + 150, y, line)
                y -= 14
        y -= 10
        page.text(MARGIN, y, f"Reads in this packet ({len(reads)})", size=12, bold=True)
        y -= 18
        for read in reads[:SUMMARY_ROWS]:
            page.text(
                MARGIN, y,
                f"{read.get('captured_at', '')}   {read.get('plate', '')} "
                f"({read.get('state') or '-'})   {read.get('camera_name') or read.get('camera_id')}"
                f"   {read.get('read_id')}",
                size=8,
            )  # fmt: skip
            y -= 11
        if len(reads) > SUMMARY_ROWS:
            page.text(
                MARGIN, y, f"... and {len(reads) - SUMMARY_ROWS} more: one page each.", size=8
            )
        self._finish_page(page)

    def read_page(
        self,
        read: Mapping[str, Any],
        *,
        scene: bytes | None,
        crop: bytes | None,
        scene_note: str = "",
    ) -> None:
        page = _Page()
        top = PAGE_H - MARGIN - 24
        page.text(MARGIN, top, f"Read {read.get('read_id')}", size=14, bold=True)
        y = top - 12
        width = PAGE_W - 2 * MARGIN
        for label, data, max_w, max_h in (
            ("Scene", scene, width, 300.0),
            ("Plate crop", crop, 260.0, 90.0),
        ):
            embedded = self._jpeg(data) if data else None
            if embedded is None:
                y -= 14
                page.text(MARGIN, y, f"{label}: no image", size=9)
                continue
            obj, info = embedded
            scale = min(max_w / info.width, max_h / info.height)
            w, h = info.width * scale, info.height * scale
            y -= h + 4
            name = f"Im{len(page.images) + 1}"
            page.image(name, obj, MARGIN, y, w, h)
            if label == "Scene" and scene_note:
                y -= 11
                page.text(MARGIN, y, scene_note, size=8)
        y -= 18
        for label, value in _read_facts(read):
            page.text(MARGIN, y, label, size=9, bold=True)
            for line in wrap(value, font=FONT, size=9, width=width - 120)[:3]:
                page.text(MARGIN + 120, y, line, size=9)
                y -= 12
        y -= 6
        page.text(MARGIN, y, "Review and markings", size=10, bold=True)
        y -= 13
        marks = list(read.get("review_marks", []))
        if not marks:
            page.text(MARGIN, y, "none recorded", size=9)
        for mark in marks:
            if y < MARGIN + 20:
                page.text(MARGIN, y, "(more markings in data/reads.json)", size=8)
                break
            text = (
                f"{mark.get('kind')} by {mark.get('marked_by')} at {mark.get('marked_at')}"
                + (f"; plate is {mark['corrected_plate']}" if mark.get("corrected_plate") else "")
                + (f"; note: {mark['note']}" if mark.get("note") else "")
            )
            for line in wrap(text, font=FONT, size=9, width=width)[:4]:
                page.text(MARGIN, y, line, size=9)
                y -= 12
        self._finish_page(page)

    def close(self) -> None:
        if len(self._kids) != self.pages:
            raise ValueError(f"the report has {len(self._kids)} pages, not {self.pages}")
        kids = " ".join(f"{kid} 0 R" for kid in self._kids)
        self._object(2, f"<< /Type /Pages /Kids [{kids}] /Count {len(self._kids)} >>".encode())
        xref = self._pos
        size = self._next
        rows = [b"0000000000 65535 f \n"]
        for number in range(1, size):
            rows.append(f"{self._offsets[number]:010d} 00000 n \n".encode())
        self._write(f"xref\n0 {size}\n".encode() + b"".join(rows))
        self._write(
            f"trailer\n<< /Size {size} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
        )


def _read_facts(read: Mapping[str, Any]) -> list[tuple[str, str]]:
    def text(value: Any) -> str:
        if value is None or value == "":
            return "-"
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value) or "-"
        return str(value)

    confidence = read.get("confidence")
    vehicle = " ".join(
        str(read[key]) for key in ("color", "make", "model", "body_type") if read.get(key)
    )
    return [
        ("Plate", f"{text(read.get('plate'))} ({text(read.get('state'))})"),
        ("Captured at (UTC)", text(read.get("captured_at"))),
        ("Camera", f"{text(read.get('camera_name'))} ({text(read.get('camera_id'))})"),
        (
            "Location",
            f"{text(read.get('latitude'))}, {text(read.get('longitude'))}, "
            f"facing {text(read.get('direction'))}",
        ),
        (
            "Read confidence",
            f"{float(confidence):.2f}" if isinstance(confidence, int | float) else "-",
        ),
        ("Vehicle", vehicle or "-"),
        ("Features", text(read.get("features"))),
        ("Image SHA-256", text(read.get("image_sha256"))),
        ("Crop SHA-256", text(read.get("crop_sha256"))),
        *_evidence_facts(read, text),
    ]


def _evidence_facts(read: Mapping[str, Any], text: Callable[[Any], str]) -> list[tuple[str, str]]:
    """Who marked the read as evidence and where its hold stands (issue 22)."""
    if read.get("marked_by") is None:
        return []
    hold = text(read.get("hold"))
    if read.get("confirmed_by"):
        hold += f" by {read['confirmed_by']} at {text(read.get('confirmed_at'))}"
    basis = text(read.get("legal_basis"))
    if read.get("legal_basis_text"):
        basis += f": {read['legal_basis_text']}"
    return [
        ("Marked as evidence", f"by {read['marked_by']} at {text(read.get('marked_at'))}"),
        ("Hold", hold),
        ("Legal basis", basis),
    ]
