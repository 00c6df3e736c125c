"""dev.py, the one entry point of a fresh checkout."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: tomli is a dependency there
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

ROOT = Path(__file__).resolve().parents[1]


def _dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match is not None
    return match.group(0).lower()


def test_demo_installs_the_core_dependencies_and_nothing_more() -> None:
    """The demo's short install list stays in step with seclog's own dependencies."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = {_name(r) for r in declared} - {"opentelemetry-exporter-otlp"}
    wanted |= {"opentelemetry-exporter-otlp-proto-http"}  # the meta-package minus gRPC
    assert {_name(r) for r in _dev().DEMO_REQUIREMENTS} == wanted


def test_every_example_names_an_existing_script_and_what_to_try() -> None:
    """`dev.py example NAME` runs a script of the repository and prints requests to send it."""
    for name, (argv, url, tries) in _dev().EXAMPLES.items():
        assert (ROOT / argv[0]).is_file(), name
        assert url.startswith("http://127.0.0.1:") and tries


def test_unknown_example_is_a_usage_error() -> None:
    """An unknown example name exits 2 with the list of examples, installing nothing."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "dev.py"), "example", "rails"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "django|flask|fastapi" in result.stderr
