"""Detector state shared by every worker of one host: SQLite in WAL mode, no service to run.

One file per service in seclog's state directory, one row per counted key
(account, client, the app) holding every rule's window for it. Each event's
hits are one ``BEGIN IMMEDIATE`` transaction (or the events the detection thread
handles together, see :meth:`SQLiteState.batch`), so workers of a pre-fork server
(gunicorn, uvicorn ``--workers``) count together and exactly one of them claims
a cooldown. Keys are digested (user names and addresses never reach the disk)
and rows are bounded in number and size, so the file stays small whatever an
attacker sends. The directory must be trusted like the spool: owned by the current
user, not writable by others. When it is not, or the file cannot be opened or
written, detectors fall back to per-process state, say so once, count each
failure and try the file again after a backoff; nothing is raised into the app.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import stat
import struct
import threading
import time
import weakref
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from .._internal import logger, report_failure
from .state import Hit, HitResult, MemoryState

__all__ = ["SQLiteState", "default_state_dir", "state_file"]

_T = TypeVar("_T")

RETRY_AFTER = 30.0
# A writer waits this long for another worker's transaction before using per-process state.
# Only seclog's detection thread writes, so the wait never reaches a request; a loaded
# machine can stretch another worker's short transaction well past a few milliseconds.
_BUSY_MS = 1000
# Expired rows are swept, and buckets trimmed to max_keys, every this many writes per process.
_SWEEP_EVERY = 512

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
  key TEXT PRIMARY KEY,
  data BLOB NOT NULL,
  expires REAL NOT NULL
) WITHOUT ROWID;
"""


def default_state_dir() -> str:
    """``$XDG_CACHE_HOME/seclog/state`` (or ``~/.cache/seclog/state``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "seclog", "state")


def state_file(directory: str | None) -> str:
    """The state file for this service (``OTEL_SERVICE_NAME``) in ``directory``."""
    service = os.environ.get("OTEL_SERVICE_NAME") or "default"
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", service)[:64]
    return os.path.join(os.path.expanduser(directory or default_state_dir()), f"{name}.sqlite3")


def _trusted_dir(path: str) -> None:
    """Create ``path`` private, or check it is ours and not writable by others; else raise."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.stat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise PermissionError(f"{path} is not a directory")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise PermissionError(f"{path} is owned by another user")
    if info.st_mode & 0o022:
        raise PermissionError(f"{path} is writable by other users")


# A window as counted: timestamps of a count, or {member: last seen} of a distinct set.
_Window = list[float] | dict[str, float]
# A row's entry: its expiry, and its window packed as read from the file, or as last
# counted (packed when the row is written: a batch packs a busy row once, not per hit).
_Entry = tuple[float, "bytes | _Window"]


# Rows hold packed doubles, not JSON: encoding is most of the cost of a hit.
def _pack(data: bytes | _Window) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, list):
        return b"C" + array("d", data).tobytes()
    times = array("d", data.values()).tobytes()
    return b"M" + len(times).to_bytes(4, "little") + times + "\0".join(data).encode()


def _unpack(blob: object) -> _Window | None:
    """Timestamps of a count, or {member: last seen} of a distinct set."""
    if isinstance(blob, (list, dict)):
        return blob
    if not isinstance(blob, bytes) or not blob:
        return None
    if blob[:1] == b"C":
        return array("d", blob[1:]).tolist()
    if blob[:1] == b"M":
        size = int.from_bytes(blob[1:5], "little")
        times = array("d", blob[5 : 5 + size]).tolist()
        names = blob[5 + size :].decode().split("\0") if times else []
        return dict(zip(names, times, strict=True))
    return None


_ENTRY = struct.Struct("<dI")  # expires, size of the packed window
# Keys are accounts, clients and the app: rows are capped at max_keys per kind.
_KEY_KINDS = 3


def _encode(entries: dict[str, _Entry]) -> bytes:
    """One row: per rule (bucket) its expiry and packed window, or a cooldown's expiry."""
    parts: list[bytes] = []
    for name, (expires, window) in entries.items():
        data = _pack(window)
        raw = name.encode()
        parts += (bytes((len(raw),)), raw, _ENTRY.pack(expires, len(data)), data)
    return b"".join(parts)


def _decode(blob: bytes) -> dict[str, _Entry]:
    entries: dict[str, _Entry] = {}
    at, end = 0, len(blob)
    while at < end:
        size = blob[at]
        name = blob[at + 1 : at + 1 + size].decode()
        at += 1 + size
        expires, length = _ENTRY.unpack_from(blob, at)
        at += _ENTRY.size
        entries[name] = (expires, blob[at : at + length])
        at += length
    return entries


def _hit(entries: dict[str, _Entry], hit: Hit, now: float) -> HitResult:
    horizon = now - hit.window
    entry = entries.get(hit.bucket)
    data = _unpack(entry[1]) if entry is not None else None
    if hit.member is None:
        times = [t for t in data if t > horizon] if isinstance(data, list) else []
        times.append(now)
        del times[: max(0, len(times) - hit.cap)]
        count = len(times)
        stored: _Window = times
    else:
        members = dict(data) if isinstance(data, dict) else {}
        member = hit.member
        if len(member) > 64 or "\0" in member:
            member = digest(member)
        members.pop(member, None)
        members[member] = now
        kept = [(m, t) for m, t in members.items() if t > horizon][-hit.cap :]
        count = len(kept)
        stored = dict(kept)
    entries[hit.bucket] = (now + hit.window, stored)
    if hit.threshold <= 0 or count < hit.threshold:
        return HitResult(count, False)
    return HitResult(count, _claim(entries, hit.bucket, hit.cooldown, now))


def _claim(entries: dict[str, _Entry], bucket: str, cooldown: float, now: float) -> bool:
    slot = "!" + bucket  # the cooldown lives next to the window it guards
    current = entries.get(slot)
    if current is not None and current[0] > now:
        return False
    entries[slot] = (now + cooldown, b"")
    return True


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL. SQLite answers "locked" at once, without its busy wait,
    while another worker is opening the same new file: retry for the busy wait's length
    (on seclog's detection thread, never a request's)."""
    deadline = time.monotonic() + _BUSY_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(0.005)


def _close_quietly(conn: sqlite3.Connection) -> None:
    # Closing at collection time: nothing is left to report a failure to.
    with contextlib.suppress(Exception):
        conn.close()


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class _Session:
    """One batch's transaction: the rows it read, and which it changed."""

    __slots__ = ("conn", "dirty", "failed", "now", "rows")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.rows: dict[str, dict[str, _Entry]] = {}
        self.dirty: set[str] = set()
        self.failed = False
        self.now = 0.0


class SQLiteState:
    """Host-wide detector state in one SQLite file, with a per-process fallback."""

    def __init__(
        self,
        path: str,
        *,
        max_keys: int = 10_000,
        fallback: MemoryState | None = None,
        retry_after: float = RETRY_AFTER,
    ) -> None:
        self.path = path
        self.max_keys = max(1, max_keys)
        self.fallback = fallback if fallback is not None else MemoryState(max_keys)
        self.retry_after = retry_after
        self.failures = 0
        self.available = True
        # Re-entrant: a batch holds it while the calls inside take it again.
        self._lock = threading.RLock()
        self._session: _Session | None = None
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._down_until = 0.0
        self._warned = False
        self._writes = 0

    # --- the StateBackend protocol ---------------------------------------------------

    def hit_many(self, hits: Sequence[Hit], now: float) -> list[HitResult]:
        found = self._on_file(lambda conn: self._hit_many(conn, hits, now))
        return found if found is not None else self.fallback.hit_many(hits, now)

    def take(self, bucket: str, key: str, window: float, now: float) -> int:
        def on_file(conn: sqlite3.Connection) -> int:
            with self._transaction(conn):
                entries = self._load(conn, key, now)
                entry = entries.pop(bucket, None)
                self._store(conn, key, entries)
            times = _unpack(entry[1]) if entry is not None else None
            kept = times if isinstance(times, list) else []
            return sum(1 for t in kept if t > now - window)

        found = self._on_file(on_file)
        return found if found is not None else self.fallback.take(bucket, key, window, now)

    def count(self, bucket: str, key: str, window: float, now: float) -> int:
        def on_file(conn: sqlite3.Connection) -> int:
            entry = self._load(conn, key, now).get(bucket)
            data = _unpack(entry[1]) if entry is not None else None
            values: list[float] = list(data.values() if isinstance(data, dict) else data or ())
            return sum(1 for t in values if t > now - window)

        found = self._on_file(on_file)
        return found if found is not None else self.fallback.count(bucket, key, window, now)

    def claim(self, bucket: str, key: str, cooldown: float, now: float) -> bool:
        def on_file(conn: sqlite3.Connection) -> bool:
            with self._transaction(conn):
                entries = self._load(conn, key, now)
                claimed = _claim(entries, bucket, cooldown, now)
                if claimed:
                    self._store(conn, key, entries)
            return claimed

        found = self._on_file(on_file)
        return found if found is not None else self.fallback.claim(bucket, key, cooldown, now)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Count several events in one transaction: each row is read once and written
        once at the end (the detection thread's backlog). Without the file, calls inside
        fall back one by one as usual."""
        with self._lock:
            session: _Session | None = None
            try:
                conn = self._connection()
                if conn is not None:
                    conn.execute("BEGIN IMMEDIATE")
                    session = self._session = _Session(conn)
            except Exception as exc:
                self._down(exc)
            try:
                yield
            finally:
                self._session = None
                if session is not None:
                    self._finish(session)

    # --- internals --------------------------------------------------------------------

    def _on_file(self, work: Callable[[sqlite3.Connection], _T]) -> _T | None:
        """``work`` on the shared file; None (the caller uses per-process state) when the
        file is unusable or failed, which is reported and backed off."""
        try:
            with self._lock:
                session = self._session
                if session is not None:
                    return work(session.conn) if not session.failed else None
                conn = self._connection()
                if conn is not None:
                    return work(conn)
        except Exception as exc:
            if self._session is not None:
                self._session.failed = True
            self._down(exc)
        return None

    @contextlib.contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        # Inside a batch the batch is the transaction.
        if self._session is not None:
            yield
            return
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            yield

    def _finish(self, session: _Session) -> None:
        if session.failed:
            return  # reported, and the connection closed (its transaction with it)
        conn = session.conn
        try:
            for key in session.dirty:
                self._write(conn, key, session.rows[key])
            conn.commit()
        except Exception as exc:
            with contextlib.suppress(Exception):
                conn.rollback()
            self._down(exc)
            return
        self._count_write(conn, session.now)

    def _hit_many(
        self, conn: sqlite3.Connection, hits: Sequence[Hit], now: float
    ) -> list[HitResult]:
        # One row per key holds every rule's window and cooldown for it: a failed login
        # touches three rows (account, client, app), the cost of a commit is per row.
        rows: dict[str, dict[str, _Entry]] = {}
        results: list[HitResult] = []
        with self._transaction(conn):  # all hits of one event, atomically across workers
            for hit in hits:
                entries = rows.get(hit.key)
                if entries is None:
                    entries = rows[hit.key] = self._load(conn, hit.key, now)
                results.append(_hit(entries, hit, now))
            for key, entries in rows.items():
                self._store(conn, key, entries)
        if self._session is None:
            self._count_write(conn, now)
        else:
            self._session.now = max(self._session.now, now)
        return results

    def _count_write(self, conn: sqlite3.Connection, now: float) -> None:
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            self._sweep(conn, now)

    def _load(self, conn: sqlite3.Connection, key: str, now: float) -> dict[str, _Entry]:
        session = self._session
        if session is not None and key in session.rows:
            return session.rows[key]
        row = conn.execute("SELECT data FROM counters WHERE key = ?", (digest(key),)).fetchone()
        if row is None or not isinstance(row[0], bytes):
            entries: dict[str, _Entry] = {}
        else:
            entries = {name: entry for name, entry in _decode(row[0]).items() if entry[0] > now}
        if session is not None:
            session.rows[key] = entries
        return entries

    def _store(self, conn: sqlite3.Connection, key: str, entries: dict[str, _Entry]) -> None:
        session = self._session
        if session is not None:
            session.rows[key] = entries
            session.dirty.add(key)
            return
        self._write(conn, key, entries)

    def _write(self, conn: sqlite3.Connection, key: str, entries: dict[str, _Entry]) -> None:
        if not entries:
            conn.execute("DELETE FROM counters WHERE key = ?", (digest(key),))
            return
        expires = max(entry[0] for entry in entries.values())
        conn.execute(
            "INSERT OR REPLACE INTO counters VALUES (?, ?, ?)",
            (digest(key), _encode(entries), expires),
        )

    def _sweep(self, conn: sqlite3.Connection, now: float) -> None:
        """Drop expired rows, then the soonest-expiring rows past the key cap."""
        cap = self.max_keys * _KEY_KINDS
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM counters WHERE expires <= ?", (now,))
            (rows,) = conn.execute("SELECT COUNT(*) FROM counters").fetchone()
            if rows > cap:
                conn.execute(
                    "DELETE FROM counters WHERE key IN "
                    "(SELECT key FROM counters ORDER BY expires LIMIT ?)",
                    (rows - cap,),
                )

    def _connection(self) -> sqlite3.Connection | None:
        """This process's connection (reopened after a fork), or None while backing off."""
        pid = os.getpid()
        if self._conn is not None and self._pid == pid:
            return self._conn
        if not self.available and time.monotonic() < self._down_until:
            return None
        self._conn = None  # a connection inherited over fork() must never be used
        directory = os.path.dirname(self.path)
        _trusted_dir(directory)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        conn = sqlite3.connect(
            self.path, timeout=_BUSY_MS / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA page_size=1024")  # small rows: write fewer bytes per commit
            _use_wal(conn)
            conn.execute(
                "PRAGMA synchronous=NORMAL"
            )  # detector state may lose a moment on power loss
            conn.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            conn.executescript(_SCHEMA)
        except Exception:
            conn.close()
            raise
        self._conn, self._pid = conn, pid
        # A pipeline that is dropped closes its file (not at exit: the last drain needs it).
        weakref.finalize(self, _close_quietly, conn).atexit = False
        if not self.available:
            self.available = True
            logger.info("seclog: detector state file %s is usable again", self.path)
        return conn

    def _down(self, exc: BaseException) -> None:
        self.failures += 1
        report_failure("detect.sqlite", exc)
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except Exception as close_exc:
                    report_failure("detect.sqlite", close_exc)
            self._conn = None
            self.available = False
            self._down_until = time.monotonic() + self.retry_after
            warn = not self._warned
            self._warned = True
        if warn:
            logger.warning(
                "seclog: detector state file %s is unusable (%s: %s); detectors count per "
                "process (each worker alone) and retry every %g s",
                self.path,
                type(exc).__name__,
                exc,
                self.retry_after,
            )
