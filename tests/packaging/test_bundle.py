"""The PyInstaller bundle (dist/platedesk/), run as a detective's PC runs it: no virtual
environment on PATH, no PYTHONPATH, a home of its own. Only with PACKAGE=1 (`make test
PACKAGE=1` builds it first); under CI=1 a missing bundle fails instead of skipping."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__

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
        subprocess.run(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
             "--distpath", str(ROOT / "dist"), "--workpath", str(ROOT / "build" / "pyinstaller"),
             str(SPEC)],
            check=True, cwd=ROOT, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )  # fmt: skip
    assert EXECUTABLE.exists(), f"{EXECUTABLE} was not built"
    return EXECUTABLE


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
                "/tests/", "/hub/", "fastapi", "sqlalchemy", "psycopg", "pytest", "torch")  # fmt: skip
    found = sorted({word for word in unwanted for name in files if word in f"/{name}/"})
    assert found == []
    assert (BUNDLE / "_internal" / "models" / "plate-reader.onnx").is_file()
    assert (BUNDLE / "_internal" / "resources" / "styles" / "platedesk.qss").is_file()


def test_the_bundle_connects_signs_in_and_syncs_over_tls(
    bundle: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    """First run with the agency's CA bundle, sign-in and a sync of several feed pages: the
    pages after the first are parsed in a spawned process, which in a frozen build works
    only because the entry point calls multiprocessing.freeze_support() first."""
    from datetime import UTC, datetime, timedelta

    from app.config.settings import load_settings, save_settings
    from app.demo import totp_now
    from tests.support.live_hub import JUSTIFICATION
    from tests.support.tls_hub import tls_hub

    env = {**clean_env, "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
    profile = tmp_path / "profile"
    with tls_hub(tmp_path / "hub", seed=True) as hub:
        done = _run(bundle, env, "--profile", str(profile), "--json", "connect", hub.url,
                    "--ca-bundle", str(hub.ca.ca_pem))  # fmt: skip
        assert done.returncode == 0, done.stderr
        settings = load_settings(profile)
        settings.feed_page_size = 2  # several pages, so the parser process starts
        save_settings(profile, settings)
        user = hub.user("detective")
        login = subprocess.run(
            [str(bundle), "--profile", str(profile), "login", "--user", user["username"],
             "--totp", totp_now(user["totp_secret"])],
            input=user["password"] + "\n", env=env, capture_output=True, text=True,
            timeout=RUN_TIMEOUT_S, check=False,
        )  # fmt: skip
        assert login.returncode == 0, login.stderr
        case = next(c["case_number"] for c in hub.seeded["cases"] if "detective" in c["assigned"])
        now = datetime.now(UTC)
        requested = _run(bundle, env, "--profile", str(profile), "--json", "slice", "request",
                         "--case", case, "--purpose", "robbery", "--justification", JUSTIFICATION,
                         "--from", (now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "--to", now.strftime("%Y-%m-%dT%H:%M:%SZ"))  # fmt: skip
        assert requested.returncode == 0, requested.stderr
        estimated = json.loads(requested.stdout)["estimated_reads"]
        synced = _run(bundle, env, "--profile", str(profile), "--json", "sync")
        assert synced.returncode == 0, synced.stderr
    assert estimated > 2  # more than one page
    assert json.loads(synced.stdout)["reads"] == estimated
