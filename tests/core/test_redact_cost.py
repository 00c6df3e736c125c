"""Scrubbing cost stays linear in the input: crafted values cannot make one event expensive.

Each crafted shape is scrubbed at n and 8n characters in the same run; a linear
scrubber costs about 8x more, a quadratic one about 64x. The bound is generous
(noise on a shared machine), the comparison is within one run, never absolute.
"""

from __future__ import annotations

import time

import pytest

from seclog_core.redact import Redactor

# Units a crafted value repeats: digit runs, separators, nested quotes, half-open
# structures each detector might rescan, encodings, huge header-like lists.
UNITS = [
    "1", "4111 ", "1 ", "4111-1111-", "-", " - ", ".", "=", ":", "a=", "a:", 'a="', '"', "'",
    '\\"', "\\\\", "<a>", "</", "<a b='", "<![CDATA[", "%3D", "%25", "&amp;", "//", "//a", "a@",
    "@", "ssh://a@", "https://", "eyJ", "eyJaaaa.", "AKIA", "Bearer ", "Token ", "password ",
    "password is ", "Key (", "Key (a)=(", "[parameters: ", "values (", "LINE 1: ", 'near "',
    "header value ", "Header part (", "('a', '", "-----BEGIN RSA PRIVATE KEY-----", "GB82 ",
    "536-22-", "cookie: ", "\\u0070", "?a=", "&a=b", "x:y ", "a b", "a;b=c, ",
]  # fmt: skip
SMALL = 1000
FACTOR = 8
BOUND = 32  # linear: ~8; quadratic: ~64


def _best(redactor: Redactor, text: str, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        redactor.scrub_text(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("unit", UNITS)
def test_scrubbing_cost_grows_linearly(unit: str) -> None:
    """Scrubbing 8x more of a crafted shape costs far less than 64x (no quadratic rescans)."""
    redactor = Redactor(max_length=FACTOR * SMALL * 2)  # the scan window holds both sizes
    count = max(1, SMALL // len(unit))
    small, large = unit * count, unit * count * FACTOR
    _best(redactor, large, 1)  # warm caches
    ratio = _best(redactor, large) / max(_best(redactor, small), 1e-6)
    if ratio >= BOUND:  # one retry absorbs a burst of load from elsewhere on the machine
        ratio = _best(redactor, large, 9) / max(_best(redactor, small, 9), 1e-6)
    assert ratio < BOUND, f"{unit!r}: {FACTOR}x the input cost {ratio:.1f}x"


def test_huge_header_lists_cost_linearly() -> None:
    """A list of many header pairs costs in proportion to its length."""
    redactor = Redactor()
    small = [(f"x-h{i}", "v" * 20) for i in range(16)]
    large = [(f"x-h{i}", "v" * 20) for i in range(16 * FACTOR)]

    def cost(items: list[tuple[str, str]]) -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            redactor.redact_value("headers", items)
            best = min(best, time.perf_counter() - start)
        return best

    assert cost(large) / max(cost(small), 1e-6) < BOUND
