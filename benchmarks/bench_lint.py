"""How fast `seclog lint` is: files per second over a large tree of real code.

    python benchmarks/bench_lint.py [PATH]    # default: this interpreter's site-packages
    python -m benchmarks --only lint          # as one suite of the benchmark table

The quick run lints Django's source tree only; the full run all of site-packages.
"""

from __future__ import annotations

import sys
import sysconfig
import time
from collections import Counter
from pathlib import Path

from seclog_cli.lint import LintResult, lint_paths
from seclog_cli.lint.config import LintConfig


def measure(root: Path) -> tuple[LintResult, float]:
    started = time.perf_counter()
    result = lint_paths([root], LintConfig(root=root))
    return result, time.perf_counter() - started


def run(settings: object) -> list[dict[str, object]]:
    """Rows for the benchmark table (``python -m benchmarks``)."""
    site = Path(sysconfig.get_paths()["purelib"])
    quick = bool(getattr(settings, "quick", False))
    root = site / "django" if quick and (site / "django").is_dir() else site
    result, elapsed = measure(root)
    return [
        {
            "suite": "lint",
            "case": f"lint {root.name} ({result.files} files)",
            "variant": "seclog lint",
            "value": round(result.files / elapsed, 1),
            "unit": "files/s",
            "note": f"{len(result.findings)} findings, {len(result.problems)} unparsable",
        }
    ]


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else sysconfig.get_paths()["purelib"])
    result, elapsed = measure(root)
    by_rule = Counter(f.rule for f in result.findings)
    print(f"tree: {root}")
    print(f"files: {result.files} in {elapsed:.1f} s = {result.files / elapsed:.0f} files/s")
    print(f"findings: {len(result.findings)} {dict(sorted(by_rule.items()))}")
    print(f"unparsable files: {len(result.problems)}")


if __name__ == "__main__":
    main()
