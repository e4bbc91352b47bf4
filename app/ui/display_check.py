"""Before Qt starts: can its platform plugin load here? If not, say which system package
is missing, instead of the bare abort Qt ends with (its message goes to the log).

Linux only, and only when a display is used: the offscreen and minimal platforms need
no X11 or Wayland libraries. The plugin's libraries are listed by `ldd`, which names
each one the dynamic loader cannot find.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# The shared libraries Qt's xcb and wayland plugins load, and the Debian packages that bring them.
DEBIAN_PACKAGES = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}
HEADLESS_PLATFORMS = {"offscreen", "minimal", "vnc", "linuxfb"}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found", re.MULTILINE)

Ldd = Callable[[Path], str | None]


def platform_name(environ: dict[str, str] | None = None) -> str:
    """The Qt platform plugin this session will load (QT_QPA_PLATFORM, else by session)."""
    env = os.environ if environ is None else environ
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return re.split(r"[:;]", chosen, maxsplit=1)[0]
    if env.get("DISPLAY"):
        return "xcb"
    if env.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "xcb"


def plugin_path(platform: str) -> Path:
    import PySide6

    return Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / f"libq{platform}.so"


def _ldd(library: Path) -> str | None:
    ldd = shutil.which("ldd")
    if ldd is None or not library.exists():
        return None
    done = subprocess.run([ldd, str(library)], capture_output=True, text=True, check=False)
    return done.stdout


def missing_libraries(library: Path, *, ldd: Ldd | None = None) -> list[str]:
    """The shared libraries `library` needs that the loader cannot find (in ldd's order)."""
    listing = (ldd or _ldd)(library)
    if not listing:
        return []
    return list(dict.fromkeys(_NOT_FOUND.findall(listing)))


def display_problem(
    *, environ: dict[str, str] | None = None, ldd: Ldd | None = None, system: str | None = None
) -> str | None:
    """What keeps Qt from opening windows here, in words, with the packages to install;
    None when nothing is known to be missing (or no display is used)."""
    if not (system or sys.platform).startswith("linux"):
        return None
    platform = platform_name(environ)
    if platform in HEADLESS_PLATFORMS:
        return None
    missing = missing_libraries(plugin_path(platform), ldd=ldd)
    if not missing:
        return None
    packages = [DEBIAN_PACKAGES[name] for name in missing if name in DEBIAN_PACKAGES]
    unknown = [name for name in missing if name not in DEBIAN_PACKAGES]
    lines = [
        f"Qt cannot open a window: its {platform} platform needs system libraries "
        f"that are not installed: {', '.join(missing)}."
    ]
    if packages:
        lines.append(f"Install them (Debian, Ubuntu): sudo apt-get install {' '.join(packages)}")
    if unknown:
        lines.append(f"Install the package that provides: {', '.join(unknown)}")
    lines.append("Or run headless with QT_QPA_PLATFORM=offscreen (e.g. `make screenshots`).")
    return "\n".join(lines)
