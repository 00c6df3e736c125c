"""Safe text: log-injection neutralisation, length caps and attribute coercion."""

from __future__ import annotations

import math

import pytest

from seclog_core._text import DEFAULT_MAX_LENGTH, coerce_value, sanitize_text


def test_clean_text_is_returned_unchanged() -> None:
    """Ordinary printable text, including non-ASCII letters, passes through as is."""
    text = "User bob logged in from 203.0.113.5 — café ✓"
    assert sanitize_text(text) == text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("a\tb", "a\\tb"),
        ("a\x00b", "a\\x00b"),
        ("a\x7fb", "a\\x7fb"),
        ("a\x85b", "a\\x85b"),
        ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),
    ],
)
def test_line_breaks_and_controls_become_visible_escapes(raw: str, expected: str) -> None:
    """CR, LF, TAB, NUL, DEL, C1 controls and Unicode line separators are escaped."""
    assert sanitize_text(raw) == expected


def test_forged_log_line_stays_on_one_line() -> None:
    """An attacker cannot start a second log line with a fake record."""
    forged = "bob\n2024-01-01 INFO login success user=admin"
    assert "\n" not in sanitize_text(forged)


def test_ansi_sequences_are_removed_entirely() -> None:
    """Colour codes, cursor movement and OSC titles leave no debris behind."""
    raw = "\x1b[31mred\x1b[0m \x1b[2J\x1b]0;title\x07done \x9b1mx"
    assert sanitize_text(raw) == "red done x"


def test_unterminated_escape_leaves_no_raw_escape_character() -> None:
    """A cut-off escape sequence is neutralised rather than passed to a terminal."""
    assert "\x1b" not in sanitize_text("a\x1b]0;never terminated")
    assert "\x1b" not in sanitize_text("a\x1b")


@pytest.mark.parametrize(
    "char", ["\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c"]
)
def test_bidi_controls_are_escaped(char: str) -> None:
    """Bidi overrides, isolates and marks cannot reorder what an analyst reads."""
    out = sanitize_text(f"invoice{char}fdp.exe")
    assert char not in out
    assert f"\\u{ord(char):04x}" in out


INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\u2063",  # invisible separator
    "\ufeff",  # byte order mark / zero-width no-break space
    "\u00ad",  # soft hyphen
    "\u034f",  # combining grapheme joiner
    "\u180e",  # Mongolian vowel separator
    "\u3164",  # Hangul filler
    "\U000e0041",  # tag latin capital A
    "\U000e007f",  # cancel tag
]


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_invisible_format_characters_are_escaped(char: str) -> None:
    """Text with an invisible character never displays like the text without it."""
    out = sanitize_text(f"ad{char}min")
    assert out != "admin"
    assert char not in out
    assert out.startswith("ad\\") and out.endswith("min")


def test_astral_escapes_are_unambiguous() -> None:
    """A tag character's escape names all of its code point (\\U000e0041), not a prefix."""
    assert sanitize_text("\U000e0041") == "\\U000e0041"


def test_lone_surrogates_become_replacement_characters() -> None:
    """Text with lone surrogates becomes encodable UTF-8."""
    out = sanitize_text("a\ud800b")
    assert out == "a\ufffdb"
    out.encode("utf-8")


def test_long_text_is_truncated_with_a_marker() -> None:
    """Text over the cap is cut and says how much was dropped."""
    out = sanitize_text("x" * 100, max_length=10)
    assert out == "x" * 10 + "…[truncated 90 chars]"


def test_default_cap_bounds_huge_input() -> None:
    """A megabyte of hostile input yields a short result."""
    out = sanitize_text("\n\x1b[1m" * 200_000)
    assert len(out) <= DEFAULT_MAX_LENGTH + 40


@pytest.mark.parametrize("value", [True, False, 0, -5, 2**63 - 1, -(2**63), 1.5, "ok"])
def test_valid_attribute_scalars_pass_through(value: object) -> None:
    """Bools, 64-bit ints, finite floats and clean strings are kept with their type."""
    out = coerce_value(value)
    assert out == value
    assert type(out) is type(value)


def test_out_of_range_ints_become_text() -> None:
    """Integers beyond signed 64 bits become their decimal text."""
    assert coerce_value(2**64) == str(2**64)


def test_gigantic_ints_do_not_raise() -> None:
    """An integer too large for str() still coerces to a capped string."""
    out = coerce_value(10**20000)
    assert isinstance(out, str)
    assert len(out) < 100


@pytest.mark.parametrize(
    ("value", "text"), [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")]
)
def test_non_finite_floats_become_text(value: float, text: str) -> None:
    """NaN and infinities, which JSON exporters reject, become text."""
    assert coerce_value(value) == text


def test_bytes_are_decoded_and_sanitized() -> None:
    """Bytes become text, bad UTF-8 becomes U+FFFD and controls are escaped."""
    assert coerce_value(b"ok\xff\n") == "ok\ufffd\\n"


def test_none_becomes_empty_text() -> None:
    """None, which OpenTelemetry would drop, becomes an empty string."""
    assert coerce_value(None) == ""


def test_homogeneous_lists_keep_their_type() -> None:
    """A list of one scalar type stays a list of that type."""
    assert coerce_value([1, 2, 3]) == [1, 2, 3]
    assert coerce_value((True, False)) == [True, False]
    assert coerce_value(["a\n", "b"]) == ["a\\n", "b"]


def test_mixed_lists_become_lists_of_text() -> None:
    """A list mixing types becomes a list of strings, as attributes must be homogeneous."""
    assert coerce_value([1, "a", None]) == ["1", "a", ""]


def test_sets_are_ordered_for_reproducible_output() -> None:
    """Sets become sorted lists."""
    assert coerce_value({"b", "a", "c"}) == ["a", "b", "c"]


def test_long_lists_are_capped() -> None:
    """Lists keep at most 128 elements."""
    out = coerce_value(list(range(1000)))
    assert isinstance(out, list)
    assert len(out) == 128


def test_dicts_become_capped_json_like_text() -> None:
    """A mapping becomes readable JSON-like text within the cap."""
    assert coerce_value({"a": 1, "b": [True, None]}) == '{"a": 1, "b": [true, null]}'
    big = {str(i): "v" * 50 for i in range(10_000)}
    out = coerce_value(big, max_length=200)
    assert isinstance(out, str)
    assert len(out) < 260


def test_self_referencing_containers_do_not_recurse_forever() -> None:
    """A dict that contains itself renders to bounded text."""
    loop: dict[str, object] = {}
    loop["self"] = loop
    out = coerce_value(loop)
    assert isinstance(out, str)
    assert "..." in out


class _Broken:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_objects_whose_str_and_repr_raise_are_named_not_raised() -> None:
    """coerce_value never raises, even for an object that cannot be printed."""
    assert coerce_value(_Broken()) == "<unrepresentable _Broken>"
    assert coerce_value([_Broken()]) == ["<unrepresentable _Broken>"]
    assert "unrepresentable" in str(coerce_value({"k": _Broken()}))


def test_other_objects_use_their_sanitized_str() -> None:
    """Arbitrary objects are rendered with str() and sanitized."""

    class Thing:
        def __str__(self) -> str:
            return "thing\nforged"

    assert coerce_value(Thing()) == "thing\\nforged"
