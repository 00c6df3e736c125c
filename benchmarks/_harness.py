"""Measurement discipline shared by every suite: interleaved rounds, medians, ratios.

Machines are shared and noisy, so variants are never timed one after the other:
each round runs every variant once (in a rotated order), many rounds are taken,
and each suite reports medians and ratios computed within the same run.
"""

from __future__ import annotations

import gc
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "Row",
    "Settings",
    "interleave",
    "overhead_rows",
    "private_tmpdir",
    "render_goals",
    "render_table",
]


def private_tmpdir() -> tempfile.TemporaryDirectory[str]:
    """A scratch directory whose ancestors only this user can write (seclog's spool checks).

    As root, /tmp is "ours" yet writable by others, so the spool would refuse it.
    """
    base = None
    if hasattr(os, "getuid") and os.getuid() == 0:
        base = os.path.join(os.path.expanduser("~"), ".cache", "seclog-bench")
        os.makedirs(base, mode=0o700, exist_ok=True)
        os.chmod(base, 0o700)
    return tempfile.TemporaryDirectory(prefix="seclog-bench-", dir=base)


@dataclass(frozen=True)
class Settings:
    """How hard to measure: ``quick`` keeps the whole run CI-sized."""

    quick: bool = False

    def rounds(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass
class Row:
    """One line of the final table."""

    suite: str
    case: str
    variant: str
    value: float
    unit: str
    ratio: str = ""
    target: str = ""
    verdict: str = ""
    note: str = ""
    # False for ratios too noisy to guard in CI (timings that include network round trips).
    guard: bool = True


@dataclass
class Timings:
    """Per-round per-call times (µs) of each variant, kept paired by round."""

    samples: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.samples[name])

    def median_diff(self, name: str, base: str) -> float:
        # Paired by round: both variants saw the same noise, so their difference is steadier.
        pairs = zip(self.samples[name], self.samples[base], strict=True)
        return statistics.median(a - b for a, b in pairs)


def interleave(
    variants: Mapping[str, Callable[[], object]],
    *,
    rounds: int,
    inner: int,
    warmup: int = 2,
) -> Timings:
    """Time each variant ``inner`` calls per round, variants alternating round by round."""
    names = list(variants)
    timings = Timings({name: [] for name in names})
    for _ in range(warmup):
        for name in names:
            fn = variants[name]
            for _ in range(inner):
                fn()
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # a collection landing in one variant's slot is noise, not cost
    try:
        for index in range(rounds):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                fn = variants[name]
                start = time.perf_counter_ns()
                for _ in range(inner):
                    fn()
                elapsed = time.perf_counter_ns() - start
                timings.samples[name].append(elapsed / inner / 1000.0)
            if index % 8 == 7:
                gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    return timings


def overhead_rows(
    suite: str,
    case: str,
    timings: Timings,
    *,
    bare: str = "bare",
    ours: str = "seclog",
    max_ratio: float | None = None,
    peer_share: tuple[str, float] | None = None,
) -> list[Row]:
    """Rows for a bare-vs-variants comparison: median µs, ratio to bare, added µs.

    ``max_ratio`` checks seclog against bare; ``peer_share`` = (peer, fraction)
    checks that seclog adds at most ``fraction`` of what that peer adds.
    """
    base = timings.median(bare)
    rows = [Row(suite, case, bare, base, "µs/req", "1.00x")]
    added_by: dict[str, float] = {}
    for name in timings.samples:
        if name == bare:
            continue
        value = timings.median(name)
        added = timings.median_diff(name, bare)
        added_by[name] = added
        ratio = (base + added) / base if base else float("nan")
        rows.append(
            Row(suite, case, name, value, "µs/req", f"{ratio:.3f}x", note=f"+{added:.1f} µs")
        )
    for row in rows:
        if row.variant != ours:
            continue
        checks: list[tuple[str, bool]] = []
        ratio = (base + added_by[ours]) / base if base else float("nan")
        if max_ratio is not None:
            checks.append((f"<= {max_ratio:.2f}x bare", ratio <= max_ratio))
        if peer_share is not None and peer_share[0] in added_by:
            peer, share = peer_share
            peer_added = added_by[peer]
            fraction = added_by[ours] / peer_added if peer_added > 0 else float("nan")
            checks.append((f"<= {share:.0%} of {peer}", fraction <= share))
            row.note += f" ({fraction:.1%} of {peer}'s)"
        row.target = "; ".join(text for text, _ in checks)
        row.verdict = "" if not checks else ("met" if all(ok for _, ok in checks) else "NOT MET")
    return rows


def _fmt(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render_table(rows: list[Row]) -> str:
    """One plain-text table (Markdown-compatible) of every row."""
    header = ("suite", "case", "variant", "median", "unit", "ratio", "target", "verdict", "note")
    body = [
        (r.suite, r.case, r.variant, _fmt(r.value), r.unit, r.ratio, r.target, r.verdict, r.note)
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        padded = (str(c).ljust(w) for c, w in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(cells) for cells in body)
    return "\n".join(out)


def render_goals(rows: list[Row]) -> str:
    """The rows that carry a target, as a short table: what, measured, goal, verdict."""
    header = ("what", "measured", "goal", "verdict")
    body = [
        (
            f"{r.suite}: {r.case} [{r.variant}]",
            r.ratio or f"{_fmt(r.value)} {r.unit}",
            r.target,
            r.verdict,
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    out = []
    for cells in [header, *body]:
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |")
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)
