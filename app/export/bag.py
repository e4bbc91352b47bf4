"""A BagIt bag (RFC 8493, BagIt-Version 1.0) written file by file, hashed as it is written.

Why not `bagit.make_bag`: bagit 1.9 (the newest release) writes BagIt-Version 0.97,
moves an existing folder into data/ and reads every file a second time to hash it,
and changes the process's working directory while it runs (unsafe with threads).
Here every payload file is hashed while it is written (one pass, one block in
memory), its manifest lines are appended at once (memory stays flat however many
files), and no working directory changes. `bagit.Bag(...).validate()` and
`bagit.py --validate` read the result.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

BAGIT_VERSION = "1.0"
BAGIT_TXT = f"BagIt-Version: {BAGIT_VERSION}\nTag-File-Character-Encoding: UTF-8\n"
CHECKSUMS = ("sha256", "sha512")


def encode_path(relative: str) -> str:
    """RFC 8493 2.1.3: %, CR and LF in a manifest's file path are percent-encoded."""
    return relative.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


class _HashingFile(io.RawIOBase):
    def __init__(self, handle: IO[bytes], algorithms: Sequence[str]) -> None:
        super().__init__()
        self._handle = handle
        self.hashers = {name: hashlib.new(name) for name in algorithms}
        self.size = 0
        self.dead = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        if self.dead:
            return len(view)
        self._handle.write(view)
        for hasher in self.hashers.values():
            hasher.update(view)
        self.size += len(view)
        return len(view)


class BagWriter:
    """Writes payload files under root/data and, at `finish`, the tag files."""

    def __init__(self, root: Path, *, algorithms: Sequence[str] = CHECKSUMS) -> None:
        self.root = root
        self.algorithms = tuple(algorithms)
        (root / "data").mkdir(parents=True, exist_ok=False)
        self.files = 0
        self.bytes = 0
        self._manifests = {
            name: (root / f"manifest-{name}.txt").open("w", encoding="utf-8", newline="\n")
            for name in self.algorithms
        }

    @contextmanager
    def binary(self, relative: str) -> Iterator[IO[bytes]]:
        """A payload file (`relative` under data/) to write bytes into."""
        path = self._payload_path(relative)
        with path.open("wb") as handle:
            hashing = _HashingFile(handle, self.algorithms)
            try:
                yield hashing  # type: ignore[misc]
            except BaseException:
                hashing.dead = True  # later flushes of wrappers write nothing
                raise
        self._record(relative, hashing)

    @contextmanager
    def text(self, relative: str) -> Iterator[IO[str]]:
        """A payload text file (UTF-8, newlines as written)."""
        with self.binary(relative) as raw:
            wrapper = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            try:
                yield wrapper
            finally:
                wrapper.detach()

    def add_bytes(self, relative: str, data: bytes) -> None:
        with self.binary(relative) as handle:
            handle.write(data)

    def _payload_path(self, relative: str) -> Path:
        parts = Path(relative).parts
        if Path(relative).is_absolute() or ".." in parts or not parts:
            raise ValueError(f"not a payload path: {relative}")
        path = self.root / "data" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _record(self, relative: str, hashing: _HashingFile) -> None:
        line_path = encode_path(f"data/{Path(relative).as_posix()}")
        for name, manifest in self._manifests.items():
            manifest.write(f"{hashing.hashers[name].hexdigest()}  {line_path}\n")
        self.files += 1
        self.bytes += hashing.size

    def finish(self, bag_info: Mapping[str, str], *, bagged_at: datetime) -> bytes:
        """Write bagit.txt, bag-info.txt and the tag manifests; returns the bytes of
        tagmanifest-sha256.txt (what the packet's signature covers)."""
        for manifest in self._manifests.values():
            manifest.close()
        (self.root / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8", newline="\n")
        info = {
            **bag_info,
            "Bagging-Date": f"{bagged_at:%Y-%m-%d}",
            "Payload-Oxum": f"{self.bytes}.{self.files}",
        }
        lines = [f"{label}: {_one_line(value)}\n" for label, value in info.items()]
        (self.root / "bag-info.txt").write_text("".join(lines), encoding="utf-8", newline="\n")
        tag_files = ["bagit.txt", "bag-info.txt", *(f"manifest-{n}.txt" for n in self.algorithms)]
        signed = b""
        for name in self.algorithms:
            entries = [
                f"{hashlib.new(name, (self.root / tag).read_bytes()).hexdigest()}  {tag}\n"
                for tag in tag_files
            ]
            text = "".join(entries)
            (self.root / f"tagmanifest-{name}.txt").write_text(text, encoding="utf-8", newline="\n")
            if name == "sha256":
                signed = text.encode("utf-8")
        return signed

    def abort(self) -> None:
        for manifest in self._manifests.values():
            manifest.close()


def _one_line(value: str) -> str:
    return " ".join(str(value).split())
