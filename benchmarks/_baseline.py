"""The regression guard: compare this run's ratios with the last recorded ones.

Absolute times differ from machine to machine; ratios measured side by side in
one run do not (much). ``--record FILE`` stores every row's ratio; ``--check
FILE`` fails when a ratio got worse than ``factor`` times the recorded one, so a
gross regression (a lost fast path, a blocking call) stops CI while ordinary
noise on a shared machine does not.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ._harness import Row

__all__ = ["check", "record"]

_RATIO = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)x\b")
# Units where a larger number is better; everywhere else (µs, MiB) smaller is better.
_HIGHER_IS_BETTER = ("/s", "arrived")


def _key(row: Row) -> str:
    return f"{row.suite} | {row.case} | {row.variant}"


def _ratio(row: Row) -> float | None:
    match = _RATIO.match(row.ratio)
    if match is None:
        return None
    value = float(match.group(1))
    return value if value > 0 else None


def _plausible(row: Row, ratio: float) -> float:
    """A ratio better than the bare app's is noise: record the bare app's 1.0 instead.

    seclog only adds work, so a recorded 0.9x (a noisy round of the bare app) would
    make an ordinary 1.9x look like a 2x regression on the next run.
    """
    if any(row.unit.endswith(u) for u in _HIGHER_IS_BETTER):
        return min(ratio, 1.0) if row.ratio.endswith("x") else ratio
    return max(ratio, 1.0)


def record(rows: list[Row], path: Path) -> None:
    """Write every guarded row's ratio (rows without one are left out)."""
    ratios = {
        _key(r): _plausible(r, ratio) for r in rows if r.guard and (ratio := _ratio(r)) is not None
    }
    path.write_text(json.dumps(dict(sorted(ratios.items())), indent=1) + "\n", encoding="utf-8")


def check(rows: list[Row], path: Path, factor: float = 2.0) -> list[str]:
    """Rows whose ratio is more than ``factor`` times worse than recorded; [] when none."""
    recorded: dict[str, float] = json.loads(path.read_text(encoding="utf-8"))
    problems: list[str] = []
    for row in rows:
        if not row.variant.startswith("seclog") or not row.guard:
            continue  # peers' ratios are context, not ours to guard
        ratio = _ratio(row)
        before = recorded.get(_key(row))
        if ratio is None or before is None:
            continue
        higher_better = any(row.unit.endswith(u) for u in _HIGHER_IS_BETTER)
        worse = before / ratio if higher_better else ratio / before
        if worse > factor:
            problems.append(
                f"{_key(row)}: ratio {ratio:.3f}x, recorded {before:.3f}x "
                f"({worse:.1f}x worse, limit {factor:.1f}x)"
            )
    return problems
