"""How the redactor looks at a text before it runs detectors, and one encoding beneath it.

Which default detectors could match a text (their trigger substrings, found at C
speed), the text with one layer of percent-encoding, JSON escaping or HTML
entities undone, and which values are (name, value) pairs (header lists and
header objects that are not mappings).
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

from .secret_patterns import DEFAULT_PATTERNS

__all__ = [
    "DECODE_LAYERS",
    "NO_DIGITS",
    "TRIGGERS",
    "decode_once",
    "is_pair",
    "looks_encoded",
    "pairs_of",
    "triggered",
    "triggers_in",
]

# The default detectors' triggers: text holding none of them cannot hold any
# default detector's shape, so they are skipped whole.
TRIGGERS: tuple[str, ...] = tuple(
    sorted({t for p in DEFAULT_PATTERNS for t in p.trigger}, key=lambda t: (-len(t), t))
)
#: Deletes ASCII digits (``len(text) - len(text.translate(NO_DIGITS))`` counts them).
NO_DIGITS = str.maketrans("", "", "0123456789")
_BY_FIRST: dict[str, tuple[str, ...]] = {
    c: tuple(t for t in TRIGGERS if t[0] == c) for c in {t[0] for t in TRIGGERS}
}
_FIRST = frozenset(_BY_FIRST)


def triggers_in(lowered: str) -> set[str]:
    """The default detectors' trigger substrings present in lowercase `lowered`."""
    # Only triggers whose first character occurs are tried; substring tests run at
    # C speed (one regex alternation of them is slower).
    found: set[str] = set()
    for first in _FIRST.intersection(lowered):
        found.update(filter(lowered.__contains__, _BY_FIRST[first]))
    return found


def triggered(lowered: str) -> bool:
    """Could lowercase `lowered` hold any default detector's shape?"""
    return any(
        any(map(lowered.__contains__, _BY_FIRST[first])) for first in _FIRST.intersection(lowered)
    )


# Signs that text is one encoding away from what the detectors read.
_ENCODED = re.compile(
    r"%[0-9A-Fa-f]{2}|\\[\\\"'/nrtu]|&(?:#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});"
)
_JSON_ESCAPE = re.compile(r"\\(?:u(?P<hex>[0-9A-Fa-f]{4})|(?P<ch>[\\\"'/nrt]))")
_JSON_CHARS = {"n": "\n", "r": "\r", "t": "\t"}
#: How many layers of encoding are undone (JSON in a string in a string, %25-encoding).
DECODE_LAYERS = 3


def looks_encoded(text: str) -> bool:
    """Does `text` hold a percent-escape, a backslash escape or an HTML entity?"""
    return _ENCODED.search(text) is not None


def _unescape_json(match: re.Match[str]) -> str:
    hexa = match.group("hex")
    if hexa is not None:
        char = chr(int(hexa, 16))
        return "\ufffd" if 0xD800 <= ord(char) <= 0xDFFF else char
    ch = match.group("ch")
    return _JSON_CHARS.get(ch, ch)


def decode_once(text: str) -> str:
    """Undo one layer of percent-encoding, JSON/backslash escaping and HTML entities."""
    if "%" in text:
        text = unquote(text, errors="replace")
    if "\\" in text:
        text = _JSON_ESCAPE.sub(_unescape_json, text)
    if "&" in text:
        text = html.unescape(text)
    return text


def is_pair(item: object) -> bool:
    """A (name, value) pair as header lists hold them: a 2-tuple or 2-list, name first."""
    return isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], (str, bytes))


def pairs_of(value: object) -> list[object] | None:
    """The (name, value) pairs of a header-like object that is not a Mapping, or None."""
    items = getattr(value, "items", None)
    if not callable(items):
        return None
    try:
        pairs = list(items())
    except Exception:
        return None
    return pairs if all(is_pair(p) for p in pairs) else None
