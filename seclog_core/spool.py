"""Durable delivery of security events: bounded hand-off, OTLP send, on-disk spool, replay.

:class:`DurableLogProcessor` replaces the SDK's batch processor for seclog's
OTLP log exporter. The app thread only appends to a bounded in-memory queue
(a full queue is counted, never silent). A background thread encodes batches
with the OTLP protobuf encoder and sends them once, with a short timeout (the
senders live in :mod:`seclog_core.senders`); when the collector is unreachable,
answers a retryable error, or the send itself raises, the bytes go to the on-disk
spool (:mod:`seclog_core._segments`) and are replayed in order, as-is, when it
answers again. Every loss (queue full, spool full or unwritable, collector
refusal) is counted and reported as a ``seclog_events_lost`` event once delivery
works again. Shutdown takes at most ``shutdown_timeout`` seconds: whatever was
not delivered by then is in the spool.

The spool directory is trusted only when the current user owns it and nobody
else may write to it: a file planted in someone else's directory is never replayed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence

from opentelemetry.sdk._logs import LogRecordProcessor, ReadableLogRecord, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.resources import Resource

from . import _otel_compat as compat
from ._internal import guarded, logger, report_failure
from ._otlp import encode_log_batch
from ._segments import Frame, Spool, SpoolFullError
from ._threads import prepare_bounded_exit, run_bounded
from .senders import Outcome, Sender, sender_for

__all__ = [
    "DurableLogProcessor",
    "Outcome",
    "UntrustedSpoolError",
    "default_spool_dir",
    "prepare_bounded_exit",
    "resolve_spool_dir",
    "run_bounded",
    "sender_for",
    "trusted_spool_dir",
]

_OFF = {"off", "none", "disabled", "false", "0", "-"}


class UntrustedSpoolError(OSError):
    """The spool directory is another user's or writable by others: never replay from it."""


def default_spool_dir(namespace: str = "default") -> str:
    """``$XDG_CACHE_HOME/seclog/spool/<ns>`` (or ``~/.cache/...``), else a per-user tmp dir.

    Only a path: nothing is created until a processor opens its spool.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    root = os.path.join(base, "seclog", "spool")
    probe = root
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    if os.access(probe, os.W_OK):
        return os.path.join(root, namespace)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tempfile.gettempdir(), f"seclog-spool-{uid}", namespace)


def resolve_spool_dir(setting: str | None, endpoint: str = "") -> str | None:
    """The spool directory for a ``spool_dir`` setting; None when the spool is switched off."""
    if setting is not None and setting.strip().lower() in _OFF:
        return None
    if setting:
        return os.path.expanduser(setting)
    service = os.environ.get("OTEL_SERVICE_NAME") or "default"
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:8]
    # One directory per service and collector, so a replay never crosses applications.
    return default_spool_dir(re.sub(r"[^A-Za-z0-9_.-]", "_", service)[:64] + "-" + digest)


def trusted_spool_dir(path: str) -> str:
    """Create ``path`` (mode 0700) if needed; raise UntrustedSpoolError unless it is ours alone.

    Every existing ancestor up to the first one we own is checked too, so a per-user
    directory inside a shared temp dir that someone else created first is refused.
    """
    os.makedirs(path, mode=0o700, exist_ok=True)
    if not hasattr(os, "getuid"):  # pragma: no cover - no POSIX ownership to check
        return path
    uid = os.getuid()
    current = os.path.realpath(path)
    info = os.stat(current)
    if info.st_uid != uid or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UntrustedSpoolError(
            f"the spool directory {path} is not owned by this user alone "
            f"(owner uid {info.st_uid}, mode {stat.filemode(info.st_mode)})"
        )
    parent = os.path.dirname(current)
    while parent != current:
        current, info = parent, os.stat(parent)
        if info.st_uid != uid:
            break  # a system directory (/tmp, /home): sticky or not ours to judge
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX:
            # Others could rename our directory away and plant theirs (a sticky
            # directory such as /tmp forbids exactly that).
            raise UntrustedSpoolError(
                f"the spool directory's parent {current} is writable by others"
            )
        parent = os.path.dirname(current)
    return path


class DurableLogProcessor(LogRecordProcessor):
    """Carries log records to the collector; spools what it cannot deliver now."""

    def __init__(
        self,
        exporter: LogRecordExporter,
        sender: Sender,
        spool_dir: str | None,
        *,
        max_bytes: int = 64 * 1024 * 1024,
        drop: str = "oldest",
        max_queue_size: int = 65536,
        max_batch_size: int = 512,
        schedule_delay: float = 0.2,
        send_timeout: float = 2.0,
        shutdown_timeout: float = 1.5,
        report_loss: Callable[[str, int], None] | None = None,
    ) -> None:
        self._exporter = exporter
        self._send = sender
        self._spool_dir = spool_dir
        self._max_bytes, self._drop = max_bytes, drop
        self._max_queue = max_queue_size
        self._max_batch = max_batch_size
        self._delay = schedule_delay
        self._send_timeout = send_timeout
        self._shutdown_timeout = shutdown_timeout
        self._report_loss = report_loss or _no_report
        self._init_state()

    def _init_state(self) -> None:
        self._queue: deque[ReadableLogRecord] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._io_lock = threading.Lock()  # spool writes: the worker, or shutdown taking over
        self._lost: Counter[str] = Counter()
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._closed = False
        self._flush_requested = False
        self._busy = False
        self._abandoned = False
        self._inflight: tuple[int, bytes] | None = None
        self._backlog = False
        self._retry_at = 0.0
        self._failures = 0
        self._last_scan = 0.0
        self._last_seal = 0.0
        self._deadline = 0.0
        self._spool: Spool | None = None
        self._spool_error_reported = False
        self._degraded_reported = False
        self._send_errors = 0
        if self._spool_dir is not None:
            self._open_spool()

    def _open_spool(self) -> None:
        assert self._spool_dir is not None
        try:
            self._spool = Spool(trusted_spool_dir(self._spool_dir), self._max_bytes, self._drop)
        except UntrustedSpoolError as exc:
            self._spool = None
            report_failure("spool.untrusted", exc)
            self._spool_error_reported = True
            logger.warning(
                "seclog: %s; it is not used (nothing in it is replayed). Security events "
                "that cannot be delivered are counted as lost and reported. Set "
                "SECLOG_SPOOL_DIR to a directory only this user can write to.",
                exc,
            )
        except OSError as exc:
            self._spool = None
            self._spool_unusable(exc)

    def _spool_unusable(self, exc: BaseException) -> None:
        report_failure("spool.write", exc)
        if not self._spool_error_reported:
            self._spool_error_reported = True
            logger.warning(
                "seclog: the spool directory %s is not usable (%s); security events that "
                "cannot be delivered are counted as lost and reported",
                self._spool_dir,
                exc,
            )

    # --- the app thread ------------------------------------------------------------

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        """Bounded, non-blocking hand-off: the only work done on the app's thread."""
        if self._pid != os.getpid():
            self._after_fork()
        readable = ReadableLogRecord(
            log_record=log_record.log_record,
            resource=log_record.resource or Resource.create({}),
            instrumentation_scope=log_record.instrumentation_scope,
            limits=log_record.limits,
        )
        with self._cond:
            if self._closed:
                self._lost["shutdown"] += 1
                return
            if len(self._queue) >= self._max_queue:
                self._lost["queue_full"] += 1
                return
            self._queue.append(readable)
            if self._thread is None:
                self._start()
            if len(self._queue) >= self._max_batch:
                self._cond.notify()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="seclog-delivery", daemon=True)
        self._thread.start()

    def _after_fork(self) -> None:
        spool = self._spool
        if spool is not None:
            spool.forget_after_fork()
        self._init_state()

    # --- the delivery thread ---------------------------------------------------------

    def _run(self) -> None:
        compat.suppress_instrumentation()
        while True:
            with self._cond:
                if not (self._queue or self._closing or self._flush_requested):
                    self._cond.wait(self._delay)
                batch = [
                    self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))
                ]
                closing = self._closing
                self._busy = bool(batch)
            with guarded("spool.worker"):
                if batch:
                    self._deliver(batch)
                elif not closing:
                    self._maintain()
            with self._cond:
                self._busy = False
                if not self._queue:
                    self._flush_requested = False
                    self._cond.notify_all()
                if self._abandoned or (self._closing and not self._queue):
                    return

    def _deliver(self, batch: Sequence[ReadableLogRecord]) -> None:
        count = len(batch)
        try:
            payload = encode_log_batch(batch)
        except Exception as exc:  # never a silent loss: counted and reported
            report_failure("spool.encode", exc)
            self._count_loss("encode_error", count)
            return
        if self._spool is not None and (self._backlog or self._collector_down()):
            self._to_spool(count, payload)
            return
        self._inflight = (count, payload)
        try:
            outcome = self._attempt(payload, self._timeout())
        finally:
            self._inflight = None
        if self._abandoned:
            return  # shutdown took over and spooled this batch
        if outcome is Outcome.OK:
            self._up()
        elif outcome is Outcome.REJECT:
            self._count_loss("rejected", count)
        elif self._spool is not None:
            self._down()
            self._to_spool(count, payload)
        else:
            self._down()
            unwritable = self._spool_dir is not None
            self._count_loss("spool_unwritable" if unwritable else "collector_unreachable", count)

    def _attempt(self, payload: bytes, timeout: float) -> Outcome:
        """One send; a sender that raises (an SDK rename, a bug) is a failed delivery."""
        try:
            return self._send(payload, timeout)
        except Exception as exc:
            report_failure("spool.send", exc)
            with self._cond:
                self._send_errors += 1
            return Outcome.RETRY

    def _timeout(self) -> float:
        if self._closing:
            return max(0.05, min(self._send_timeout, self._deadline - time.monotonic() - 0.2))
        return self._send_timeout

    def _collector_down(self) -> bool:
        return self._failures > 0 and time.monotonic() < self._retry_at

    def _up(self) -> None:
        self._failures = 0
        self._retry_at = 0.0

    def _down(self) -> None:
        if not self._degraded_reported and not self._spool_error_reported:
            # Said once per process: an operator must learn that delivery degraded,
            # but a long outage must not flood the app's own logs.
            self._degraded_reported = True
            where = (
                f"are kept in the spool at {self._spool_dir} and replayed when it answers"
                if self._spool is not None
                else "cannot be kept (no spool) and are counted as lost and reported"
            )
            logger.warning(
                "seclog: the collector at %s is not accepting security events; they %s",
                compat.exporter_endpoint(self._exporter) or "the configured endpoint",
                where,
            )
        self._failures += 1
        self._retry_at = time.monotonic() + min(0.25 * 2 ** min(self._failures, 5), 5.0)

    def _to_spool(self, count: int, payload: bytes) -> None:
        with self._io_lock:
            spool = self._spool
            if spool is None:
                self._count_loss("spool_unwritable", count)
                return
            try:
                spool.append(count, payload, self._count_loss_reason_first)
                self._backlog = True
            except SpoolFullError:
                self._count_loss("spool_full", count)
            except OSError as exc:
                self._spool_unusable(exc)
                self._count_loss("spool_unwritable", count)

    def _count_loss_reason_first(self, count: int, reason: str) -> None:
        self._count_loss(reason, count)

    def _count_loss(self, reason: str, count: int) -> None:
        with self._cond:
            self._lost[reason] += count

    def _maintain(self) -> None:
        """Replay what the spool holds when the collector may be back; then report losses."""
        spool = self._spool
        now = time.monotonic()
        if spool is not None and now >= self._retry_at:
            scan_due = now - self._last_scan > 1.0
            if self._backlog or scan_due:
                self._last_scan = now
                self._replay(spool)
        if (
            self._failures
            and not self._backlog
            and time.monotonic() >= self._retry_at
            and self._lost
        ):
            # Nothing to replay but a loss to report: probe with an empty request.
            if self._attempt(b"", self._send_timeout) is Outcome.OK:
                self._up()
            else:
                self._down()
        if self._failures == 0 and not self._backlog:
            self._flush_loss_report()

    def _replay(self, spool: Spool) -> None:
        with spool.replay_lock() as owner:
            if not owner:
                # Another process replays: hand it our backlog (at most once a second).
                if spool.active_size() and time.monotonic() - self._last_seal > 1.0:
                    self._last_seal = time.monotonic()
                    with self._io_lock:
                        spool.seal()
                self._backlog = spool.has_unsent_own()
                return
            if not spool.pending_segments():
                self._backlog = spool.has_unsent_own()
                return
            with self._io_lock:
                spool.seal()
            finished = spool.replay(self._replay_one, self._corrupt)
            if finished:
                self._up()
            self._backlog = spool.has_unsent_own()

    def _replay_one(self, frame: Frame) -> bool:
        if self._closing:
            return False
        outcome = self._attempt(frame.payload, self._send_timeout)
        if outcome is Outcome.RETRY:
            self._down()
            return False
        if outcome is Outcome.REJECT:
            self._count_loss("rejected", frame.count)
        return True

    def _corrupt(self, skipped_bytes: int) -> None:
        # A torn frame is skipped, never replayed; its records are unknown, count the batch.
        self._count_loss("spool_corrupt", 1)

    def _flush_loss_report(self) -> None:
        with self._cond:
            if not self._lost:
                return
            lost, self._lost = self._lost, Counter()
        for reason, count in sorted(lost.items()):
            with guarded("spool.report_loss"):
                self._report_loss(reason, count)

    # --- flush and shutdown ----------------------------------------------------------

    def force_flush(self, timeout_millis: int = 2000) -> bool:
        """Deliver or spool everything queued; True when nothing is left in memory in time
        and no send failed with an exception meanwhile."""
        deadline = time.monotonic() + timeout_millis / 1000
        with self._cond:
            errors = self._send_errors
            if self._thread is None or not self._thread.is_alive():
                return not self._queue
            self._flush_requested = True
            self._cond.notify_all()
            while self._queue or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return self._send_errors == errors

    def shutdown(self) -> None:
        """Bounded: deliver or spool everything, giving up on the network after the timeout."""
        with self._cond:
            if self._closed:
                return
            self._closed = self._closing = True
            self._deadline = time.monotonic() + self._shutdown_timeout
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(max(0.0, self._deadline - time.monotonic()))
            if thread.is_alive():
                self._take_over()
        with self._io_lock:
            if self._spool is not None:
                self._spool.close()
        with contextlib.suppress(Exception):
            self._exporter.shutdown()  # type: ignore[no-untyped-call]

    def _take_over(self) -> None:
        # The worker is stuck on a hung collector: spool its queue from here and let it go.
        # Its in-flight batch is spooled too: delivered twice at worst, never lost.
        with self._cond:
            self._abandoned = True
            rest = list(self._queue)
            self._queue.clear()
        inflight = self._inflight
        batches = [inflight] if inflight is not None else []
        if rest:
            batches.append((len(rest), encode_log_batch(rest)))
        for count, payload in batches:
            if self._spool is not None:
                self._to_spool(count, payload)
            else:
                self._count_loss("shutdown", count)


def _no_report(reason: str, count: int) -> None:
    report_failure(f"spool.lost.{reason}")
