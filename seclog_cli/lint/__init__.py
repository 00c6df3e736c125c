"""``seclog lint PATH...``: find secrets and request data in logging calls, statically.

Files are parsed with :mod:`ast`, never imported or run. Findings are printed
as ``path:line:col: RULE message`` (or JSON, or SARIF 2.1.0 for code scanning);
the exit code is 0 when clean, 1 with findings, 2 on a usage or parse error.
A ``# seclog: ignore[SL001]`` (or bare ``# seclog: ignore``) comment on any line
of a logging call silences it; ``[tool.seclog.lint]`` in pyproject.toml
configures names, ignored rules and excluded paths.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import os
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

from .analyzer import Finding, analyze_tree
from .config import LintConfig, LintConfigError, load_config
from .report import LintResult, ParseProblem, to_json, to_sarif, to_text
from .rules import RULES, SecretNames

__all__ = ["RULES", "Finding", "LintResult", "configure_parser", "lint_paths", "run"]

_SKIP_DIRS = frozenset(
    {".git", ".hg", ".venv", "venv", "__pycache__", "node_modules", ".tox", ".nox", ".mypy_cache"}
)
# Every call the analyzer recognizes names a logger ("log" in any case) or print:
# a file without either cannot have a finding and is not parsed.
_MAY_LOG = re.compile(rb"log|print", re.IGNORECASE)
_SUPPRESS = re.compile(r"#\s*seclog:\s*ignore(?:\[(?P<rules>[A-Za-z0-9_,\s]*)\])?")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    parser.add_argument(
        "--format", choices=("text", "json", "sarif"), default="text", help="output format"
    )
    parser.add_argument("--config", type=Path, help="pyproject.toml to read [tool.seclog.lint]")
    parser.add_argument("--output", "-o", type=Path, help="write the report to this file")


def _excluded(path: Path, config: LintConfig) -> bool:
    if not config.exclude:
        return False
    try:
        relative = path.resolve().relative_to(config.root.resolve()).as_posix()
    except ValueError:
        relative = path.as_posix()
    return any(
        fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(path.name, pattern)
        for pattern in config.exclude
    )


def _files(paths: list[Path], config: LintConfig) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for folder, dirs, names in os.walk(path):
                base = Path(folder)
                dirs[:] = sorted(
                    d for d in dirs if d not in _SKIP_DIRS and not _excluded(base / d, config)
                )
                for name in sorted(names):
                    candidate = base / name
                    if name.endswith(".py") and not _excluded(candidate, config):
                        yield candidate
        elif not _excluded(path, config):
            yield path


def _suppressed(finding: Finding, lines: list[str]) -> bool:
    first, last = finding.call_lines
    for number in range(max(first, 1), min(max(last, finding.line), len(lines)) + 1):
        match = _SUPPRESS.search(lines[number - 1])
        if match is None:
            continue
        rules = match.group("rules")
        if rules is None:
            return True
        if finding.rule in {r.strip().upper() for r in rules.split(",")}:
            return True
    return False


def lint_file(path: Path, secret: SecretNames, config: LintConfig, result: LintResult) -> None:
    """Lint one file into ``result``."""
    shown = str(path)
    result.files += 1
    try:
        source = path.read_bytes()
        if not _MAY_LOG.search(source):
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings of the linted code are not ours
            tree = ast.parse(source, filename=shown)
    except SyntaxError as exc:
        result.problems.append(
            ParseProblem(shown, exc.lineno or 1, exc.offset or 1, f"syntax error: {exc.msg}")
        )
        return
    except (OSError, ValueError) as exc:
        result.problems.append(ParseProblem(shown, 1, 1, f"cannot read: {exc}"))
        return
    findings = [f for f in analyze_tree(tree, shown, secret) if f.rule not in config.ignore]
    if not findings:
        return
    lines = source.decode("utf-8", errors="replace").splitlines()
    for finding in findings:
        if _suppressed(finding, lines):
            result.suppressed += 1
        else:
            result.findings.append(finding)


def lint_paths(paths: list[Path], config: LintConfig) -> LintResult:
    """Lint files and directory trees; the library form of ``seclog lint``."""
    secret = SecretNames(config.extra_secret_names, config.allow_names)
    result = LintResult()
    for path in _files(paths, config):
        lint_file(path, secret, config, result)
    return result


def run(args: argparse.Namespace) -> int:
    cwd = Path.cwd()
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"seclog lint: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config, cwd)
    except LintConfigError as exc:
        print(f"seclog lint: {exc}", file=sys.stderr)
        return 2
    result = lint_paths([Path(p) for p in args.paths], config)
    if args.format == "json":
        text = to_json(result)
    elif args.format == "sarif":
        from seclog_core import __version__

        text = to_sarif(result, version=__version__, cwd=cwd)
    else:
        text = to_text(result)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return result.exit_code
