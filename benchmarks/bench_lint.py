"""How fast `seclog lint` is: files and lines per second over a large tree.

    python benchmarks/bench_lint.py [PATH]    # default: this interpreter's site-packages
"""

from __future__ import annotations

import sys
import sysconfig
import time
from collections import Counter
from pathlib import Path

from seclog_core.cli.lint import lint_paths
from seclog_core.cli.lint.config import LintConfig


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else sysconfig.get_paths()["purelib"])
    started = time.perf_counter()
    result = lint_paths([root], LintConfig(root=root))
    elapsed = time.perf_counter() - started
    by_rule = Counter(f.rule for f in result.findings)
    print(f"tree: {root}")
    print(f"files: {result.files} in {elapsed:.1f} s = {result.files / elapsed:.0f} files/s")
    print(f"findings: {len(result.findings)} {dict(sorted(by_rule.items()))}")
    print(f"unparsable files: {len(result.problems)}")


if __name__ == "__main__":
    main()
