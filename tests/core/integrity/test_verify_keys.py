"""`seclog verify` reads keys, key ids and key rings exactly as the signer uses them."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from seclog_cli.verify import main
from tests.core.integrity.streams import Stream, signed_records

# A base64 secret: '=' inside the secret, as secret stores and `openssl rand -base64` write them.
B64 = base64.b64encode(b"twenty-five random bytes!").decode()
assert B64.endswith("=")


def _export(tmp_path: Path, key: str | None, **settings: Any) -> Path:
    return Stream(signed_records(key=key, **settings), "jsonl").write(tmp_path / "e.jsonl")


def test_a_trailing_newline_is_not_part_of_the_key(tmp_path: Path) -> None:
    """A key read with its newline (a secret file) signs as the key without it, on both sides."""
    path = _export(tmp_path, B64 + "\n")
    assert main([str(path), "--key", B64]) == 0
    assert main([str(path), "--key", B64 + "\n"]) == 0
    ring = tmp_path / "ring"
    ring.write_bytes(f"# keys\r\nk1={B64}\r\n".encode())
    assert main([str(path), "--key-ring", str(ring)]) == 0


def test_equals_signs_in_secrets_and_key_ids(tmp_path: Path) -> None:
    """A base64 secret verifies bare or as id=secret; a key id with '=' verifies as id=secret."""
    path = _export(tmp_path, B64)
    assert main([str(path), "--key", B64]) == 0
    assert main([str(path), "--key", f"k1={B64}"]) == 0
    odd = _export(tmp_path, B64, integrity_key_id="ops=2024")
    assert main([str(odd), "--key", f"ops=2024={B64}"]) == 0
    assert main([str(odd), "--key", f"k1={B64}x"]) == 1


def test_the_environment_is_read_as_the_signer_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SECLOG_INTEGRITY_KEY (with '=' and a newline) under SECLOG_INTEGRITY_KEY_ID verifies."""
    monkeypatch.setenv("SECLOG_INTEGRITY_KEY", B64 + "\n")
    monkeypatch.setenv("SECLOG_INTEGRITY_KEY_ID", "ops=2024")
    path = _export(tmp_path, None)
    assert main([str(path)]) == 0
    monkeypatch.setenv("SECLOG_INTEGRITY_KEY_ID", "k9")
    assert main([str(path)]) == 1


def test_no_usable_key_is_an_error_not_ok(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty ring, a blank --key or an empty SECLOG_INTEGRITY_KEY exits 2."""
    path = _export(tmp_path, B64)
    ring = tmp_path / "ring"
    ring.write_text("# nothing here\n\n   \n")
    assert main([str(path), "--key-ring", str(ring)]) == 2
    assert "holds no key" in capsys.readouterr().err
    assert main([str(path), "--key", "   "]) == 2
    assert main([str(path), "--key-ring", str(tmp_path / "missing")]) == 2
    monkeypatch.setenv("SECLOG_INTEGRITY_KEY", "\n")
    assert main([str(path)]) == 2
