"""The ``seclog`` command: ``demo``, ``lint``, ``check`` and ``verify``.

Each subcommand lives in its own module with ``configure_parser`` and ``run``;
the modules import their heavy dependencies (frameworks, OpenTelemetry SDK
parts) inside ``run``, so ``seclog lint`` in a pre-commit hook stays quick.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

__all__ = ["main"]

_SUBCOMMANDS: dict[str, str] = {
    "demo": "Play a scripted attack against a demo app and show the security events.",
    "lint": "Find secrets and request data in logging calls (static analysis).",
    "check": "Inspect a configured Django, Flask or ASGI app's seclog setup.",
    "verify": "Check the sequence numbers and HMACs of an exported event stream.",
}


def _parser() -> argparse.ArgumentParser:
    # Not ``seclog_core.__version__``: importing the core loads the OpenTelemetry SDK,
    # which ``seclog lint`` in a pre-commit hook must not pay for.
    try:
        __version__ = version("seclog")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        __version__ = "0.0.0"
    parser = argparse.ArgumentParser(
        prog="seclog", description="Security logging for Django, Flask and ASGI apps."
    )
    parser.add_argument("--version", action="version", version=f"seclog {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in _SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=summary, description=summary)
        if name == "verify":
            # verify parses its own arguments; everything after the word goes to it.
            sub.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
            continue
        module = importlib.import_module(f"seclog_cli.{name}")
        configure: Callable[[argparse.ArgumentParser], None] = module.configure_parser
        configure(sub)
    return parser


def _verify(argv: list[str]) -> int:
    from seclog_cli import verify

    code: int = verify.main(argv)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["verify"]:
        return _verify(args_list[1:])
    parser = _parser()
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(f"seclog_cli.{args.command}")
    code: int = module.run(args)
    return code
