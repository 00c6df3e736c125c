"""Host-shared detector state: one SQLite file for all workers, never trusted blindly."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from seclog_core.config import load_settings
from seclog_core.detect import build_backend
from seclog_core.detect.sqlite_state import SQLiteState, state_file
from seclog_core.detect.state import Hit, MemoryState
from tests.core.detect.conftest import alerts

BRUTE = Hit("brute_force", "alice", 300.0, 100, 40, 900.0)


def _worker(path: str, hits: int, now: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    state = SQLiteState(path)
    fired = sum(1 for _ in range(hits) if state.hit_many([BRUTE], now)[0].fired)
    out.put((fired, state.failures))


def test_concurrent_processes_count_together_and_fire_once(tmp_path: Path):
    """Four processes hitting one key 20 times each: count 80, exactly one claims the alert."""
    path = str(tmp_path / "state" / "svc.sqlite3")
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    now = time.time()
    procs = [ctx.Process(target=_worker, args=(path, 20, now, out)) for _ in range(4)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    assert sum(fired for fired, _ in results) == 1
    assert sum(failures for _, failures in results) == 0
    assert SQLiteState(path).count("brute_force", "alice", 300.0, now + 1) == 80


def test_keys_are_digested_on_disk(tmp_path: Path):
    """User names and addresses never reach the state file."""
    path = tmp_path / "state" / "svc.sqlite3"
    state = SQLiteState(str(path))
    state.hit_many([Hit("brute_force", "alice@example.com", 60.0, 10, 5, 60.0)], time.time())
    for name in os.listdir(path.parent):
        assert b"alice" not in (path.parent / name).read_bytes()
    assert oct(os.stat(path.parent).st_mode & 0o777) == "0o700"


def test_an_unusable_state_dir_falls_back_per_process_with_one_warning(tmp_path, caplog):
    """An unusable state dir: detectors count per process, warn once, count each failure."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    state = SQLiteState(str(blocker / "state" / "svc.sqlite3"), retry_after=0.0)
    caplog.set_level(logging.WARNING, logger="seclog")
    results = [state.hit_many([Hit("b", "k", 60.0, 10, 3, 60.0)], time.time())[0] for _ in range(5)]
    assert [r.count for r in results] == [1, 2, 3, 4, 5]
    assert [r.fired for r in results] == [False, False, True, False, False]
    warnings = [r for r in caplog.records if "detector state file" in r.getMessage()]
    assert len(warnings) == 1
    assert "per process" in warnings[0].getMessage()
    assert state.failures == 5


@pytest.mark.parametrize("problem", ["world-writable", "someone else's"])
def test_an_untrusted_state_dir_is_refused(tmp_path, caplog, problem):
    """A state dir others can write, or another user owns, is never used."""
    directory = tmp_path / "shared"
    directory.mkdir()
    if problem == "world-writable":
        directory.chmod(0o777)
    else:
        if os.getuid() != 0:
            pytest.skip("only root can give a directory to another user")
        os.chown(directory, 65534, 65534)
    state = SQLiteState(str(directory / "svc.sqlite3"))
    caplog.set_level(logging.WARNING, logger="seclog")
    assert state.hit_many([Hit("b", "k", 60.0, 10, 1, 60.0)], time.time())[0].fired
    assert not (directory / "svc.sqlite3").exists()
    assert state.failures == 1
    assert any("unusable" in r.getMessage() for r in caplog.records)


def test_state_backend_follows_the_setting(tmp_path: Path):
    """host (default) shares a file in state_dir; process keeps memory; redis needs redis_url."""
    host = build_backend(load_settings({"state_dir": str(tmp_path)}, environ={}))
    assert isinstance(host, SQLiteState)
    assert host.path == state_file(str(tmp_path))
    assert host.path.startswith(str(tmp_path))
    process = build_backend(load_settings({"detector_state": "process"}, environ={}))
    assert isinstance(process, MemoryState)
    from seclog_core.config import ConfigError

    with pytest.raises(ConfigError, match="redis_url"):
        load_settings({"detector_state": "redis"}, environ={})


def test_the_default_state_dir_is_under_the_user_cache(monkeypatch, tmp_path):
    """Without state_dir, state lives in $XDG_CACHE_HOME/seclog/state/<service>.sqlite3."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("OTEL_SERVICE_NAME", "shop/api")
    assert state_file(None) == str(tmp_path / "seclog" / "state" / "shop_api.sqlite3")


def test_two_apps_sharing_a_state_dir_count_together(make_app, events, tmp_path):
    """Two pipelines (two workers) on one state dir: 5 + 5 failures raise one alert."""
    first = make_app(state_dir=str(tmp_path))
    second = make_app(state_dir=str(tmp_path))
    for _ in range(5):
        first.login("dave")
        second.login("dave")
    assert alerts(events) == ["authn_login_fail_max"]


def test_seclog_check_warns_about_per_process_state():
    """seclog check reports per-process detector state as a WARNING, host state as ok."""
    from seclog_cli import check

    for mode, level in (("process", "warning"), ("host", "ok")):
        report = check.CheckReport("asgi", "app:app")
        check._check_settings(report, load_settings({"detector_state": mode}, environ={}))
        found = [item for item in report.items if item.topic == "detectors"]
        assert found and found[0].level == level, (mode, found)


def test_workers_opening_a_new_state_file_at_once_all_share_it(make_app, events, tmp_path):
    """Workers starting together (gunicorn -w 2) open the new file at once: neither
    falls back to counting alone (SQLite refuses a journal switch at once, without its
    busy wait, while another connection sets the file up), so 5 + 5 failures alert."""
    for attempt in range(12):
        state_dir = str(tmp_path / str(attempt))
        first, second = make_app(state_dir=state_dir), make_app(state_dir=state_dir)
        for _ in range(5):
            first.login("dave")
            second.login("dave")
        assert alerts(events) == ["authn_login_fail_max"] * (attempt + 1), attempt
