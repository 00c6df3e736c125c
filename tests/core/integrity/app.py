"""The app the durability tests run as a subprocess: emits a steady stream of events.

Usage: python -m tests.core.integrity.app COUNT INTERVAL LINGER
Prints ``stream <id>`` first, ``flushed`` after a bounded flush, ``done`` before exit.
"""

from __future__ import annotations

import sys
import time

import seclog_core as seclog
from seclog_core import export, pipeline


def main() -> None:
    count, interval, linger = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    print("stream", pipeline.get_pipeline().sequencer.stream_id, flush=True)
    for n in range(count):
        seclog.login_failed(username=f"user{n}", reason="bad_credentials")
        time.sleep(interval)
    export.force_flush(2000)
    print("flushed", flush=True)
    time.sleep(linger)
    print("done", time.monotonic(), flush=True)


if __name__ == "__main__":
    main()
