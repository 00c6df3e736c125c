"""The ``[tool.seclog.lint]`` section of pyproject.toml.

Keys: ``extra-secret-names`` (more names to treat as secrets), ``allow-names``
(names never to flag), ``ignore`` (rule ids to skip) and ``exclude`` (glob
patterns of paths not to lint). The nearest pyproject.toml at or above the
current directory is used unless ``--config`` names one.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .rules import RULES

__all__ = ["LintConfig", "LintConfigError", "find_pyproject", "load_config"]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: tomli is a dependency there
    try:
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        tomllib = None


class LintConfigError(ValueError):
    """The configuration cannot be read or has a bad value."""


@dataclass(frozen=True)
class LintConfig:
    """What the section says, with defaults; ``root`` is where the globs are anchored."""

    root: Path
    extra_secret_names: tuple[str, ...] = ()
    allow_names: tuple[str, ...] = ()
    ignore: frozenset[str] = frozenset()
    exclude: tuple[str, ...] = ()
    source: Path | None = None


_KEYS = ("extra-secret-names", "allow-names", "ignore", "exclude")


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start``."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _strings(key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise LintConfigError(f"[tool.seclog.lint] {key} must be a list of strings")
    return tuple(value)


def _section(data: Mapping[str, Any]) -> Mapping[str, Any]:
    section = data.get("tool", {}).get("seclog", {}).get("lint", {})
    if not isinstance(section, Mapping):
        raise LintConfigError("[tool.seclog.lint] must be a table")
    return section


def load_config(path: Path | None, cwd: Path) -> LintConfig:
    """Read the section from ``path`` (or the nearest pyproject.toml); defaults if absent."""
    source = path if path is not None else find_pyproject(cwd)
    if source is None:
        return LintConfig(root=cwd)
    if tomllib is None:  # pragma: no cover - Python 3.10 without tomli
        print("seclog lint: install tomli to read [tool.seclog.lint]", file=sys.stderr)
        return LintConfig(root=source.parent)
    try:
        with source.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LintConfigError(f"cannot read {source}: {exc}") from None
    section = _section(data)
    values: dict[str, tuple[str, ...]] = {}
    for raw_key, value in section.items():
        key = raw_key.replace("_", "-")
        if key not in _KEYS:
            raise LintConfigError(
                f"unknown key {raw_key!r} in [tool.seclog.lint] of {source}; "
                f"known keys: {', '.join(_KEYS)}"
            )
        values[key] = _strings(raw_key, value)
    ignore = frozenset(values.get("ignore", ()))
    unknown = sorted(ignore - set(RULES))
    if unknown:
        raise LintConfigError(
            f"[tool.seclog.lint] ignore names unknown rules {unknown}; rules: {', '.join(RULES)}"
        )
    return LintConfig(
        root=source.parent,
        extra_secret_names=values.get("extra-secret-names", ()),
        allow_names=values.get("allow-names", ()),
        ignore=ignore,
        exclude=values.get("exclude", ()),
        source=source,
    )
