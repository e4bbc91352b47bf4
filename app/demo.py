"""`make demo`: a seeded demo hub on loopback and the workstation signed in to it.

The demo hub lives in ./demo-data (kept between runs; `--reseed` starts over).
This launcher knows the demo users' passwords and TOTP secrets because it made
them; it signs in as the demo detective, requests a slice for the demo case,
and opens the window, which syncs it with a progress bar. Closing the window
stops the hub. The same helpers start hubs for the end-to-end tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from app.logs import configure_logging

if TYPE_CHECKING:
    from app.workstation import Workstation

DEMO_DATA = Path("demo-data")
DEMO_PORT = 8750
DEMO_PURPOSE = "robbery"
DEMO_JUSTIFICATION = (
    "Demo: a vehicle seen leaving the pharmacy robbery on Lincolnway; find where it went."
)
SEED_FILE = "demo-seed.json"
PORT_FILE = "demo-hub.json"
PORT_WAIT_S = 15.0
RESEED_AFTER = timedelta(days=20)


class LaunchError(Exception):
    """The demo could not start; the message says why and what to do."""


def hub_command() -> list[str]:
    return [sys.executable, "-m", "hub.cli"]


def free_port(preferred: int | None = None) -> int:
    """The preferred port if it is free on loopback, else one the system picks."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred or 0))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server may listen on `port` on loopback now, as the hub does (SO_REUSEADDR:
    the connections of a hub that just stopped, left in TIME_WAIT, do not hold the port)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def demo_port(data: Path, *, preferred: int = DEMO_PORT, wait_s: float = PORT_WAIT_S) -> int:
    """The demo hub's port: chosen on the first run and kept in the data folder, so a
    restart finds the same hub address and so the same profile (its cache, its saved
    searches and marks). A hub still stopping gets `wait_s` to let the port go."""
    port_file = data / PORT_FILE
    if port_file.exists():
        port = int(json.loads(port_file.read_text(encoding="utf-8"))["port"])
        deadline = time.monotonic() + wait_s
        while not port_is_free(port):
            if time.monotonic() > deadline:
                raise LaunchError(
                    f"Port {port}, the demo hub's, is in use by another program. Close it "
                    f"(is another `make demo` open?), or start over with `make clean-demo`."
                )
            time.sleep(0.2)
        return port
    port = preferred if port_is_free(preferred) else free_port()
    data.mkdir(parents=True, exist_ok=True)
    port_file.write_text(json.dumps({"port": port}), encoding="utf-8")
    return port


def demo_profile(data: Path, *, username: str, hub_url: str) -> Path:
    """The demo user's profile folder: one per user and hub address, as for any profile."""
    host = hub_url.removeprefix("http://").replace(":", "-")
    return data / "profiles" / f"{username}@{host}"


def seed_hub(
    data: Path, *, db: str | None = None, extra: list[str] | None = None
) -> dict[str, Any]:
    """Run `platedesk-hub demo-seed` and return what it printed (users, cases, reads)."""
    command = [*hub_command(), "demo-seed", "--data", str(data), *(extra or [])]
    if db:
        command += ["--db", db]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LaunchError(
            f"Seeding the demo hub failed: {done.stderr.strip() or done.stdout.strip()}"
        )
    seeded: dict[str, Any] = json.loads(done.stdout)
    forget_used_codes(seeded)
    return seeded


@dataclass
class HubProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextlib.contextmanager
def running_hub(
    data: Path,
    *,
    db: str | None = None,
    port: int | None = None,
    timeout: float = 60.0,
    nice: int = 0,
) -> Iterator[HubProcess]:
    """Start `platedesk-hub serve` on loopback, wait until /healthz answers, stop it after.

    `nice` lowers the hub's CPU priority by that many steps: a benchmark of the
    window lets the hub stand in for the server of its own it has in production.
    """
    port = port or free_port()
    command = [*hub_command(), "serve", "--data", str(data), "--port", str(port)]
    if db:
        command += ["--db", db]
    log_path = data / "hub-serve.log"
    data.mkdir(parents=True, exist_ok=True)

    def prepare() -> None:
        _die_with_parent()
        if nice:
            os.nice(nice)

    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=prepare
        )
    hub = HubProcess(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_healthy(hub, timeout=timeout)
        yield hub
    finally:
        hub.stop()


def _die_with_parent() -> None:
    """In the hub's process, before it starts: on Linux, be stopped when the launcher dies,
    however it dies, so a killed demo or test never leaves a hub running."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _wait_healthy(hub: HubProcess, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            tail = hub.log_path.read_text(errors="replace")[-2000:]
            raise LaunchError(f"The hub stopped as it started:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{hub.url}/healthz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise LaunchError(f"The hub did not answer on {hub.url} within {timeout:.0f} s.")


_last_step: dict[str, int] = {}
TOTP_DRIFT_VARIABLE = "PLATEDESK_HUB_TOTP_DRIFT_STEPS"  # HubSettings.totp_drift_steps


def totp_now(secret: str) -> str:
    """A code the hub has not accepted yet, as a person would read it off their app.

    The hub accepts each code once, from the current 30 s step or up to
    `totp_drift_steps` steps before or after it (1 unless PLATEDESK_HUB_TOTP_DRIFT_STEPS
    says otherwise, for the hubs this process starts as for itself). This gives the
    current step's code, then the following steps' while the hub still takes them,
    then waits for the clock to reach a new step: a second sign-in within seconds of
    the first (a quick unlock, a test) needs a fresh code too.
    """
    import pyotp

    drift = int(os.environ.get(TOTP_DRIFT_VARIABLE) or 1)
    totp = pyotp.TOTP(secret)
    while True:
        now = time.time()
        current = totp.timecode(datetime.fromtimestamp(now, UTC))
        step = max(current, _last_step.get(secret, current - 1) + 1)
        if step <= current + drift:
            break
        time.sleep(totp.interval - now % totp.interval + 0.05)
    _last_step[secret] = step
    return str(totp.generate_otp(step))


def sign_in(workstation: Workstation, user: dict[str, Any]) -> None:
    """Sign a seeded user in. A code the hub took already (a demo started twice within
    a minute) is answered by the next one, as a person would type the next code."""
    from app.core.policy import TOTP_CODE_USED
    from app.sync.client import HubRefused

    for attempt in range(3):
        try:
            workstation.login(
                username=user["username"],
                password=user["password"],
                totp=totp_now(user["totp_secret"]),
            )
            return
        except HubRefused as exc:
            if str(exc) != TOTP_CODE_USED or attempt == 2:
                raise


def forget_used_codes(seeded: dict[str, Any]) -> None:
    """A newly seeded hub has accepted none of its users' codes yet."""
    for user in seeded.get("users", []) + seeded.get("partner_users", []):
        _last_step.pop(user["totp_secret"], None)


def user_of(seeded: dict[str, Any], role: str) -> dict[str, Any]:
    return next(user for user in seeded["users"] if user["role"] == role)


def case_of(seeded: dict[str, Any], username: str) -> str:
    return str(next(c["case_number"] for c in seeded["cases"] if username in c["assigned"]))


def _ensure_seeded(data: Path, *, reseed: bool) -> dict[str, Any]:
    seed_file = data / SEED_FILE
    if seed_file.exists() and not reseed:
        seeded: dict[str, Any] = json.loads(seed_file.read_text(encoding="utf-8"))
        if datetime.now(UTC) - datetime.fromisoformat(seeded["seeded_at"]) < RESEED_AFTER:
            return seeded
        print("The demo data is getting old (retention is 30 days): reseeding.", flush=True)
    if data.exists():
        _forget_profiles(data)
        shutil.rmtree(data)
    print(f"Seeding a demo hub in {data} (synthetic reads and images)...", flush=True)
    seeded = seed_hub(data)
    seeded["seeded_at"] = datetime.now(UTC).isoformat()
    seed_file.write_text(json.dumps(seeded, indent=2), encoding="utf-8")
    seed_file.chmod(0o600)
    return seeded


def _forget_profiles(data: Path) -> None:
    """Remove the demo profiles' secrets from the keyring before their folders go."""
    from app.config.settings import load_settings
    from app.sync.secrets import SecretStore

    for settings_file in (data / "profiles").glob("*/profile.json"):
        settings = load_settings(settings_file.parent)
        if settings.profile_id:
            SecretStore(settings.profile_id).wipe()


# `make demo DEMO_ARGS="--as supervisor"`: the seeded user each role's desk opens as.
DEMO_ROLES = {
    "detective": "detective",
    "technician": "evidence_technician",
    "supervisor": "supervisor",
}


def launch(*, data: Path, reseed: bool, screenshots: Path | None, role: str = "detective") -> int:
    from app.core.errors import KnownError
    from app.main import display_error, run_gui

    problem = display_error()
    if problem is not None:
        print(f"platedesk demo: {problem}", file=sys.stderr)
        return 2
    from app.workstation import Workstation

    seeded = _ensure_seeded(data, reseed=reseed)
    detective = user_of(seeded, "detective")
    case_number = case_of(seeded, detective["username"])
    with running_hub(data, port=demo_port(data)) as hub:
        print(f"Demo hub running at {hub.url} (stops when the window closes).", flush=True)
        profile = demo_profile(data, username=detective["username"], hub_url=hub.url)
        workstation = Workstation.open(profile_dir=profile, hub_url=hub.url)
        desk_user: Workstation | None = None
        try:
            if workstation.session is None:
                sign_in(workstation, detective)
            slice_id = _demo_slice(workstation, case_number)
            desk = None
            if screenshots is not None or role == "supervisor":
                _simulated_history(workstation, seeded=seeded, data=data)
                _overbroad_search(workstation, case_number, slice_id)
            if screenshots is not None:
                desk = partial(_desk_screens, seeded=seeded, data=data, hub_url=hub.url)
            if role != "detective":
                desk_user = _open_as(DEMO_ROLES[role], seeded=seeded, data=data, hub_url=hub.url)
                if role == "technician":
                    _detective_marks(workstation, case_number)
                who = desk_user.session
                if who is not None:
                    print(f"Signed in as {who.display_name} ({who.username}).", flush=True)
            return run_gui(
                workstation=desk_user or workstation,
                demo=True,
                initial_case=case_number,
                initial_purpose=DEMO_PURPOSE,
                start_sync_slice=slice_id if desk_user is None else None,
                screenshots_dir=screenshots,
                more_screenshots=desk,
            )
        except KnownError as exc:
            print(f"platedesk demo: {exc}", file=sys.stderr)
            return 1
        finally:
            if desk_user is not None:
                desk_user.close()
            workstation.close()


def _open_as(role: str, *, seeded: dict[str, Any], data: Path, hub_url: str) -> Workstation:
    """The demo user of `role`, signed in on a profile of their own."""
    from app.workstation import Workstation

    user = user_of(seeded, role)
    profile = demo_profile(data, username=user["username"], hub_url=hub_url)
    workstation = Workstation.open(profile_dir=profile, hub_url=hub_url)
    if workstation.session is None:
        sign_in(workstation, user)
    return workstation


def _detective_marks(detective: Workstation, case_number: str) -> None:
    """Three reads the demo detective marks as evidence (once), for the technician's desk."""
    from app.core.records import SearchQuery

    if detective.case_evidence(case_number=case_number):
        return
    rows = detective.search.run(
        SearchQuery(case_number=case_number, purpose=DEMO_PURPOSE, pattern=None), limit=3
    ).rows
    for read in rows:
        detective.mark_evidence(
            read_id=read.read_id, case_number=case_number,
            note="Demo: the vehicle leaving the pharmacy lot.",
        )  # fmt: skip


def _simulated_history(detective: Any, *, seeded: dict[str, Any], data: Path) -> None:
    """A month of the detective's searches for the supervisor desk (app.demo_history)."""
    from app.demo_history import deliver_history

    username = detective.core.require().username
    cases = [str(c["case_number"]) for c in seeded["cases"] if username in c["assigned"]]
    deliver_history(detective, case_numbers=cases, data=data)


def _overbroad_search(detective: Any, case_number: str, slice_id: str) -> None:
    """An overbroad search of the demo detective's, mirrored to the hub (where it is
    flagged): the review queue's screenshots open it with the reads it returned."""
    from app.core.plates import parse_pattern
    from app.core.records import SearchQuery

    detective.sync(slice_id=slice_id)
    detective.search.run(
        SearchQuery(case_number=case_number, purpose=DEMO_PURPOSE, pattern=parse_pattern("1*"))
    )
    detective.audit.upload()


def _desk_screens(
    runner: Any, directory: Path, *, seeded: dict[str, Any], data: Path, hub_url: str
) -> None:
    """The supervisor desk's screenshots: insights, audit trail, charts."""
    from app.main import render_supervisor_window
    from app.ui.desk_screens import render_desk_screens
    from app.workstation import Workstation

    user = user_of(seeded, "supervisor")
    profile = demo_profile(data, username=user["username"], hub_url=hub_url)
    supervisor = Workstation.open(profile_dir=profile, hub_url=hub_url)
    try:
        if supervisor.session is None:
            sign_in(supervisor, user)
        render_desk_screens(workstation=supervisor, runner=runner, directory=directory)
        render_supervisor_window(supervisor, runner=runner, directory=directory)
    finally:
        supervisor.close()


def _demo_slice(workstation: Any, case_number: str) -> str:
    for existing in workstation.slices.list(case_number=case_number):
        if existing.purpose == DEMO_PURPOSE and existing.expires_at > datetime.now(UTC):
            return str(existing.slice_id)
    now = datetime.now(UTC)
    created = workstation.slices.request(
        case_number=case_number,
        purpose=DEMO_PURPOSE,
        justification=DEMO_JUSTIFICATION,
        time_from=now - timedelta(days=7),
        time_to=now,
    )
    return str(created.slice_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEMO_DATA)
    parser.add_argument("--reseed", action="store_true", help="start over with fresh demo data")
    parser.add_argument("--screenshots", type=Path, help="render the main screens to PNG and quit")
    parser.add_argument(
        "--as", dest="role", choices=sorted(DEMO_ROLES), default="detective",
        help="open the desk of this demo user (default: detective)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    configure_logging()
    try:
        return launch(
            data=args.data, reseed=args.reseed, screenshots=args.screenshots, role=args.role
        )
    except LaunchError as exc:
        print(f"platedesk demo: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
