"""``seclog verify`` is reachable through the ``seclog`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cli.support import seclog

KEY = "0123456789abcdef0123456789abcdef"
EMIT = f"""
import seclog_core as seclog
KEY = {KEY!r}
seclog.configure(local_sink="stderr", integrity_key=KEY, detectors=False)
for name in ("alice", "bob", "carol"):
    seclog.login_failed(username=name, reason="bad_credentials")
seclog.shutdown()
"""


def _stream(tmp_path: Path) -> Path:
    produced = subprocess.run(
        [sys.executable, "-c", EMIT], capture_output=True, text=True, timeout=60, check=True
    )
    lines = [line for line in produced.stderr.splitlines() if line.startswith("{")]
    assert len(lines) == 4  # three events and the closing checkpoint written at shutdown
    assert "security.sys_checkpoint" in lines[-1]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_verify_accepts_an_intact_stream_and_flags_a_deleted_record(tmp_path: Path) -> None:
    """`seclog verify` passes an untouched exported stream and fails one with a record removed."""
    path = _stream(tmp_path)
    intact = seclog("verify", str(path), "--key", KEY)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], *lines[2:]]) + "\n")
    tampered = seclog("verify", str(path), "--key", KEY)
    assert tampered.returncode == 1, tampered.stdout
    assert "sequence 2 missing" in tampered.stdout


def test_verify_usage_error_exits_2() -> None:
    """`seclog verify` with no file is a usage error (exit code 2)."""
    assert seclog("verify").returncode == 2
