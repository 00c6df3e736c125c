"""Replacement callbacks of the value detectors: checksums, scheme-keeping, key-bound rules.

Each takes a regex match and returns the replacement text, or None to keep the
match (a number that fails its checksum, prose that only looks like a secret).
Every replacement is idempotent: scrubbing scrubbed text changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from urllib.parse import unquote_plus

__all__ = ["REDACTED", "Replace"]

REDACTED: str = "[REDACTED]"
Replace = Callable[[re.Match[str]], str | None]
IsSensitive = Callable[[str], bool]


def keep_prefix(match: re.Match[str]) -> str:
    """Keep "Bearer ", "aws_secret_access_key=" etc.: the reader learns what was there."""
    return match.group("keep") + REDACTED


def keep_prefix_if_digit(match: re.Match[str]) -> str | None:
    """ "Token <x>" only when x has a digit: "Token expired" is prose."""
    secret = match.group()[len(match.group("keep")) :]
    return keep_prefix(match) if any(c.isdigit() for c in secret) else None


def basic_credentials(match: re.Match[str]) -> str | None:
    """ "Basic <base64 of user:password>"; prose such as "basic setup" does not decode to that."""
    payload = match.group("cred")
    try:
        decoded = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return match.group("keep") + REDACTED if b":" in decoded else None


_PORT_THEN_PATH = re.compile(r"[0-9]{1,5}(?:[/?#].*)?", re.DOTALL)


def url_credentials(match: re.Match[str]) -> str | None:
    """ "scheme://user:password@host" -> "scheme://[REDACTED]@host", nested URLs too.

    The password may hold '@', ':' or '/' (unencoded, as people write them): the
    userinfo ends at the last '@' before any '/', '?' or '#', or else at the first
    '@' after a plausible "user:password" (not "host:8080/path?mail=a@b"). A URL
    inside this one ("?next=https://u:p@evil/") is looked at as well.
    """
    rest = match.group("rest")
    if "@" not in rest or rest.startswith(REDACTED):
        return None
    pieces: list[str] = []
    position = start = 0
    for _ in range(_NESTED_URLS):
        at = _userinfo_end(rest, start)
        if at is not None:
            pieces += [rest[position:start], REDACTED]
            position = at
        following = rest.find("//", max(start, position))
        if following < 0:
            break
        start = following + 2
    if not pieces:
        return None
    return match.group("keep") + "".join(pieces) + rest[position:]


_NESTED_URLS = 16  # URLs looked at inside one (a redirect of a redirect ...), at most
_USERINFO_MAX = 512


def _userinfo_end(text: str, start: int) -> int | None:
    """Where the userinfo starting at `start` ends (its '@'), or None when there is none."""
    window = text[start : start + _USERINFO_MAX]
    if window.startswith(REDACTED):
        return None
    ats = [i for i, c in enumerate(window) if c == "@"]
    chosen = None
    for at in ats:
        if any(c in window[:at] for c in "/?#"):
            break
        chosen = at
    if chosen is None:
        for at in ats:
            user, colon, password = window[:at].partition(":")
            if (
                colon
                and user
                and not any(c in user for c in "/?#")
                and not _PORT_THEN_PATH.fullmatch(password)
            ):
                chosen = at
                break
    if chosen is None:
        return None
    user, colon, _ = window[:chosen].partition(":")
    if not colon and not (len(user) >= 16 and any(c.isdigit() for c in user)):
        return None  # "ssh://git@host": a user name alone is no secret; a long token is
    return start + chosen


_DOUBLED = {str(d): (2 * d - 9 if d > 4 else 2 * d) for d in range(10)}


def luhn_ok(digits: str) -> bool:
    total = sum(map(int, digits[-1::-2])) + sum(_DOUBLED[c] for c in digits[-2::-2])
    return total % 10 == 0


_CARD_GROUP_MIN = 3  # groups shorter than this are not part of a printed card number
_CARD_FIRST_DIGITS = frozenset("23456789")  # 0/1 lead: zero-padded ids, Unix timestamps
_DIGIT_RUN = re.compile(r"[0-9]+")


def card_numbers(match: re.Match[str]) -> str | None:
    """Luhn-valid 13-19 digit windows of whole digit groups inside a run of groups."""
    # A card may be any run of whole groups inside the match ("qty 2 4111 1111 1111 1111").
    text = match.group()
    groups = [(m.start(), m.end()) for m in _DIGIT_RUN.finditer(text)]
    pieces: list[str] = []
    position = 0
    i = 0
    while i < len(groups):
        found = None
        digits = ""
        for j in range(i, len(groups)):
            start, end = groups[j]
            if end - start < _CARD_GROUP_MIN:
                break
            digits += text[start:end]
            if len(digits) > 19:
                break
            if (
                len(digits) >= 13
                and digits[0] in _CARD_FIRST_DIGITS
                and luhn_ok(digits)
                and _card_separators_ok(text[groups[i][0] : end], j - i)
            ):
                found = j  # keep looking: prefer the longest card from this start
        if found is None:
            i += 1
            continue
        pieces.append(text[position : groups[i][0]])
        pieces.append(REDACTED)
        position = groups[found][1]
        i = found + 1
    if not pieces:
        return None
    pieces.append(text[position:])
    return "".join(pieces)


def _card_separators_ok(candidate: str, separators: int) -> bool:
    # Dots and slashes also separate decimals and dates: only a card's several
    # identical separators count ("4111.1111.1111.1111", not "5234.123456789").
    marks = {c for c in candidate if not c.isdigit()}
    if not marks & {".", "/"}:
        return True
    return separators >= 2 and len(marks) == 1


def iban(match: re.Match[str]) -> str | None:
    """The longest prefix of the match that is an IBAN (ISO 13616 mod-97 check)."""
    text = match.group()
    positions = [i for i, c in enumerate(text) if c != " "]  # where each compact char sits
    compact = text.replace(" ", "")
    for length in range(min(len(compact), 34), 14, -1):
        if _mod97(compact[:length]) == 1:
            return REDACTED + text[positions[length - 1] + 1 :]
    return None


def _mod97(compact: str) -> int:
    rearranged = compact[4:] + compact[:4]
    try:
        return int("".join(str(int(c, 36)) for c in rearranged)) % 97
    except ValueError:
        return 0


def us_ssn(match: re.Match[str]) -> str | None:
    """A US SSN in an issued range: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    text = match.group()
    area, group, serial = text[:3], text[4:6], text[7:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return None
    return REDACTED


def br_cpf(match: re.Match[str]) -> str | None:
    """A Brazilian CPF whose two check digits are right."""
    digits = [int(c) for c in match.group() if c.isdigit()]
    if len(set(digits)) == 1:
        return None
    for n in (9, 10):
        check = sum(d * w for d, w in zip(digits[:n], range(n + 1, 1, -1), strict=True)) * 10
        if check % 11 % 10 != digits[n]:
            return None
    return REDACTED


def query_secret(is_sensitive: IsSensitive) -> Replace:
    """ "?token=abc&page=2" -> "?token=[REDACTED]&page=2" (names are percent-decoded)."""

    def replace(match: re.Match[str]) -> str | None:
        value = match.group("val")
        if not value or value.startswith(REDACTED):  # empty, or already redacted
            return None
        if not is_sensitive(unquote_plus(match.group("key"))):
            return None
        return match.group("key") + "=" + REDACTED

    return replace


def key_value(is_sensitive: IsSensitive) -> Replace:
    """Under a sensitive key: "password=x", "api_key: x", '"secret": "x"', escaped JSON."""

    def replace(match: re.Match[str]) -> str | None:
        value = match.group("val")
        # Text after an earlier "[REDACTED]" is escape debris ("\\n"), not a new secret.
        if value.lstrip("\\\"'").startswith(REDACTED):
            return None
        start = match.start("val") - match.start()
        if not is_sensitive(match.group("key")):
            # "query=password=S": the redactor searches the value again for pairs of its own.
            return None
        body = value.lstrip("\\")
        quote = value[: len(value) - len(body) + 1] if body[:1] in ("'", '"') else ""
        if len(value) <= 2 * len(quote):  # an empty quoted value hides nothing
            return None
        closing = quote if value.endswith(quote) and len(value) > len(quote) else ""
        return match.group()[:start] + quote + REDACTED + closing

    return replace


def named_value(is_sensitive: IsSensitive) -> Replace:
    """XML elements and (name, value) pair reprs: the value goes when the name is sensitive."""

    def replace(match: re.Match[str]) -> str | None:
        name = match.group("key").rpartition(":")[2]
        value = match.group("val")
        if not value or value.startswith(REDACTED) or not is_sensitive(name):
            return None
        return (
            match.group()[: match.start("val") - match.start()]
            + REDACTED
            + match.group()[match.end("val") - match.start() :]
        )

    return replace


def always_value(match: re.Match[str]) -> str | None:
    """The "val" group goes whatever it is (database error details, echoed header values)."""
    value = match.group("val")
    if not value.strip("'\"()[]{} b") or value.strip("'\"()[]{} b").startswith(REDACTED):
        return None
    return (
        match.group()[: match.start("val") - match.start()]
        + REDACTED
        + match.group()[match.end("val") - match.start() :]
    )


def to_last_bracket(match: re.Match[str]) -> str | None:
    """The "val" group goes up to its last closing bracket (all of it when there is none)."""
    value = match.group("val")
    end = max(value.rfind(")"), value.rfind("]"), value.rfind("}"))
    secret = value[:end] if end >= 0 else value
    if not secret.strip("'\" ") or secret.lstrip("'\" ").startswith(REDACTED):
        return None
    keep = match.group()[: match.start("val") - match.start()]
    return keep + REDACTED + value[len(secret) :]


def all_values(match: re.Match[str]) -> str | None:
    """Every named group but "q" goes: a value echoed twice in one message."""
    spans = sorted(
        match.span(name)
        for name, value in match.groupdict().items()
        if name != "q" and value and not value.startswith(REDACTED)
    )
    if not spans:
        return None
    text, base, pieces, position = match.group(), match.start(), [], 0
    for start, end in spans:
        pieces += [text[position : start - base], REDACTED]
        position = end - base
    return "".join(pieces) + text[position:]


_PROSE_PUNCTUATION = ".,;:!?()\"'"
# Words that follow "password is ..." in messages about a password, not in leaks of one.
_PROSE_TEXT = """a an the my your his her their our its this that no not now still also
    already never always only too very being be been required missing incorrect invalid
    wrong expired empty blank correct valid weak strong set reset changed updated ok okay
    fine needed mandatory short long compromised locked disabled enabled unknown bad good
    same different null none nil undefined accepted rejected revoked used reused present
    absent verified unverified stored hashed encrypted saved sent known public private
    generated created deleted removed provided specified given configured mismatched
    identical expiring rotated stale malformed truncated case in on at of for to and or with
    without from by as if when about"""
_PROSE_WORDS = frozenset(_PROSE_TEXT.split())


def password_phrase(match: re.Match[str]) -> str | None:
    """ "password hunter2", "my password is swordfish" go; "password changed." stays."""
    word = match.group("val")
    core = word.strip(_PROSE_PUNCTUATION)
    if not core or core.startswith(REDACTED):
        return None
    if not any(c.isalnum() for c in core):
        return None
    if match.group("verb"):
        if core.lower() in _PROSE_WORDS:
            return None
    elif core.isalpha() or not match.group("keep").lower().startswith(("pass", "pwd")):
        return None  # "password swordfish" is prose; "token 5 of 10" too
    trailing = word[len(word.rstrip(_PROSE_PUNCTUATION)) :]
    return match.group("keep") + REDACTED + trailing
