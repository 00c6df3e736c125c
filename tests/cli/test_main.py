"""The ``seclog`` command itself: help, version, unknown subcommands."""

from __future__ import annotations

from seclog_core import __version__
from tests.cli.support import seclog


def test_no_subcommand_prints_help_and_exits_2() -> None:
    """`seclog` alone lists the four subcommands and exits 2 (a usage error)."""
    result = seclog()
    assert result.returncode == 2
    for name in ("demo", "lint", "check", "verify"):
        assert name in result.stdout


def test_version() -> None:
    """`seclog --version` prints the installed version."""
    result = seclog("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"seclog {__version__}")


def test_unknown_subcommand_is_a_usage_error() -> None:
    """An unknown subcommand exits 2 with argparse's message."""
    result = seclog("audit")
    assert result.returncode == 2
    assert "invalid choice: 'audit'" in result.stderr
