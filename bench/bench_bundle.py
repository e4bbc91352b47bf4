"""The workstation bundle (dist/platedesk) against `python -m app` from the virtual
environment, in the same run: size on disk, and the start to the sign-in window.

Start: from launching the process to its exit after `--smoke-screenshot` has shown the
sign-in dialog, painted it and written it to a PNG (so an upper bound of "to the
sign-in window"), with a clean environment and an empty profile. The first run of each
is reported apart (a true cold start with --drop-caches, as root); then the median
of `--runs` alternating runs. Prints JSON.
Targets (issue 24): bundle <= 300 MB on disk, start <= 2 s.

    make package && PYTHONPATH=. .venv/bin/python bench/bench_bundle.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "dist" / "platedesk"
EXECUTABLE = BUNDLE / ("platedesk.exe" if sys.platform == "win32" else "platedesk")
VENV = ROOT / ".venv"
SIZE_TARGET_MB = 300.0
START_TARGET_S = 2.0
MB = 1_000_000


def disk_bytes(folder: Path) -> int:
    """Bytes on disk (allocated blocks) of every file under `folder`, each counted once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for path, _dirs, files in os.walk(folder):
        for name in files:
            stat = os.lstat(os.path.join(path, name))
            if (stat.st_dev, stat.st_ino) in seen:
                continue
            seen.add((stat.st_dev, stat.st_ino))
            total += getattr(stat, "st_blocks", 0) * 512 or stat.st_size
    return total


def largest_files(folder: Path, count: int = 10) -> list[dict[str, Any]]:
    """The `count` largest files under `folder` (links not followed), largest first."""
    sizes = [
        (path.stat().st_size, path.relative_to(folder).as_posix())
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink()
    ]
    return [
        {"file": name, "mib": round(size / 2**20, 1)}
        for size, name in sorted(sizes, reverse=True)[:count]
    ]


def largest_parts(folder: Path, count: int = 12) -> list[dict[str, Any]]:
    """Where the bytes are: each entry directly under `folder` (a folder with all it
    holds), on disk, largest first; PySide6's Qt/lib, Qt/plugins and the rest apart."""
    parts = [path for path in folder.iterdir() if path.name != "PySide6"]
    qt = folder / "PySide6"
    if qt.is_dir():
        parts += [path for path in qt.iterdir() if path.name != "Qt"]
        parts += list((qt / "Qt").iterdir()) if (qt / "Qt").is_dir() else []
    sizes = [
        (disk_bytes(path) if path.is_dir() else os.lstat(path).st_blocks * 512, path)
        for path in parts
    ]
    return [
        {"part": path.relative_to(folder).as_posix(), "mib": round(size / 2**20, 1)}
        for size, path in sorted(sizes, reverse=True)[:count]
    ]


def _environment(home: Path) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "QT_QPA_PLATFORM": "offscreen"}  # fmt: skip
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(home / name.lower())
    return env


def start_seconds(command: list[str], *, env: dict[str, str], work: Path) -> float:
    """Launch to exit of one `--smoke-screenshot` run with a new, empty profile."""
    profile = Path(tempfile.mkdtemp(dir=work, prefix="profile-"))
    png = profile / "signin.png"
    args = [*command, "--profile", str(profile), "--hub", "https://hub.example.test",
            "--smoke-screenshot", str(png)]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or not png.exists():
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()[-2000:]}")
    return elapsed


def _drop_page_cache() -> bool:
    """Empty the page cache (Linux, root), so the next start reads its files from disk."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def _start_times(count: int, drop_caches: bool) -> dict[str, dict[str, Any]]:
    """The first start of the bundle and of `python -m app`, then `count` alternating runs."""
    python = VENV / "bin" / "python"
    first_cold: dict[str, bool] = {}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        bundle_env = _environment(work / "home-bundle")
        venv_env = {**_environment(work / "home-venv"), "PYTHONPATH": str(ROOT)}
        commands = {
            "bundle": ([str(EXECUTABLE)], bundle_env),
            "venv": ([str(python), "-m", "app"], venv_env),
        }
        first: dict[str, float] = {}
        for name, (cmd, env) in commands.items():
            first_cold[name] = drop_caches and _drop_page_cache()
            first[name] = start_seconds(cmd, env=env, work=work)
        runs: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(max(1, count)):
            for name, (cmd, env) in commands.items():
                runs[name].append(start_seconds(cmd, env=env, work=work))
    return {
        name: {
            "first_s": round(first[name], 3),
            "first_was_cold": first_cold[name],  # the page cache was dropped before it
            "median_s": round(statistics.median(times), 3),
            "min_s": round(min(times), 3),
            "max_s": round(max(times), 3),
            "runs": len(times),
        }
        for name, times in runs.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="warm runs of each (alternating)")
    parser.add_argument(
        "--drop-caches",
        action="store_true",
        help="drop the page cache before each first run, for a true cold start (Linux, root; "
        "it slows everything else on the machine for a moment)",
    )
    parser.add_argument(
        "--size-only", action="store_true", help="only the sizes and where the bytes are"
    )
    args = parser.parse_args()
    if not EXECUTABLE.exists():
        print(f"no bundle at {EXECUTABLE}: run `make package` first", file=sys.stderr)
        return 1
    bundle_size = disk_bytes(BUNDLE)
    venv_size = disk_bytes(VENV.resolve())
    source_size = sum(disk_bytes(ROOT / part) for part in ("app", "models", "resources"))
    result: dict[str, Any] = {
        "benchmark": "bundle",
        "size_on_disk_mb": {
            "bundle": round(bundle_size / MB, 1),
            "bundle_mib": round(bundle_size / 2**20, 1),
            "venv": round(venv_size / MB, 1),  # every installed package (dev and hub too)
            "venv_plus_source": round((venv_size + source_size) / MB, 1),
            "note": "the venv figures leave out the system Python the venv runs on",
        },
        "bundle_largest_files": largest_files(BUNDLE),
        "bundle_largest_parts": largest_parts(BUNDLE / "_internal"),
    }
    targets: dict[str, Any] = {
        "size_mb": SIZE_TARGET_MB,
        "size_met": bundle_size / MB <= SIZE_TARGET_MB,
    }
    if not args.size_only:
        start = _start_times(args.runs, args.drop_caches)
        result["start_to_sign_in_s"] = start
        targets |= {
            "start_s": START_TARGET_S,
            "start_met": start["bundle"]["median_s"] <= START_TARGET_S,
        }
    result["targets"] = targets
    result["load_average"] = [round(value, 2) for value in os.getloadavg()]
    result["cpus"] = os.cpu_count()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
