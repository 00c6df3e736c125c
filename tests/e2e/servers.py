"""Real servers for the end-to-end tests: nginx with a generated config, gunicorn, uvicorn.

Everything listens on 127.0.0.1 (ephemeral ports) or a unix socket in a temp dir,
writes only there, and is stopped when its ``with`` block ends. The nginx binary
is required: a missing one fails the test, it never skips it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.otlp import Receiver

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass(frozen=True)
class Proxy:
    """One nginx server block: listens on ``port`` and passes to ``upstream``."""

    port: int
    upstream: str  # "127.0.0.1:8000" or "unix:/path/app.sock"
    # Extra proxy_set_header lines, e.g. ("X-Real-IP", "$remote_addr").
    headers: tuple[tuple[str, str], ...] = ()
    # Append to X-Forwarded-For; off, nginx passes the client's own header through.
    x_forwarded_for: bool = True


def _connect(where: int | Path) -> None:
    if isinstance(where, Path):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            sock.connect(str(where))
        return
    with socket.create_connection(("127.0.0.1", where), timeout=0.5):
        return


def _wait_for_port(
    port: int | Path, process: subprocess.Popen[bytes], what: str, log: Path
) -> None:
    """Wait until ``port`` (a TCP port on 127.0.0.1, or a unix socket path) accepts."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited early: {log.read_text(errors='replace')[-3000:]}")
        try:
            _connect(port)
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"{what} did not listen on {port} within 30 seconds")


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _extra_headers(proxy: Proxy) -> str:
    headers = list(proxy.headers)
    if proxy.x_forwarded_for:
        headers.insert(0, ("X-Forwarded-For", "$proxy_add_x_forwarded_for"))
    return "".join(f"            proxy_set_header {name} {value};\n" for name, value in headers)


def _nginx_config(tmp: Path, proxies: Sequence[Proxy]) -> str:
    # As root the workers would drop to "nobody" and could not reach the temp dir.
    user = "user root;\n" if os.geteuid() == 0 else ""
    servers = "".join(
        f"""
    server {{
        listen 127.0.0.1:{proxy.port};
        location / {{
            proxy_pass http://{proxy.upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
{_extra_headers(proxy)}        }}
    }}"""
        for proxy in proxies
    )
    temp = "".join(
        f"    {name}_temp_path {tmp / name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}daemon off;
master_process on;
worker_processes 1;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} warn;
events {{ worker_connections 128; }}
http {{
    access_log off;
    # RFC 7239 the way nginx can append it: the client's Forwarded, then the connecting address.
    map $http_forwarded $proxy_add_forwarded {{
        "" "for=$remote_addr";
        default "$http_forwarded, for=$remote_addr";
    }}
{temp}{servers}
}}
"""


@contextmanager
def nginx(tmp: Path, proxies: Sequence[Proxy]) -> Iterator[None]:
    """Run Debian's nginx with a config generated for ``proxies``."""
    assert Path(NGINX).exists(), f"nginx is required for these tests (not found at {NGINX})"
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "nginx.conf"
    config.write_text(_nginx_config(tmp, proxies))
    log = tmp / "nginx.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [NGINX, "-p", str(tmp), "-c", str(config), "-e", str(tmp / "error.log")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        for proxy in proxies:
            _wait_for_port(proxy.port, process, "nginx", tmp / "error.log")
        yield
    finally:
        _stop(process, signal.SIGQUIT)  # graceful shutdown


def server_env(receiver: Receiver, tmp: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of an app server: OTLP to ``receiver``, seclog state in ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    env.update(receiver.env("grpc"))
    env["OTEL_SERVICE_NAME"] = "seclog-e2e"
    env["SECLOG_STATE_DIR"] = str(tmp / "state")
    env["SECLOG_SPOOL_DIR"] = str(tmp / "spool")
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


@dataclass
class AppServer:
    port: int | Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def app_server(
    command: Sequence[str], env: Mapping[str, str], port: int | Path, tmp: Path
) -> Iterator[AppServer]:
    """Run ``command`` (gunicorn or uvicorn) until the block ends; its output goes to a file."""
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / "server.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", *command], cwd=ROOT, env=dict(env), stdout=out, stderr=out
        )
    try:
        _wait_for_port(port, process, command[0], log)
        yield AppServer(port, log)
    finally:
        _stop(process)


def gunicorn(target: str, port: int, unix_socket: Path | None = None) -> list[str]:
    binds = ["--bind", f"127.0.0.1:{port}"]
    if unix_socket is not None:
        binds += ["--bind", f"unix:{unix_socket}"]
    return ["gunicorn", *binds, "--workers", "1", "--graceful-timeout", "5", target]


def uvicorn(target: str, port: int | Path) -> list[str]:
    # Defaults on purpose: proxy headers on, forwarded_allow_ips=127.0.0.1.
    if isinstance(port, Path):
        return ["uvicorn", "--uds", str(port), target]
    return ["uvicorn", "--host", "127.0.0.1", "--port", str(port), target]
