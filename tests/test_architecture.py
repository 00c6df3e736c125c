"""The package boundaries DESIGN.md promises, checked on the source itself."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ADAPTERS = ("seclog_django", "seclog_flask", "seclog_asgi")
FRAMEWORKS = ("django", "flask", "starlette", "fastapi", "quart", "werkzeug", "rest_framework")


def _imports(package: str) -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.extend((path, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.extend((path, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def test_core_imports_no_framework_and_no_adapter() -> None:
    """seclog_core knows no web framework, no adapter and not the command line."""
    banned = {*FRAMEWORKS, *ADAPTERS, "seclog_cli"}
    offenders = [
        f"{p.relative_to(ROOT)}: {n}" for p, n in _imports("seclog_core") if _top(n) in banned
    ]
    assert offenders == []


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapter_uses_only_the_adapter_interface_and_public_api(adapter: str) -> None:
    """An adapter imports no other adapter and nothing of the core but seclog_core.adapters."""
    offenders = []
    for path, name in _imports(adapter):
        top = _top(name)
        if (top in ADAPTERS and top != adapter) or top == "seclog_cli":
            offenders.append(f"{path.relative_to(ROOT)}: {name}")
        elif top == "seclog_core":
            parts = name.split(".")
            # ``import seclog_core``, its public names, or seclog_core.adapters.
            if name == "seclog_core":
                continue
            if len(parts) == 2 and (not parts[1].startswith("_") or parts[1] == "__version__"):
                continue
            if len(parts) >= 2 and parts[1] == "adapters":
                continue
            offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_lint_does_not_load_the_opentelemetry_sdk(tmp_path: Path) -> None:
    """``seclog lint`` in a pre-commit hook pays for no OpenTelemetry import."""
    source = tmp_path / "app.py"
    source.write_text("import logging\nlogging.getLogger(__name__).info('hello')\n")
    code = (
        "import sys, seclog_cli\n"
        f"status = seclog_cli.main(['lint', {str(source)!r}])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('opentelemetry'))\n"
        "print('LOADED', loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert "LOADED []" in result.stdout, result.stdout + result.stderr


def test_the_pytest_plugin_does_not_load_the_opentelemetry_sdk() -> None:
    """A project with seclog installed pays no OpenTelemetry import in test runs that never
    ask for the ``security_events`` fixture (the plugin loads in every pytest run)."""
    code = (
        "import sys, seclog_core.testing, seclog_core\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk'))\n"
        "print('LOADED', loaded)\n"
        "with seclog_core.testing.capture_security_events() as events:\n"
        "    seclog_core.login_failed(username='bob')\n"
        "print('CAPTURED', events.types)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    env["SECLOG_LOCAL_SINK"] = "none"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=False
    )
    assert "LOADED []" in result.stdout, result.stdout + result.stderr
    assert "CAPTURED ['authn_login_fail']" in result.stdout, result.stdout + result.stderr


# The delivery side of the emit path; none of it may reach back into the pipeline.
_BELOW_PIPELINE = ("emitter", "export", "spool", "senders", "_otlp", "_otel_compat", "_threads")


def test_the_emit_path_has_no_import_cycle() -> None:
    """pipeline -> emitter -> export -> spool -> senders: nothing below imports back up,
    not even inside a function (the 0.1.0 cycle hid there)."""
    offenders: list[str] = []
    for name in _BELOW_PIPELINE:
        path = ROOT / "seclog_core" / f"{name}.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                target = module if node.level == 0 else f"seclog_core.{module}"
                if target.split(".")[-1] in ("pipeline", "api", "detect", "checkpoints"):
                    offenders.append(f"{name}: {target}")
    assert offenders == []
