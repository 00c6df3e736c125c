"""Injection-safe text and OpenTelemetry attribute coercion.

`sanitize_text` turns any string into one that cannot forge a second log line,
drive a terminal or flip the reading order of a viewer; `coerce_value` turns any
Python object into a value that both LogRecord and span-event attributes accept.
Neither function ever raises.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import TypeAlias, TypeVar, Union

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "MAX_SEQUENCE_ITEMS",
    "AttributeValue",
    "coerce_value",
    "safe_str",
    "sanitize_text",
]

#: Default cap, in characters, for one text value (before the truncation marker).
DEFAULT_MAX_LENGTH: int = 2048
#: Lists and tuples keep at most this many elements.
MAX_SEQUENCE_ITEMS: int = 128
# Nested containers deeper than this render as "..." (guards cycles and bombs).
_MAX_DEPTH = 6

AttributeValue: TypeAlias = Union[
    str, bool, int, float, "list[str]", "list[int]", "list[float]", "list[bool]"
]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# Anything that needs work: C0 controls, DEL, C1 controls, surrogates, bidi
# controls (ALM, LRM/RLM, embeddings/overrides U+202A-E, isolates U+2066-9),
# LS/PS, and invisible format characters that make two texts look alike: soft
# hyphen, combining grapheme joiner, Hangul and Khmer fillers, Mongolian
# separators, zero-width space/joiners, word joiner and invisible operators,
# BOM, interlinear annotation marks and the tag characters (U+E0000-E007F).
# Clean text costs one search with this pattern.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\ud800-\udfff\U0001d173-\U0001d17a\U000e0000-\U000e007f]"
)

# Terminal escape sequences, removed whole before control escaping so that no
# "[31m" debris is left behind. Unterminated strings fall through to the last
# branch, which removes only the two-character introducer.
_ANSI = re.compile(
    "(?:\x1b\\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor movement, erase
    "|(?:\x1b[\\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\\\|\x9c)"  # OSC/DCS/...
    "|\x1b[ -/]*[0-~]"  # any other ESC sequence
)

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED_ESCAPES.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _truncation_marker(dropped: int) -> str:
    return f"…[truncated {dropped} chars]"


def sanitize_text(value: str, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """Return `value` made safe to write as one log field.

    CR, LF, TAB, NUL and every other C0/C1 control and DEL become visible
    escapes (``\\n``, ``\\x1b``); ANSI escape sequences are removed; bidi
    controls, U+2028/U+2029 and invisible format characters (zero-width, word
    joiner, BOM, soft hyphen, tags) become ``\\u202e``-style escapes (``ad\\u200bmin``
    never displays as ``admin``); lone surrogates
    become U+FFFD. Backslashes are kept as they are. Text longer than
    `max_length` characters is cut and ends with a marker such as
    ``…[truncated 120 chars]``, so the result is at most `max_length` plus the
    marker's length (under 40 characters).
    """
    return _sanitize(value, max_length)


def _sanitize(value: str, max_length: int, dropped_early: int = 0) -> str:
    """`sanitize_text` for text whose last `dropped_early` characters were already cut off."""
    max_length = max(max_length, 0)
    if _UNSAFE.search(value) is None:
        if len(value) <= max_length and dropped_early == 0:
            return value
        dropped = max(len(value) - max_length, 0) + dropped_early
        return value[:max_length] + _truncation_marker(dropped)
    # Escapes only lengthen text, so a bounded prefix is all we need to work on;
    # the slack leaves room for ANSI sequences that will be removed.
    limit = 4 * max_length + 64
    if len(value) > limit:
        dropped_early += len(value) - limit
        value = value[:limit]
    value = _ANSI.sub("", value)
    value = _UNSAFE.sub(_escape, value)
    if len(value) <= max_length and dropped_early == 0:
        return value
    dropped = max(len(value) - max_length, 0) + dropped_early
    return value[:max_length] + _truncation_marker(dropped)


def _plain_str(value: str) -> str:
    # A str subclass may override __str__ or carry state; keep only the text.
    return value if type(value) is str else str.__str__(value)


def safe_str(value: object) -> str:
    """Return ``str(value)``, falling back to ``repr`` and then a placeholder; never raises."""
    if isinstance(value, str):
        return _plain_str(value)
    try:
        text = str(value)
        if isinstance(text, str):
            return _plain_str(text)
    except Exception:  # noqa: S110 - any failure means "try the next rendering"
        pass
    try:
        text = repr(value)
        if isinstance(text, str):
            return _plain_str(text)
    except Exception:  # noqa: S110
        pass
    try:
        name = type(value).__name__
    except Exception:
        name = "object"
    return f"<unrepresentable {name}>"


def _render(value: object, depth: int, budget: int) -> str:
    """Render containers as compact JSON-like text, stopping once `budget` chars are used."""
    if depth > _MAX_DEPTH:
        return "..."
    if isinstance(value, str):
        return _quote(value[: budget + 1])
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        opening, closing = "{", "}"
        items = _limited(value.items())
        rendered = (_render_key(k) + ": " + _render(v, depth + 1, budget) for k, v in items)
    elif isinstance(value, (list, tuple, set, frozenset)):
        opening, closing = "[", "]"
        rendered = (_render(v, depth + 1, budget) for v in _limited(_ordered(value)))
    else:
        scalar = coerce_value(value, budget)
        return _quote(scalar) if isinstance(scalar, str) else safe_str(scalar)
    parts: list[str] = []
    used = 0
    for part in rendered:
        parts.append(part)
        used += len(part) + 2
        if used > budget:
            parts.append("...")
            break
    return opening + ", ".join(parts) + closing


def _render_key(key: object) -> str:
    return _quote(safe_str(key)[:256])


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_T = TypeVar("_T")


def _limited(items: Iterable[_T]) -> list[_T]:
    out: list[_T] = []
    for item in items:
        if len(out) >= MAX_SEQUENCE_ITEMS:
            break
        out.append(item)
    return out


_Collection: TypeAlias = list[object] | tuple[object, ...] | set[object] | frozenset[object]


def _ordered(values: _Collection) -> list[object]:
    if isinstance(values, (set, frozenset)):
        # Sets have no order; sort their text forms so output is reproducible.
        return sorted(values, key=safe_str)
    return list(values)


def _coerce_scalar(value: object, max_length: int) -> str | bool | int | float:
    if isinstance(value, str):
        return sanitize_text(_plain_str(value), max_length)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        number = int(value)
        if _INT64_MIN <= number <= _INT64_MAX:
            return number
        try:
            return sanitize_text(str(number), max_length)
        except ValueError:  # int too large for str() under the digit limit
            return f"<int of {number.bit_length()} bits>"
    if isinstance(value, float):
        number_f = float(value)
        return number_f if math.isfinite(number_f) else str(number_f)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value[: 4 * max_length + 64])
        return sanitize_text(raw.decode("utf-8", errors="replace"), max_length)
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return sanitize_text(_render(value, 0, max_length), max_length)
    return sanitize_text(safe_str(value), max_length)


def coerce_value(value: object, max_length: int = DEFAULT_MAX_LENGTH) -> AttributeValue:
    """Coerce any object into an attribute value valid for log records and span events.

    Strings are sanitized and capped; bools and finite floats pass; ints within
    signed 64 bits pass, larger ones become text; NaN and infinities become
    "nan"/"inf"/"-inf"; bytes are decoded as UTF-8 (bad bytes become U+FFFD);
    None becomes ""; lists, tuples and sets become a list of at most
    128 elements, all of one type (all text when the element types differ);
    mappings and other objects become capped JSON-like text. Never raises: an
    object whose ``str`` and ``repr`` both fail becomes "<unrepresentable Type>".
    """
    try:
        if isinstance(value, (list, tuple, set, frozenset)):
            return _coerce_sequence(value, max_length)
        return _coerce_scalar(value, max_length)
    except Exception:
        return safe_str(_Unrepresentable(value))


def _coerce_sequence(values: _Collection, max_length: int) -> AttributeValue:
    items: list[str | bool | int | float] = []
    for item in _limited(_ordered(values)):
        if isinstance(item, (list, tuple, set, frozenset, Mapping)):
            items.append(sanitize_text(_render(item, 1, max_length), max_length))
        else:
            items.append(_coerce_scalar(item, max_length))
    kinds = {type(item) for item in items}
    if len(kinds) > 1:
        return [item if isinstance(item, str) else safe_str(item) for item in items]
    return items  # type: ignore[return-value]  # homogeneous by the check above


class _Unrepresentable:
    """Stands in for an object that broke while being coerced."""

    def __init__(self, value: object) -> None:
        try:
            self.name = type(value).__name__
        except Exception:
            self.name = "object"

    def __str__(self) -> str:
        return f"<unrepresentable {self.name}>"
