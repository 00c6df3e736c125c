"""A separate process that sends security events to the OTLP receiver named in OTEL_*.

``python -m benchmarks._export_worker seclog|sdk burst|paced COUNT [RATE]``
prints one JSON line: how many were handed over and how long it took.
"""

from __future__ import annotations

import json
import sys
import time


def _seclog_sender() -> tuple[object, object]:
    import seclog_core
    from seclog_core import export

    seclog_core.configure()

    def send(i: int) -> None:
        seclog_core.login_failed(
            user_name=f"user{i}@example.com",
            reason="bad_password",
            client_address=f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
        )

    def finish() -> None:
        export.shutdown()

    return send, finish


def _sdk_sender() -> tuple[object, object]:
    # The plain SDK with its defaults: what an app gets from a stock setup.
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    provider = LoggerProvider()
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    logger = provider.get_logger("bench")

    def send(i: int) -> None:
        logger.emit(
            body="Failed login",
            attributes={"user.name": f"user{i}@example.com", "security.reason": "bad_password"},
            event_name="security.authn_login_fail",
        )

    def finish() -> None:
        provider.shutdown()

    return send, finish


def main(argv: list[str]) -> int:
    who, mode, count = argv[0], argv[1], int(argv[2])
    rate = float(argv[3]) if len(argv) > 3 else 0.0
    send, finish = (_seclog_sender if who == "seclog" else _sdk_sender)()
    started = time.perf_counter()
    if mode == "burst" or rate <= 0:
        for i in range(count):
            send(i)  # type: ignore[operator]
    else:
        step = 50  # events per tick; ticks are spaced to hold the rate
        for tick, first in enumerate(range(0, count, step)):
            due = started + tick * step / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            for i in range(first, min(first + step, count)):
                send(i)  # type: ignore[operator]
    sent_seconds = time.perf_counter() - started
    finish()  # type: ignore[operator]
    total = time.perf_counter() - started
    print(json.dumps({"sent": count, "send_seconds": sent_seconds, "total_seconds": total}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
