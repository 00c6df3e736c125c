"""Start the scenario apps under real servers on free 127.0.0.1 ports, and talk to them.

Django and Flask run under gunicorn, FastAPI under uvicorn, each in its own
process with only the environment we give it (OTEL_* for the receiver,
SECLOG_* settings), importing seclog from this checkout.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.otlp import free_port

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("django", "flask", "fastapi")
_APPS = {
    "django": "tests.hostile.apps.django_site.wsgi:application",
    "flask": "tests.hostile.apps.flask_app:app",
    "fastapi": "tests.hostile.apps.fastapi_app:app",
}


@dataclass
class Server:
    kind: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)  # type: ignore[arg-type]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pids(self) -> list[int]:
        """The server process and its workers."""
        found = [self.proc.pid]
        for pid in list(found):
            children = Path(f"/proc/{pid}/task/{pid}/children")
            if children.exists():
                found += [int(p) for p in children.read_text().split()]
        return found

    def rss_kib(self) -> int:
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except FileNotFoundError:
                pass
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def server_env(kind: str, extra: Mapping[str, str], workdir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECLOG_", "OTEL_", "DJANGO_"))
    }
    env["PYTHONPATH"] = str(ROOT)
    env["OTEL_SERVICE_NAME"] = f"hostile-{kind}"
    env["HOSTILE_DB"] = str(workdir / f"{kind}.sqlite3")
    env["DJANGO_SETTINGS_MODULE"] = "tests.hostile.apps.django_site.settings"
    env.update(extra)
    return env


def _command(kind: str, port: int, workers: int) -> list[str]:
    if kind == "fastapi":
        return [
            sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--no-proxy-headers", "--workers", str(workers),
            "--timeout-graceful-shutdown", "5",
            _APPS[kind],
        ]  # fmt: skip
    return [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--graceful-timeout", "5", "--timeout", "60", _APPS[kind],
    ]  # fmt: skip


def start_server(
    kind: str, workdir: Path, env: Mapping[str, str] | None = None, workers: int = 1
) -> Server:
    """Start ``kind``'s app on a free port and wait until it answers ``GET /``."""
    workdir.mkdir(parents=True, exist_ok=True)
    full_env = server_env(kind, env or {}, workdir)
    if kind == "django" and not Path(full_env["HOSTILE_DB"]).exists():
        subprocess.run(
            [sys.executable, "-m", "tests.hostile.apps.django_site.setup_db"],
            cwd=ROOT,
            env={**full_env, "SECLOG_ENABLED": "false", "SECLOG_LOCAL_SINK": "none"},
            check=True,
            timeout=60,
        )
    port = free_port()
    log = workdir / f"{kind}-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            _command(kind, port, workers), cwd=ROOT, env=full_env, stdout=out, stderr=out
        )
    server = Server(kind, port, proc, log)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} server exited:\n{server.output()[-4000:]}")
        try:
            if httpx.get(server.url + "/", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{kind} server did not answer in time:\n{server.output()[-4000:]}")


@contextmanager
def running(
    kind: str, workdir: Path, env: Mapping[str, str] | None = None, workers: int = 1
) -> Iterator[Server]:
    server = start_server(kind, workdir, env, workers)
    try:
        yield server
    finally:
        server.stop()


def raw_request(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes an HTTP client would refuse to send; return the whole response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    """The status code of a raw HTTP/1.x response (0 when the server sent nothing)."""
    try:
        return int(response.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0
