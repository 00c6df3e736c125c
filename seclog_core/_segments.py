"""The on-disk spool: bounded, fsync'd, CRC-framed segment files shared by processes.

Each process appends to its own segment (``seg-<time>-<pid>-<rand>.spool``) and
holds an ``flock`` on it while it is open, so a segment whose lock is free
belongs to nobody (sealed, or its process died, even by SIGKILL) and may be
replayed by whichever process holds ``replay.lock``. A frame is
``magic | state | count | length | crc32(count, length, payload) | payload``;
a torn or corrupt frame is skipped on replay, never replayed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["Frame", "Spool", "SpoolFullError"]

MAGIC = b"SLS1"
PENDING, ACKED = b"P", b"A"
_HEADER = struct.Struct(">4scIII")  # magic, state, record count, payload length, crc32
_MAX_PAYLOAD = 256 * 1024 * 1024


class SpoolFullError(Exception):
    """The spool is at its size bound and its policy drops the newest batch."""


@dataclass(frozen=True)
class Frame:
    """One spooled batch: where it is, how many records it holds, its bytes."""

    path: str
    offset: int
    count: int
    payload: bytes


def _crc(count: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(struct.pack(">II", count, len(payload))))


def encode_frame(count: int, payload: bytes) -> bytes:
    return _HEADER.pack(MAGIC, PENDING, count, len(payload), _crc(count, payload)) + payload


def scan(data: bytes) -> tuple[list[tuple[int, bytes, int, bytes]], int]:
    """Frames in ``data`` as (offset, state, count, payload), and the bytes skipped as corrupt."""
    frames: list[tuple[int, bytes, int, bytes]] = []
    skipped = offset = 0
    while offset < len(data):
        ok = False
        if len(data) - offset >= _HEADER.size:
            magic, state, count, length, crc = _HEADER.unpack_from(data, offset)
            end = offset + _HEADER.size + length
            if magic == MAGIC and state in (PENDING, ACKED) and end <= len(data):
                payload = data[offset + _HEADER.size : end]
                if _crc(count, payload) == crc:
                    frames.append((offset, state, count, payload))
                    offset, ok = end, True
        if not ok:
            # Torn or corrupt: resynchronise on the next magic, never trust these bytes.
            following = data.find(MAGIC, offset + 1)
            following = len(data) if following < 0 else following
            skipped += following - offset
            offset = following
    return frames, skipped


class Spool:
    """A directory of segment files; one writer per segment, one replayer at a time."""

    def __init__(self, path: str, max_bytes: int, drop: str = "oldest") -> None:
        self.path = path
        self.max_bytes = max(max_bytes, 4096)
        self.drop = drop
        self.segment_bytes = min(max(self.max_bytes // 8, 16 * 1024), 4 * 1024 * 1024)
        self._active: tuple[str, int] | None = None  # (path, fd)
        self._active_size = 0
        self._own: set[str] = set()  # our segments not yet known to be replayed
        self._usage: tuple[float, int] = (0.0, 0)
        os.makedirs(path, mode=0o700, exist_ok=True)

    # --- writing -------------------------------------------------------------------

    def append(self, count: int, payload: bytes, on_loss: Callable[[int, str], None]) -> None:
        """Append one batch durably (fsync'd); make room per the drop policy, counting loss."""
        frame = encode_frame(count, payload)
        if len(frame) > self.max_bytes:
            raise SpoolFullError
        if self._used_bytes() + len(frame) > self.max_bytes:
            if self.drop == "newest":
                raise SpoolFullError
            self._drop_oldest(len(frame), on_loss)
            if self._used_bytes() + len(frame) > self.max_bytes:
                raise SpoolFullError
        if self._active is None or self._active_size + len(frame) > self.segment_bytes:
            self.seal()
            self._open_segment()
        assert self._active is not None
        fd = self._active[1]
        try:
            written = os.write(fd, frame)
            if written != len(frame):
                raise OSError("short write to spool segment")
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._active_size)  # never leave a torn frame behind us
            raise
        self._active_size += len(frame)
        stamp, used = self._usage
        self._usage = (stamp, used + len(frame))

    def _open_segment(self) -> None:
        base = f"seg-{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}.spool"
        temp = os.path.join(self.path, "." + base)
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # locked before replayers can see the name
            final = os.path.join(self.path, base)
            os.rename(temp, final)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        self._active, self._active_size = (final, fd), 0
        self._own.add(final)

    def seal(self) -> None:
        """Close our segment: it becomes replayable by whoever holds the replay lock."""
        if self._active is None:
            return
        name, fd = self._active
        self._active = None
        if self._active_size == 0:
            with contextlib.suppress(OSError):
                os.unlink(name)
            self._own.discard(name)
        os.close(fd)

    def has_unsent_own(self) -> bool:
        """True while any batch this process spooled may still be undelivered."""
        if self._active is not None and self._active_size > 0:
            return True
        self._own = {name for name in self._own if os.path.exists(name)}
        if self._active is not None:
            return bool(self._own - {self._active[0]})
        return bool(self._own)

    def active_size(self) -> int:
        return self._active_size if self._active is not None else 0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.seal()

    def forget_after_fork(self) -> None:
        """In a forked child: the parent's segment is the parent's; start afresh."""
        if self._active is not None:
            with contextlib.suppress(OSError):
                os.close(self._active[1])
        self._active, self._active_size, self._own = None, 0, set()

    # --- sizing ----------------------------------------------------------------------

    def _segments(self) -> list[str]:
        try:
            names = os.listdir(self.path)
        except OSError:
            return []
        return sorted(
            os.path.join(self.path, n)
            for n in names
            if n.startswith("seg-") and n.endswith(".spool")
        )

    def _used_bytes(self) -> int:
        stamp, used = self._usage
        if time.monotonic() - stamp > 0.5:
            used = 0
            for name in self._segments():
                with contextlib.suppress(OSError):
                    used += os.stat(name).st_size
            self._usage = (time.monotonic(), used)
        return used

    def _drop_oldest(self, needed: int, on_loss: Callable[[int, str], None]) -> None:
        self.seal()  # our own backlog is a candidate too, oldest first
        for name in self._segments():
            if self._used_bytes() + needed <= self.max_bytes:
                return
            with self._claimed(name) as fd:
                if fd is None:
                    continue  # another live process is writing it
                lost = sum(c for _, state, c, _ in self._frames(fd)[0] if state == PENDING)
                os.unlink(name)
                self._usage = (0.0, 0)
                if lost:
                    on_loss(lost, "spool_full")

    # --- replay ----------------------------------------------------------------------

    @contextlib.contextmanager
    def replay_lock(self) -> Iterator[bool]:
        """Hold the directory's replay lock if free; yields whether we got it."""
        try:
            fd = os.open(os.path.join(self.path, "replay.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            yield False
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _claimed(self, name: str) -> Iterator[int | None]:
        try:
            fd = os.open(name, os.O_RDWR)
        except OSError:
            yield None
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield None
                return
            yield fd
        finally:
            os.close(fd)

    @staticmethod
    def _frames(fd: int) -> tuple[list[tuple[int, bytes, int, bytes]], int]:
        size = os.fstat(fd).st_size
        data = os.pread(fd, size, 0) if size else b""
        return scan(data)

    def replay(
        self,
        send: Callable[[Frame], bool],
        on_corrupt: Callable[[int], None],
    ) -> bool:
        """Send every replayable segment's pending frames in order, oldest first.

        ``send`` returns True when the frame was acknowledged (or must never be
        retried); False stops the pass so order is kept. Returns True when the
        pass finished. Caller holds :meth:`replay_lock`.
        """
        for name in self._segments():
            if self._active is not None and name == self._active[0]:
                continue
            with self._claimed(name) as fd:
                if fd is None:
                    continue
                frames, skipped = self._frames(fd)
                if skipped:
                    on_corrupt(skipped)
                for offset, state, count, payload in frames:
                    if state != PENDING:
                        continue
                    if not send(Frame(name, offset, count, payload)):
                        return False
                    os.pwrite(fd, ACKED, offset + 4)  # acknowledged: never replay it again
                os.unlink(name)
                self._own.discard(name)
                self._usage = (0.0, 0)
        return True

    def pending_segments(self) -> list[str]:
        """Segment files that exist now (ours and others'), oldest first."""
        return self._segments()
