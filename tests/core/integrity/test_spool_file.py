"""The on-disk spool: crash-safe frames, bounded size with counted loss, one replayer."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from seclog_core._segments import Frame, Spool, SpoolFullError


def _replay_all(spool: Spool) -> list[bytes]:
    sent: list[bytes] = []

    def send(frame: Frame) -> bool:
        sent.append(frame.payload)
        return True

    spool.seal()  # the writer hands over its open segment, as the processor does
    with spool.replay_lock() as owner:
        assert owner
        spool.replay(send, lambda _: None)
    return sent


def test_a_torn_last_frame_is_skipped_and_never_replayed(tmp_path: Path) -> None:
    """A crash mid-write leaves a half frame: replay sends the whole frames and skips it."""
    spool = Spool(str(tmp_path), 1 << 20)
    losses: Counter[str] = Counter()
    spool.append(2, b"first batch", lambda n, r: losses.update({r: n}))
    spool.append(3, b"second batch", lambda n, r: losses.update({r: n}))
    spool.close()
    (segment,) = [p for p in tmp_path.iterdir() if p.name.startswith("seg-")]
    data = segment.read_bytes()
    segment.write_bytes(data[:-5])  # the second frame is torn
    corrupt: list[int] = []
    sent: list[bytes] = []
    with spool.replay_lock():
        spool.replay(lambda f: sent.append(f.payload) is None, corrupt.append)
    assert sent == [b"first batch"]
    assert corrupt and not segment.exists()


def test_a_flipped_byte_is_detected_by_the_crc(tmp_path: Path) -> None:
    """A corrupt payload fails its CRC and is skipped; the frames after it still replay."""
    spool = Spool(str(tmp_path), 1 << 20)
    for payload in (b"aaaa", b"bbbb", b"cccc"):
        spool.append(1, payload, lambda n, r: None)
    spool.close()
    (segment,) = [p for p in tmp_path.iterdir() if p.name.startswith("seg-")]
    data = bytearray(segment.read_bytes())
    data[data.index(b"bbbb")] ^= 0xFF
    segment.write_bytes(bytes(data))
    assert _replay_all(spool) == [b"aaaa", b"cccc"]


@pytest.mark.parametrize("drop", ["oldest", "newest"])
def test_a_full_spool_drops_per_policy_and_counts_the_records(tmp_path: Path, drop: str) -> None:
    """With the bound reached, the oldest segments or the newest batch go, counted by record."""
    spool = Spool(str(tmp_path), 64 * 1024, drop)
    losses: Counter[str] = Counter()
    kept_out = 0
    for n in range(40):
        try:
            spool.append(10, bytes([n]) * 4000, lambda c, r: losses.update({r: c}))
        except SpoolFullError:
            kept_out += 10
    used = sum(p.stat().st_size for p in tmp_path.iterdir() if p.name.startswith("seg-"))
    assert used <= 64 * 1024
    sent = _replay_all(spool)
    assert len(sent) * 10 + losses["spool_full"] + kept_out == 400
    if drop == "oldest":
        assert kept_out == 0 and sent[-1][0] == 39  # the newest survived
    else:
        assert losses["spool_full"] == 0 and sent[0][0] == 0  # the oldest survived


def test_a_live_writers_segment_is_not_replayed_by_another_process(tmp_path: Path) -> None:
    """A segment still open (flock held) by its writer is left alone; once sealed, it replays."""
    writer = Spool(str(tmp_path), 1 << 20)
    writer.append(1, b"in progress", lambda n, r: None)
    other = Spool(str(tmp_path), 1 << 20)
    assert _replay_all(other) == []
    writer.seal()
    assert _replay_all(other) == [b"in progress"]
    assert not writer.has_unsent_own()


def test_only_one_replayer_at_a_time(tmp_path: Path) -> None:
    """The directory's replay lock is exclusive across open file descriptions (processes)."""
    first, second = Spool(str(tmp_path), 1 << 20), Spool(str(tmp_path), 1 << 20)
    with first.replay_lock() as a, second.replay_lock() as b:
        assert a and not b


def test_the_spool_directory_is_private(tmp_path: Path) -> None:
    """A spool directory seclog creates is readable by its user only (0700)."""
    Spool(str(tmp_path / "new"), 1 << 20)
    assert os.stat(tmp_path / "new").st_mode & 0o777 == 0o700
