"""The bundle's OpenCV must be opencv-python-headless, never opencv-python.

Both wheels install the same `cv2` package, and whichever was installed last owns its
files. The desktop build (opencv-python, which the `bench` extra's rapidocr pulls in)
carries Qt 5, X11 and GUI libraries for `cv2.imshow`, which the workstation never calls:
over 100 MB more in the bundle, and a second Qt beside PySide6's.

    python packaging/opencv_headless.py           exit 1, saying how to fix it, unless cv2 is headless
    python packaging/opencv_headless.py --repair  put opencv-python-headless's cv2 back (pip)

The bundle itself takes a slimmer cv2 still: `make package` builds OpenCV's core,
imgproc and imgcodecs alone from this wheel's source (packaging/build_opencv_slim.py) and
puts that first on the path. `packaging/platedesk.spec` takes the wheel's cv2 only when
run without it (with a warning: about 170 MB more), and refuses the desktop cv2;
`make package` repairs the environment's cv2 first, as the slim build is made for the
headless wheel's version (docs/packaging.md).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import subprocess
import sys
from pathlib import Path

HEADLESS = "opencv-python-headless"


def _cv2_folder() -> Path | None:
    spec = importlib.util.find_spec("cv2")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _headless_distribution(site: Path) -> importlib.metadata.Distribution | None:
    for dist in importlib.metadata.distributions(path=[str(site)]):
        if (dist.metadata["Name"] or "").lower() == HEADLESS:
            return dist
    return None


def _sha256_b64(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")


def problem() -> str | None:
    """Why the cv2 found on the path is not opencv-python-headless's, or None when it is:
    its compiled module must have the hash the headless wheel's RECORD lists for it."""
    folder = _cv2_folder()
    if folder is None:
        return f"OpenCV is not installed: pip install {HEADLESS}"
    dist = _headless_distribution(folder.parent)
    if dist is None:
        return f"{folder} is not from {HEADLESS}: pip install {HEADLESS}"
    compiled = [
        entry
        for entry in dist.files or []
        if entry.parts[:1] == ("cv2",) and entry.suffix in {".so", ".pyd"} and entry.hash
    ]
    if not compiled:
        return f"{HEADLESS} {dist.version} lists no compiled cv2 module in its RECORD"
    for entry in compiled:
        assert entry.hash is not None
        if _sha256_b64(Path(str(dist.locate_file(entry)))) != entry.hash.value:
            return (
                f"{dist.locate_file(entry)} is not the one {HEADLESS} installed: another OpenCV "
                "(opencv-python, the desktop build: over 100 MB of Qt 5 and GUI libraries more) "
                f"was installed over it. Run `python packaging/opencv_headless.py --repair` "
                f"(make package does), or see docs/packaging.md."
            )
    return None


def repair() -> int:
    """Reinstall opencv-python-headless (the same version, no dependencies) over cv2."""
    if problem() is None:
        return 0
    version = importlib.metadata.version(HEADLESS)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--force-reinstall",
               "--no-deps", f"{HEADLESS}=={version}"]  # fmt: skip
    print(f"reinstalling {HEADLESS} {version}: cv2 belonged to another OpenCV", file=sys.stderr)
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        return done.returncode
    still = problem()
    if still is not None:
        print(still, file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--repair"]:
        return repair()
    found = problem()
    if found is not None:
        print(found, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
