"""`platedesk-hub serve --workers 2`: two worker processes behind one socket, the
retention purge run once (by the supervising process), a clean stop."""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hub.cli import build_parser, worker_environment
from hub.core.config import HubSettings
from hub.core.db import Database
from hub.db.tables import audit_events
from hub.retention import PURGE_ACTION
from hub.simulate.traffic import ensure_cameras
from tests.hub.hub_support import ingest_body, real_jpeg


def _run(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _purges(settings: HubSettings) -> int:
    database = Database(settings.sqlalchemy_url)
    try:
        with database.read() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count())
                    .select_from(audit_events)
                    .where(audit_events.c.action == PURGE_ACTION)
                ).scalar_one()
            )
    finally:
        database.dispose()


def test_workers_must_be_at_least_one() -> None:
    from hub.cli import main

    assert main(["serve", "--data", "/nonexistent", "--workers", "0"]) == 2
    assert build_parser().parse_args(["serve", "--data", "d"]).workers == 1


def test_worker_environment_names_the_data_folder_and_turns_the_purge_off(
    tmp_path: Path,
) -> None:
    settings = HubSettings(data_dir=tmp_path, database_url=None)
    env = worker_environment(settings)
    assert env["PLATEDESK_HUB_DATA_DIR"] == str(tmp_path)
    assert env["PLATEDESK_HUB_DATABASE_URL"] is None  # unset: SQLite in the data folder
    assert env["PLATEDESK_HUB_RETENTION_JOB"] == "false"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_serve_with_two_workers(tmp_path: Path, hub_db: str | None) -> None:
    data = str(tmp_path / "hub")
    db_args = ["--db", hub_db] if hub_db else []
    _run("init", "--data", data, *db_args)
    feed = _run("feed", "add", "--data", data, *db_args, "--name", "gate")
    settings = HubSettings(data_dir=Path(data), database_url=hub_db)
    database = Database(settings.sqlalchemy_url)
    with database.write() as connection:
        ensure_cameras(connection, random.Random(1), 1)  # CAM-001
    database.dispose()
    port = _free_port()
    command = [sys.executable, "-m", "hub.cli", "serve", "--data", data, *db_args]
    with subprocess.Popen(
        [*command, "--port", str(port), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            started = json.loads(server.stdout.readline())
            assert started == {"listening": f"http://127.0.0.1:{port}", "workers": 2}
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.2)
            headers = {"Authorization": f"Bearer {feed['token']}"}
            with httpx.Client(base_url=f"{url}/api/v1", timeout=60) as client:
                for round_ in range(4):  # new connections: the kernel spreads them
                    batch = [
                        ingest_body(_now(), image=real_jpeg(500 + round_ * 10 + index))
                        for index in range(5)
                    ]
                    reply = client.post("/ingest/reads:batch", json=batch, headers=headers)
                    assert reply.status_code == 200, reply.text
                    assert reply.json()["created"] == 5
            workers = [child for child in _children(server.pid) if "spawn_main" in _cmdline(child)]
            assert len(workers) == 2
            while _purges(settings) == 0:  # the supervising process's purge, at start
                assert time.monotonic() < deadline, "no retention purge ran"
                time.sleep(0.2)
            time.sleep(1.0)
            assert _purges(settings) == 1  # once per hub, not once per worker
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        assert server.returncode == 0
        assert server.stderr is not None
        assert "Traceback" not in server.stderr.read()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
