"""seclog's benchmark suite: ``python -m benchmarks [--quick] [--only NAME]``.

Importing the package points the user cache (where seclog keeps host-shared
detector state and spools by default) at one temporary directory for the whole
run, shared by the worker processes it starts, so a benchmark run leaves
nothing in ``~/.cache``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_MARK = "BENCH_CACHE_DIR"  # not SECLOG_*: seclog refuses unknown settings

if _MARK not in os.environ:  # the first benchmark process; its workers inherit the directory
    _cache = tempfile.mkdtemp(prefix="seclog-bench-cache-")
    os.environ[_MARK] = os.environ["XDG_CACHE_HOME"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
