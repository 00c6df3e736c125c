"""Real servers under a loopback load generator: requests/s bare vs seclog vs contrib.

uvicorn + Starlette and gunicorn + Flask (one worker each) on free ports of
127.0.0.1, driven by ``wrk`` (or a small threaded client when wrk is absent)
for a bounded time per round; the table reports medians. Every server runs
with the same flags (no access log, log level warning, default lifespan) and
gets the same warm-up; rounds go bare, seclog, otel then otel, seclog, bare,
so seclog is always measured right next to the bare app it is compared with
(on a shared machine, load drifts between samples further apart).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from ._harness import Row, Settings

__all__ = ["run"]

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("bare", "seclog", "otel")
TARGET = 0.97


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server(kind: str, variant: str, port: int) -> subprocess.Popen[bytes]:
    bindir = Path(sys.executable).parent
    if kind == "uvicorn":
        argv = [
            str(bindir / "uvicorn"),
            "benchmarks._server_apps:starlette_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    else:
        argv = [
            str(bindir / "gunicorn"),
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "benchmarks._server_apps:flask_app",
        ]
    env = {
        **os.environ,
        "BENCH_VARIANT": variant,
        "SECLOG_LOCAL_SINK": "none",
        "PYTHONPATH": str(ROOT),
    }
    for name in [k for k in env if k.startswith("OTEL_EXPORTER_OTLP")]:
        env.pop(name)
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} not ready in {timeout:.0f} s")


def _load(url: str, seconds: int) -> float:
    """Requests per second over ``seconds`` of load."""
    wrk = shutil.which("wrk")
    if wrk:
        out = subprocess.run(
            [wrk, "-t1", "-c4", f"-d{seconds:g}s", url],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        ).stdout
        match = re.search(r"Requests/sec:\s+([0-9.]+)", out)
        if match is None:
            raise RuntimeError(f"wrk printed no rate: {out[-300:]}")
        return float(match.group(1))
    return _threaded_load(url, seconds)


def _threaded_load(url: str, seconds: int) -> float:
    import http.client

    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    path = "/" + url.split("//", 1)[1].split("/", 1)[1]
    counts = [0] * 4
    stop = time.monotonic() + seconds

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        while time.monotonic() < stop:
            conn.request("GET", path)
            conn.getresponse().read()
            counts[index] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


def run(settings: Settings) -> list[Row]:
    rows: list[Row] = []
    rounds, seconds = settings.rounds(8, 5), settings.rounds(3, 1)
    for kind, label in (("uvicorn", "uvicorn + Starlette"), ("gunicorn", "gunicorn + Flask")):
        ports = {variant: _free_port() for variant in VARIANTS}
        procs = {variant: _server(kind, variant, ports[variant]) for variant in VARIANTS}
        try:
            urls = {v: f"http://127.0.0.1:{ports[v]}/ok" for v in VARIANTS}
            for variant in VARIANTS:
                _wait_ready(urls[variant], procs[variant])
                _load(urls[variant], 1)  # warm up
            samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
            for index in range(rounds):
                for variant in VARIANTS if index % 2 == 0 else VARIANTS[::-1]:
                    samples[variant].append(_load(urls[variant], seconds))
        finally:
            for proc in procs.values():
                proc.terminate()
            for proc in procs.values():
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        bare = statistics.median(samples["bare"])
        for variant in VARIANTS:
            value = statistics.median(samples[variant])
            # Paired by round, like the in-process suites.
            pairs = zip(samples[variant], samples["bare"], strict=True)
            ratio = statistics.median(a / b for a, b in pairs)
            mine = variant == "seclog"
            rows.append(
                Row(
                    "server",
                    f"{label}, 200",
                    variant,
                    value,
                    "req/s",
                    f"{ratio:.3f}x",
                    f">= {TARGET:.2f}x bare" if mine else "",
                    ("met" if ratio >= TARGET else "NOT MET") if mine else "",
                    f"wrk -c4, {rounds} x {seconds:g} s" if variant == "bare" else "",
                )
            )
        del bare
    return rows
