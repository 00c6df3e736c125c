"""End-to-end export to a real OTLP receiver on 127.0.0.1 (gRPC).

A separate sender process (seclog with its defaults, or the plain SDK with its
defaults) sends security events while this process receives them: a paced
run at the target rate must arrive with zero loss, and a burst of 50,000
sent as fast as possible must arrive whole.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ._harness import Row, Settings

__all__ = ["BURST", "RATE", "run"]

RATE = 10_000  # events/s the paced run holds
BURST = 50_000
ROOT = Path(__file__).resolve().parent.parent


def _send(env: dict[str, str], who: str, mode: str, count: int, timeout: float) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._export_worker", who, mode, str(count), str(RATE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{who} sender failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(settings: Settings) -> list[Row]:
    sys.path.insert(0, str(ROOT))
    from tests.support.otlp import otlp_receiver

    rows: list[Row] = []
    paced = RATE * settings.rounds(5, 1)
    with otlp_receiver() as receiver:
        env = {**os.environ, **receiver.env("grpc"), "PYTHONPATH": str(ROOT)}
        env.pop("OTEL_BLRP_SCHEDULE_DELAY", None)  # each sender keeps its own defaults
        env["SECLOG_LOCAL_SINK"] = "none"
        expected = 0
        for who, mode, count in (
            ("seclog", "paced", paced),
            ("seclog, own_spans off", "paced", paced),
            ("seclog", "burst", BURST),
            ("sdk", "burst", BURST),
        ):
            before = len(receiver.collected.security_logs())
            # Outside a request seclog opens a short span per event; off, only the log goes.
            own = {"SECLOG_OWN_SPANS": "false"} if "own_spans off" in who else {}
            result = _send({**env, **own}, who.split(",")[0], mode, count, timeout=300)
            expected = before + count

            def arrived_all(collected: Any, n: int = expected) -> bool:
                return len(collected.security_logs()) >= n

            receiver.collected.wait_for(arrived_all, timeout=20.0)
            arrived = len(receiver.collected.security_logs()) - before
            lost = max(0, count - arrived)
            # At-least-once: a batch retried after a lost acknowledgement arrives twice.
            extra = max(0, arrived - count)
            rate = count / result["send_seconds"]
            if mode == "paced":
                ok = lost == 0 and rate >= RATE * 0.97
                target = f">= {RATE:,}/s, zero loss" if who == "seclog" else ""
                rows.append(
                    Row(
                        "export",
                        f"paced {RATE:,}/s for {count:,}",
                        who,
                        rate,
                        "events/s",
                        target=target,
                        verdict=("met" if ok else "NOT MET") if target else "",
                        note=f"{arrived:,} of {count:,} arrived"
                        + (f" ({extra} duplicates)" if extra else ""),
                    )
                )
            else:
                share = arrived / count
                rows.append(
                    Row(
                        "export",
                        f"burst of {count:,}",
                        who,
                        arrived,
                        "arrived",
                        f"{share:.1%}",
                        "all arrive" if who == "seclog" else "",
                        ("met" if lost == 0 else "NOT MET") if who == "seclog" else "",
                        f"sent at {rate:,.0f}/s, {result['total_seconds']:.1f} s to flush"
                        + (f", {extra} duplicates" if extra else ""),
                    )
                )
    return rows
