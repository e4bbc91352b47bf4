"""A slim OpenCV for the bundle: core, imgproc and imgcodecs, built once from source and cached.

The opencv-python-headless wheel carries every OpenCV module (dnn, videoio, calib, ...) in
its 78 MiB `cv2.abi3.so`, and links FFmpeg, OpenBLAS and AVIF (93 MiB more under
`opencv_python_headless.libs/`). The workstation calls none of them: it uses core, imgproc
and imgcodecs only (`grep -rhoE "cv2\\.[A-Za-z_]+" app`). This script builds the same
OpenCV version from the wheel's own source distribution with just those modules, and
JPEG, PNG, TIFF and WebP from the libraries bundled in the source (libjpeg-turbo, libpng,
zlib, libtiff, libwebp) linked in statically: one self-contained `cv2.abi3.so`.

    python packaging/build_opencv_slim.py           build (or reuse) it; print the folder to put first on PYTHONPATH
    python packaging/build_opencv_slim.py --check   only check a cached build (exit 1, saying why, if unusable)

The result is cached under build/opencv-slim/<version>-<recipe>/site/cv2: a second run,
or `make package` after the first, takes no time. The recipe (this file's cmake options)
is part of the folder's name, so changing an option builds again. The virtual
environment keeps the PyPI wheel; only PyInstaller sees this cv2 (`make package` puts
the folder first on PYTHONPATH).

Needs cmake (3.13 or later), a C++17 compiler, Python's headers and NumPy (the build
environment's, for its C headers); ninja when installed. `nice -n 10` and -j2 by default
(OPENCV_SLIM_JOBS=N to change it): 628 build steps, about 85 minutes on the shared 2-core
machine this was made on (load average 3 to 17 from other work). An interrupted build
goes on where it stopped when run again (the cmake build folder is kept). The source
distribution is fetched once with pip and checked against the SHA-256 pinned below.

After building, every `cv2.NAME` that app/ uses is looked up in the new module: a name
the slim build lacks (a function from a module left out) fails the build, naming it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "opencv-slim"
DIST = "opencv-python-headless"

# The source distributions this recipe was made for (PyPI's SHA-256). Another version of
# opencv-python-headless in the environment: add its hash here once it builds and passes.
SDIST_SHA256 = {
    "5.1.0.95": "9002add14b121b9a0d64dcaff48e5cac69a7987efcf2847f7db075c2d3b9633b",
}

# What the bundle's cv2 is built with. Everything not named ON is left out on purpose:
# no videoio/FFmpeg, no LAPACK/OpenBLAS, no dnn, no GUI, no OpenCL (the workstation runs
# on the CPU and the wheel only loads OpenCL when a driver is present), no IPP (its
# binaries are downloaded at configure time; the build must not need the network).
CMAKE_OPTIONS = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_LIST=core,imgproc,imgcodecs,python3",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DBUILD_opencv_python3=ON",
    "-DBUILD_opencv_python2=OFF",
    "-DBUILD_opencv_java=OFF",
    "-DBUILD_opencv_apps=OFF",
    "-DBUILD_TESTS=OFF",
    "-DBUILD_PERF_TESTS=OFF",
    "-DBUILD_DOCS=OFF",
    "-DBUILD_EXAMPLES=OFF",
    "-DBUILD_JAVA=OFF",
    "-DPYTHON3_LIMITED_API=ON",
    "-DOPENCV_PYTHON3_INSTALL_PATH=python",
    "-DINSTALL_CREATE_DISTRIB=ON",
    "-DOPENCV_ALGO_HINT_DEFAULT=ALGO_HINT_ACCURATE",
    # image codecs: JPEG, PNG, TIFF and WebP from the bundled sources (the formats
    # app/vision/decode.py accepts; BMP is built in), zlib for PNG and TIFF
    "-DWITH_JPEG=ON", "-DBUILD_JPEG=ON",
    "-DWITH_PNG=ON", "-DBUILD_PNG=ON", "-DWITH_SPNG=OFF",
    "-DBUILD_ZLIB=ON", "-DWITH_ZLIB_NG=OFF",
    "-DWITH_TIFF=ON", "-DBUILD_TIFF=ON",
    "-DWITH_WEBP=ON", "-DBUILD_WEBP=ON",
    "-DWITH_AVIF=OFF", "-DWITH_OPENJPEG=OFF", "-DWITH_JASPER=OFF", "-DWITH_OPENEXR=OFF",
    "-DBUILD_OPENEXR=OFF", "-DWITH_JPEGXL=OFF", "-DWITH_GDAL=OFF", "-DWITH_GDCM=OFF",
    # no video, cameras, GUI, accelerators or maths libraries
    "-DWITH_FFMPEG=OFF", "-DWITH_GSTREAMER=OFF", "-DWITH_V4L=OFF", "-DWITH_1394=OFF",
    "-DWITH_OBSENSOR=OFF", "-DWITH_GPHOTO2=OFF", "-DWITH_ARAVIS=OFF", "-DWITH_XINE=OFF",
    "-DWITH_GTK=OFF", "-DWITH_QT=OFF", "-DWITH_WIN32UI=OFF", "-DWITH_OPENGL=OFF",
    "-DWITH_VTK=OFF", "-DWITH_WAYLAND=OFF", "-DWITH_FRAMEBUFFER=OFF",
    "-DWITH_LAPACK=OFF", "-DWITH_EIGEN=OFF", "-DWITH_IPP=OFF", "-DWITH_ITT=OFF",
    "-DWITH_OPENCL=OFF", "-DWITH_CUDA=OFF", "-DWITH_VA=OFF", "-DWITH_VA_INTEL=OFF",
    "-DWITH_TBB=OFF", "-DWITH_OPENMP=OFF", "-DWITH_PROTOBUF=OFF", "-DWITH_FLATBUFFERS=OFF",
    "-DWITH_ONNXRUNTIME=OFF", "-DWITH_OPENVINO=OFF", "-DWITH_VULKAN=OFF",
    "-DWITH_HARFBUZZ=OFF", "-DWITH_CPUFEATURES=OFF",
]  # fmt: skip


def _version() -> str:
    return importlib.metadata.version(DIST)


def _recipe(version: str) -> str:
    text = json.dumps({"version": version, "options": CMAKE_OPTIONS, "sys": sys.platform})
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def target(version: str) -> Path:
    """The cached build's site-packages folder (it holds cv2/) for this version and recipe.

    A user base's layout (`<base>/lib/pythonX.Y/site-packages`): PyInstaller keeps a
    package's folder (cv2/ with its loader and config files) only for a package found
    under a site-packages folder, so `make package` passes the base as PYTHONUSERBASE."""
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return CACHE / f"{version}-{_recipe(version)}" / "pyuser" / "lib" / python / "site-packages"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sdist(version: str) -> Path:
    """The source distribution, fetched once with pip and checked against its pinned hash."""
    expected = SDIST_SHA256.get(version)
    if expected is None:
        raise SystemExit(
            f"build_opencv_slim: no pinned source hash for {DIST} {version}: add it to "
            "SDIST_SHA256 in packaging/build_opencv_slim.py (PyPI lists it)"
        )
    name = f"opencv_python_headless-{version}.tar.gz"
    path = CACHE / "sdist" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # pip downloads the file, then prepares its metadata in an isolated build
        # environment (numpy, scikit-build): a few minutes, once.
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--no-binary", DIST, "--dest", str(path.parent), f"{DIST}=={version}"]  # fmt: skip
        subprocess.run(command, check=True, stdout=sys.stderr)  # stdout: the folder alone
    if _sha256(path) != expected:
        path.unlink()
        raise SystemExit(f"build_opencv_slim: {name} does not have the pinned SHA-256: removed")
    return path


def _extract(sdist: Path, into: Path) -> Path:
    """The unpacked source (unpacked beside it first, then renamed: an interrupted unpacking
    is never taken for a whole one)."""
    source = into / sdist.name.removesuffix(".tar.gz")
    if not source.exists():
        partial = into / ".unpacking"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        with tarfile.open(sdist) as archive:
            archive.extractall(partial, filter="data")
        (partial / source.name).rename(source)
        partial.rmdir()
    return source


def _cmake_python() -> list[str]:
    import numpy

    include = sysconfig.get_paths()["include"]
    return [
        f"-DPYTHON3_EXECUTABLE={sys.executable}",
        f"-DPYTHON_DEFAULT_EXECUTABLE={sys.executable}",
        f"-DPYTHON3_INCLUDE_DIR={include}",
        f"-DPYTHON3_NUMPY_INCLUDE_DIRS={numpy.get_include()}",
    ]


def _build(version: str, site: Path) -> None:
    work = CACHE / f"{version}-{_recipe(version)}"
    source = _extract(_sdist(version), work / "src")
    cmake_build = work / "cmake-build"
    install = work / "install"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else ["-G", "Unix Makefiles"]
    jobs = os.environ.get("OPENCV_SLIM_JOBS", "2")
    nice = ["nice", "-n", "10"] if shutil.which("nice") else []
    configure = [
        "cmake", "-S", str(source / "opencv"), "-B", str(cmake_build), *generator,
        *CMAKE_OPTIONS, *_cmake_python(),
        # OpenCV's own package layout (cv2/__init__.py, config-3.py, python-3/cv2.abi3.so),
        # not the sdist's hook for the wheel's: that one wants typing stubs, which OpenCV's
        # generator cannot make for a module list without features2d (Feature2D unresolved)
        "-UOPENCV_CMAKE_HOOKS_DIR",
        # no RUNPATH naming this build folder in the installed module (it links nothing)
        "-DCMAKE_SKIP_INSTALL_RPATH=ON",
        f"-DCMAKE_INSTALL_PREFIX={install}",
    ]  # fmt: skip
    subprocess.run(configure, check=True, stdout=sys.stderr)  # stdout: the folder alone
    build = [*nice, "cmake", "--build", str(cmake_build), "-j", jobs]
    subprocess.run(build, check=True, stdout=sys.stderr)
    shutil.rmtree(install, ignore_errors=True)
    install_it = ["cmake", "--install", str(cmake_build), "--strip"]
    subprocess.run(install_it, check=True, stdout=sys.stderr)
    built = install / "python" / "cv2"
    if not built.is_dir():
        raise SystemExit(f"build_opencv_slim: the install left no cv2 package in {install}")
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    shutil.copytree(built, site / "cv2")


def used_names(app: Path) -> list[str]:
    """Every `cv2.NAME` the workstation's code names (a prefix such as COLOR_BGR2GRAY whole)."""
    pattern = re.compile(r"\bcv2\.([A-Za-z_][A-Za-z0-9_]*)")
    names: set[str] = set()
    for path in sorted(app.rglob("*.py")):
        names.update(pattern.findall(path.read_text(encoding="utf-8")))
    return sorted(names)


CHECK = """
import json, sys
import cv2
names = json.loads(sys.argv[1])
print(json.dumps({"file": cv2.__file__, "version": cv2.__version__,
                  "missing": [n for n in names if not hasattr(cv2, n)]}))
"""


def in_use() -> Path | None:
    """The site-packages folder of the slim build when the cv2 on the path is one, else None
    (the spec asks: `make package` puts the slim build first on PYTHONPATH)."""
    spec = importlib.util.find_spec("cv2")
    if spec is None or spec.origin is None:
        return None
    site = Path(spec.origin).resolve().parent.parent
    return site if site.is_relative_to(CACHE.resolve()) else None


def check(site: Path) -> str | None:
    """Why the build in `site` cannot serve the workstation, or None when it can: it must
    import from there, be the environment's OpenCV version and have every name app/ uses."""
    version = _version()
    if not (site / "cv2").is_dir():
        return f"no slim OpenCV built in {site}"
    env = {**os.environ, "PYTHONPATH": str(site)}
    names = json.dumps(used_names(ROOT / "app"))
    done = subprocess.run(
        [sys.executable, "-c", CHECK, names], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        return f"the slim cv2 in {site} does not import: {done.stderr.strip()[-2000:]}"
    found = json.loads(done.stdout)
    if not Path(found["file"]).resolve().is_relative_to(site.resolve()):
        return f"cv2 was imported from {found['file']}, not from {site}"
    if not version.startswith(found["version"]):
        return f"the slim cv2 is OpenCV {found['version']}, the environment's is {version}"
    if found["missing"]:
        return "the slim cv2 lacks what app/ uses: " + ", ".join(
            f"cv2.{name}" for name in found["missing"]
        )
    return None


def main(argv: list[str]) -> int:
    version = _version()
    site = target(version)
    stamp = CACHE / f"{version}-{_recipe(version)}" / "built.json"
    if argv[:1] == ["--check"]:
        problem = check(site)
        if problem is not None:
            print(problem, file=sys.stderr)
            return 1
        print(site)
        return 0
    if not stamp.exists() or check(site) is not None:
        print(f"building a slim OpenCV {version} into {site} (once; see its docstring)",
              file=sys.stderr)  # fmt: skip
        _build(version, site)
        problem = check(site)
        if problem is not None:
            print(f"build_opencv_slim: {problem}", file=sys.stderr)
            return 1
        stamp.write_text(json.dumps({"version": version, "options": CMAKE_OPTIONS}, indent=1))
    print(site)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
