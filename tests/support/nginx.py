"""A real nginx (Debian's /usr/sbin/nginx) on loopback, for tests that put hub nodes
behind a load balancer.

    with running_nginx(conf_text, workdir) as base_url: ...

`conf_text` is what goes inside nginx's `http { }` block (upstream and server blocks),
with LISTEN_PORT where the server's port goes: the launcher picks a free loopback port,
writes nginx.conf in `workdir` (pid file, logs and temporary files there too), runs
nginx in the foreground until the block ends, and yields http://127.0.0.1:PORT once it
accepts connections.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NGINX = "/usr/sbin/nginx"
START_SECONDS = 20.0


def nginx_binary() -> str | None:
    """Debian's nginx, or one on PATH; None when there is none."""
    if Path(NGINX).exists():
        return NGINX
    return shutil.which("nginx")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main_config(http_block: str, workdir: Path) -> str:
    """The whole nginx.conf: foreground, one worker, every path under `workdir`."""
    temp = workdir / "temp"
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers may read workdir
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {workdir / 'nginx.pid'};\n"
        f"error_log {workdir / 'error.log'} info;\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        f"  access_log {workdir / 'access.log'};\n"
        f"  client_body_temp_path {temp / 'body'};\n  proxy_temp_path {temp / 'proxy'};\n"
        f"  fastcgi_temp_path {temp / 'fastcgi'};\n  uwsgi_temp_path {temp / 'uwsgi'};\n"
        f"  scgi_temp_path {temp / 'scgi'};\n"
        f"{http_block}\n}}\n"
    )


@contextmanager
def running_nginx(conf_text: str, workdir: Path) -> Iterator[str]:
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (Debian package nginx)")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "temp").mkdir(exist_ok=True)
    port = _free_port()
    config = workdir / "nginx.conf"
    config.write_text(
        main_config(conf_text.replace("LISTEN_PORT", str(port)), workdir), encoding="utf-8"
    )
    check = subprocess.run(
        [binary, "-t", "-q", "-p", str(workdir), "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        raise RuntimeError(f"nginx refused its configuration: {check.stderr.strip()}")
    log = (workdir / "nginx.out").open("wb")
    process = subprocess.Popen(
        [binary, "-p", str(workdir), "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)  # fast shutdown: the streams end at once
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"nginx ended at start (exit status {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
