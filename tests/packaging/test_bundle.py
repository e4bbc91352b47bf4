"""The PyInstaller bundle (dist/platedesk/), run as a detective's PC runs it: no virtual
environment on PATH, no PYTHONPATH, a home of its own. Only with PACKAGE=1 (`make test
PACKAGE=1` builds it first); under CI=1 a missing bundle fails instead of skipping."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from app import __version__

if TYPE_CHECKING:
    from tests.support.tls_hub import TlsHub

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "platedesk"
EXECUTABLE = BUNDLE / ("platedesk.exe" if sys.platform == "win32" else "platedesk")
SPEC = ROOT / "packaging" / "platedesk.spec"
PLATES = ROOT / "tests" / "data" / "plates"
RUN_TIMEOUT_S = 120

pytestmark = [
    pytest.mark.package,
    pytest.mark.skipif(
        os.environ.get("PACKAGE") != "1",
        reason="the bundle is checked only with PACKAGE=1 (make test PACKAGE=1 builds it)",
    ),
]


@pytest.fixture(scope="module")
def bundle() -> Path:
    """dist/platedesk/platedesk: the one there, else built now when PyInstaller is here."""
    if not EXECUTABLE.exists():
        try:
            import PyInstaller  # noqa: F401
        except ImportError:
            message = f"no bundle at {EXECUTABLE} and no PyInstaller to build it: make package"
            if os.environ.get("CI") == "1":
                pytest.fail(message)
            pytest.skip(message)
        # as `make package` does: the slim OpenCV (built once, then cached) first on the path
        site = subprocess.run(
            [sys.executable, str(ROOT / "packaging" / "build_opencv_slim.py")],
            check=True, cwd=ROOT, stdout=subprocess.PIPE, text=True,
        ).stdout.strip()  # fmt: skip
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
               "PYTHONUSERBASE": site.rsplit("/lib/", 1)[0], "PYTHONPATH": f"{site}:{ROOT}"}  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
             "--distpath", str(ROOT / "dist"), "--workpath", str(ROOT / "build" / "pyinstaller"),
             str(SPEC)],
            check=True, cwd=ROOT, env=env,
        )  # fmt: skip
    assert EXECUTABLE.exists(), f"{EXECUTABLE} was not built"
    return EXECUTABLE


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsHub]:
    """A seeded hub over TLS with the agency's own CA, shared by the tests that sign in."""
    from tests.support.tls_hub import tls_hub

    with tls_hub(tmp_path_factory.mktemp("hub"), seed=True) as running:
        yield running


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """What a user's session has: a PATH of system folders only, a home and its XDG folders."""
    home = tmp_path / "home"
    env = {
        "PATH": os.pathsep.join(
            p for p in ("/usr/local/bin", "/usr/bin", "/bin") if Path(p).is_dir()
        ),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
    }
    for name, folder in (("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config"),
                         ("XDG_STATE_HOME", ".local/state"), ("XDG_CACHE_HOME", ".cache")):  # fmt: skip
        (home / folder).mkdir(parents=True)
        env[name] = str(home / folder)
    return env


def _run(bundle: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bundle), *args],
        env=env,
        cwd=env["HOME"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def test_version(bundle: Path, clean_env: dict[str, str]) -> None:
    done = _run(bundle, clean_env, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"platedesk {__version__}"


def test_verify_help(bundle: Path, clean_env: dict[str, str]) -> None:
    done = _run(bundle, clean_env, "verify", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: platedesk verify")
    assert "--trusted-keys FILE" in done.stdout


def test_read_plate_uses_the_bundled_model(bundle: Path, clean_env: dict[str, str]) -> None:
    truth = {
        item["image"]: item["plate"] for item in json.loads((PLATES / "frames.json").read_text())
    }
    done = _run(bundle, clean_env, "read-plate", str(PLATES / "frame_00.jpg"), "--json")
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)
    assert result["plate"] == truth["frame_00.jpg"]
    assert 0.0 < result["confidence"] <= 1.0


def test_read_plate_gives_the_readings_of_the_virtual_environment(
    bundle: Path, clean_env: dict[str, str]
) -> None:
    """Every test frame (level and steep: localized, rectified, read) through the bundle,
    whose OpenCV is the slim build, reads as in the virtual environment with the PyPI
    wheel: the same plate, box and alternatives. Confidences may differ in the third
    decimal (0.0026 at most on these frames): the two builds' image operations round
    differently in the last bits (the wheel has Intel IPP's versions of some; the slim
    build, made without network, has OpenCV's own)."""
    from app.vision.decode import decode_file
    from app.vision.plate_reader import describe, load_plate_reader

    frames = sorted(PLATES.glob("*frame_*.jpg"))
    assert len(frames) >= 20
    done = _run(bundle, clean_env, "read-plate", *map(str, frames), "--json")
    assert done.returncode == 0, done.stderr
    bundled = {Path(item.pop("image")).name: item for item in json.loads(done.stdout)}
    reader = load_plate_reader(None)
    assert reader is not None
    here = {
        path.name: json.loads(json.dumps(describe(reader.read_image(decode_file(path)))))
        for path in frames
    }

    def texts(item: dict[str, Any]) -> tuple[object, ...]:
        return item["plate"], item["box"], [text for text, _ in item["alternatives"]]

    def scores(item: dict[str, Any]) -> list[float]:
        alternatives = [score for _, score in item["alternatives"]]
        return [item["confidence"], *item.get("char_confidences", []), *alternatives]

    assert [name for name in here if texts(bundled[name]) != texts(here[name])] == []
    for name, item in here.items():
        assert scores(bundled[name]) == pytest.approx(scores(item), abs=0.01), name
    assert sum(item["plate"] is not None for item in here.values()) >= len(frames) // 2


_CV2_NAMES = """
import importlib.machinery, importlib.util, json, sys
loader = importlib.machinery.ExtensionFileLoader("cv2", sys.argv[1])
module = importlib.util.module_from_spec(importlib.util.spec_from_loader("cv2", loader))
loader.exec_module(module)
print(json.dumps({"names": sorted(dir(module)), "build": module.getBuildInformation()}))
"""


def test_the_bundled_opencv_has_what_the_workstation_calls_and_nothing_more(
    bundle: Path,
) -> None:
    """The bundle's compiled cv2 module, loaded on its own: every `cv2.NAME` in app/ is
    there; video I/O, DNN, GUI and the other modules are not, nor their FFmpeg and OpenBLAS."""
    [module] = (BUNDLE / "_internal" / "cv2").rglob("cv2*.so")  # python-3/ in OpenCV's layout
    found = subprocess.run(
        [sys.executable, "-c", _CV2_NAMES, str(module)],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=True,
    )  # fmt: skip
    names = set(json.loads(found.stdout)["names"])
    build = json.loads(found.stdout)["build"]
    used = {
        name
        for path in (ROOT / "app").rglob("*.py")
        for name in re.findall(r"\bcv2\.([A-Za-z_][A-Za-z0-9_]*)", path.read_text("utf-8"))
    }
    assert {"imdecode", "findContours", "createCLAHE", "warpPerspective"} <= used
    assert sorted(used - names) == []
    assert {"VideoCapture", "dnn", "imshow", "CascadeClassifier"} & names == set()
    [modules] = re.findall(r"To be built:\s*(.*)", build)
    assert set(modules.split()) <= {"core", "imgproc", "imgcodecs", "flann", "geometry", "python3"}
    assert re.search(r"Lapack:\s*NO", build) or "Lapack" not in build
    files = [path.name for path in BUNDLE.rglob("*")]
    assert [n for n in files if n.startswith(("libavcodec", "libavformat", "libopenblasp"))] == []
    assert not (BUNDLE / "_internal" / "opencv_python_headless.libs").exists()


def test_plain_http_to_another_computer_is_refused(
    bundle: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    done = _run(bundle, clean_env, "--profile", str(tmp_path / "p"), "connect", "http://10.9.8.7")
    assert done.returncode == 1
    assert done.stderr.startswith("platedesk: Platedesk does not connect to http://10.9.8.7")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("hub_args", "title", "width"),
    [
        (["--hub", "https://hub.example.test"], "Sign in to Platedesk", 440),
        ([], "Connect Platedesk to your hub", 520),
    ],
    ids=["sign-in", "first-run"],
)
def test_the_window_starts_offscreen_and_renders_its_first_dialog(
    bundle: Path,
    clean_env: dict[str, str],
    tmp_path: Path,
    hub_args: list[str],
    title: str,
    width: int,
) -> None:
    from PIL import Image

    png = tmp_path / "first.png"
    done = _run(bundle, clean_env, "--profile", str(tmp_path / "profile"), *hub_args,
                "--smoke-screenshot", str(png))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {png} ({title})"
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.width >= width
        colors = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colors is None or len(colors) > 16  # text and widgets, not a blank frame


def test_the_bundle_leaves_out_what_a_workstation_never_loads(bundle: Path) -> None:
    files = [path.relative_to(BUNDLE).as_posix() for path in BUNDLE.rglob("*")]
    unwanted = ("QtWebEngine", "Qt6Quick", "Qt6Qml", "Qt3D", "Qt6Pdf", "/Qt/translations/",
                "/tests/", "/hub/", "fastapi", "sqlalchemy", "psycopg", "pytest", "torch",
                "/opencv_python.libs/")  # the desktop OpenCV's Qt 5 and X11  # fmt: skip
    found = sorted({word for word in unwanted for name in files if word in f"/{name}/"})
    assert found == []
    assert (BUNDLE / "_internal" / "models" / "plate-reader.onnx").is_file()
    assert (BUNDLE / "_internal" / "resources" / "styles" / "platedesk.qss").is_file()


def _sign_in(bundle: Path, env: dict[str, str], hub: TlsHub, profile: Path, role: str) -> None:
    """First run with the agency's CA bundle, then sign-in, both through the bundle."""
    from app.demo import totp_now

    done = _run(bundle, env, "--profile", str(profile), "--json", "connect", hub.url,
                "--ca-bundle", str(hub.ca.ca_pem))  # fmt: skip
    assert done.returncode == 0, done.stderr
    user = hub.user(role)
    login = subprocess.run(
        [str(bundle), "--profile", str(profile), "login", "--user", user["username"],
         "--totp", totp_now(user["totp_secret"])],
        input=user["password"] + "\n", env=env, capture_output=True, text=True,
        timeout=RUN_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert login.returncode == 0, login.stderr


def test_the_bundle_syncs_enhances_exports_and_verifies_over_tls(
    bundle: Path, hub: TlsHub, clean_env: dict[str, str], tmp_path: Path
) -> None:
    """A detective's day through the bundle: first run with the agency's CA bundle,
    sign-in, a slice synced in several feed pages with its images, evidence marked, a
    packet exported with an enhanced and redacted copy, and the packet verified at the hub.
    The pages after the first are parsed in a spawned process, which in a frozen build
    works only because the entry point calls multiprocessing.freeze_support() first; the
    derived copy decodes, enhances (CLAHE, gamma, sharpening), blurs and encodes images
    with the bundled OpenCV and NumPy; the packet's report embeds images with Pillow."""
    from datetime import UTC, datetime, timedelta

    from PIL import Image

    from app.config.settings import load_settings, save_settings
    from tests.support.live_hub import JUSTIFICATION

    env = {**clean_env, "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
    profile = tmp_path / "profile"
    _sign_in(bundle, env, hub, profile, "detective")
    settings = load_settings(profile)
    settings.feed_page_size = 2  # several pages, so the parser process starts
    save_settings(profile, settings)
    case = next(c["case_number"] for c in hub.seeded["cases"] if "detective" in c["assigned"])
    now = datetime.now(UTC)
    requested = _run(bundle, env, "--profile", str(profile), "--json", "slice", "request",
                     "--case", case, "--purpose", "robbery", "--justification", JUSTIFICATION,
                     "--from", (now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "--to", now.strftime("%Y-%m-%dT%H:%M:%SZ"))  # fmt: skip
    assert requested.returncode == 0, requested.stderr
    estimated = json.loads(requested.stdout)["estimated_reads"]
    assert estimated > 2  # more than one page
    synced = _run(bundle, env, "--profile", str(profile), "--json", "sync", "--images")
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)["reads"] == estimated

    found = _run(bundle, env, "--profile", str(profile), "--json", "search", "--case", case,
                 "--limit", "1")  # fmt: skip
    assert found.returncode == 0, found.stderr
    [read] = json.loads(found.stdout)["results"]
    marked = _run(bundle, env, "--profile", str(profile), "--json", "evidence", "add",
                  "--case", case, read["read_id"])  # fmt: skip
    assert marked.returncode == 0, marked.stderr
    # a packet holds the case's confirmed evidence: the technician confirms, on their profile
    technician = tmp_path / "technician"
    _sign_in(bundle, env, hub, technician, "evidence_technician")
    confirmed = _run(bundle, env, "--profile", str(technician), "--json", "evidence", "confirm",
                     "--case", case, read["read_id"])  # fmt: skip
    assert confirmed.returncode == 0, confirmed.stderr
    spec = tmp_path / "redactions.json"
    enhance = {"clahe": True, "gamma": 1.4, "sharpen": 0.8, "brightness": 10, "contrast": 1.2}
    spec.write_text(json.dumps({read["read_id"]: {"regions": [[8, 8, 60, 30]],
                                                  "enhance": enhance}}))  # fmt: skip
    exported = _run(bundle, env, "--profile", str(profile), "--json", "export", "--case", case,
                    "--out", str(tmp_path / "exports"), "--redactions", str(spec))  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    packet = Path(json.loads(exported.stdout)["packet"])
    derived = packet / "data" / "derived" / f"{read['read_id']}-scene.derived.png"
    sidecar = json.loads(derived.with_name(derived.name + ".json").read_text("utf-8"))
    assert [op["operation"] for op in sidecar["operations"]] == ["enhance", "blur"]
    assert {k: sidecar["operations"][0][k] for k in enhance} == enhance
    with Image.open(derived) as copy, Image.open(packet / sidecar["original"]) as original:
        assert copy.format == "PNG"
        assert copy.size == original.size  # the whole frame, from the bundled JPEG decoder
        assert copy.convert("RGB").tobytes() != original.convert("RGB").tobytes()

    verified = _run(bundle, env, "--profile", str(profile), "--json", "verify", str(packet))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert (report["valid"], report["intact"], report["origin_verified"]) == (True, True, True)
    offline = _run(bundle, env, "verify", str(packet), "--json")
    assert offline.returncode == 3  # intact; offline its origin is not checked


def test_a_supervisor_sees_the_charts_tab(
    bundle: Path, hub: TlsHub, clean_env: dict[str, str], tmp_path: Path
) -> None:
    """The main window a supervisor opens, on its Charts tab (Qt Charts, frozen), filled
    from the hub and rendered to PNG (packaging/smoke_desk.py)."""
    from PIL import Image

    from app.core.insights import DEFAULT_DAYS

    env = {**clean_env, "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
    profile = tmp_path / "profile"
    _sign_in(bundle, env, hub, profile, "supervisor")
    png = tmp_path / "desk.png"
    done = _run(bundle, env, "--profile", str(profile), "--smoke-desk", str(png))
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(
        rf"wrote {re.escape(str(png))} \(Charts: \d+ searches, \d+ flags, \d+ decisions and "
        rf"answers over {DEFAULT_DAYS} days\.\)",
        done.stdout.strip(),
    ), done.stdout
    with Image.open(png) as image:
        assert image.size[0] >= 1440
        colors = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colors is None or len(colors) > 64  # four charts, tabs and panels, not a blank frame
