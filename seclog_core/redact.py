"""The redactor: key rules, value detectors, pseudonymization and safe text.

Every attribute and body seclog emits passes through a `Redactor` before it
leaves the process. Values under sensitive names (`DEFAULT_SENSITIVE_KEYS`, in
:mod:`seclog_core.secret_keys`) are replaced whole; secrets recognised by shape
(`DEFAULT_PATTERNS`, in :mod:`seclog_core.secret_patterns`) are cut out of free
text, also one encoding away (percent-encoded, JSON- or HTML-escaped); what
remains is made injection-safe and coerced to an attribute value. Redaction
always runs before any length cap, so a cap never cuts a secret in two halves
that no detector recognises.

What free text detection can and cannot catch is in docs/redaction.md: a
secret with no recognisable shape under an innocent name ("note: swordfish")
survives; log it as a structured attribute under a sensitive name instead.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from ._internal import report_failure
from ._secret_checks import REDACTED
from ._secret_scan import (
    DECODE_LAYERS,
    NO_DIGITS,
    TRIGGERS,
    decode_once,
    is_pair,
    looks_encoded,
    pairs_of,
    triggered,
    triggers_in,
)
from ._text import (
    DEFAULT_MAX_LENGTH,
    MAX_SEQUENCE_ITEMS,
    AttributeValue,
    _sanitize,
    coerce_value,
    safe_str,
    sanitize_text,
)
from .field_policy import FIELD_POLICIES, FieldPolicy, expand_policies, policy_errors
from .secret_keys import DEFAULT_SAFE_KEYS, DEFAULT_SENSITIVE_KEYS, KeyRules
from .secret_patterns import DEFAULT_PATTERNS, KEY_ANCHORS, ValuePattern, bind_patterns
from .url_scrubbing import redact_route_params

__all__ = [
    "DEFAULT_PATTERNS",
    "DEFAULT_SAFE_KEYS",
    "DEFAULT_SENSITIVE_KEYS",
    "FIELD_POLICIES",
    "REDACTED",
    "FieldPolicy",
    "RedactionMatch",
    "Redactor",
    "ValuePattern",
    "default_redactor",
    "policy_errors",
]


@dataclass(frozen=True)
class RedactionMatch:
    """What a veto callback sees: the attribute name (if any), the rule and the text."""

    key: str | None
    rule: str
    value: str


_UNNAMED_ATTRIBUTE = "security.unnamed_attribute"
# (key, value) pairs known to come out unchanged are remembered up to this many,
# for values up to this long: repeated request facts (method, route, user agent)
# then cost one lookup. Only unchanged pairs are kept, so no secret is held.
_CLEAN_CACHE_SIZE = 4096
_CLEAN_CACHE_MAX_LEN = 512
# Free text is scanned up to this many times max_length characters (plus a margin):
# enough for any secret that starts before the cap to be seen whole.
_SCAN_FACTOR = 2
# When text was cut before scanning, this many trailing characters are dropped
# too, so a secret split by the cut cannot show its first half.
_CUT_GUARD = 256
# A bare IP address (every request's client and peer) holds no default detector's
# shape (at most 12 digits, hex groups of at most 4): it skips the scan. Custom
# patterns still see it.
_PLAIN_ADDRESS = re.compile(
    r"\d{1,3}(?:\.\d{1,3}){3}|(?=[0-9A-Fa-f:.]*:)[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){1,7}"
    r"(?::\d{1,3}(?:\.\d{1,3}){3})?"
)
_PLAIN_ADDRESS_MAX = 45


class Redactor:
    """Scrubs attribute maps, single values and free text; never raises while scrubbing.

    `extra_keys` extend `DEFAULT_SENSITIVE_KEYS`; `safe_keys` extend
    `DEFAULT_SAFE_KEYS`; `extra_patterns` run after `DEFAULT_PATTERNS` (a str
    is compiled as a regex named "custom"). `veto` sees each would-be redaction
    and returns True to keep the original; a veto that raises means redact.
    `field_policies` map exact attribute names to "omit" (drop it),
    "pseudonymize" (HMAC it with `pseudonymize_key`) or "identify" (keep it
    even under a sensitive name; value detectors still run).
    """

    def __init__(
        self,
        *,
        extra_keys: Iterable[str] = (),
        extra_patterns: Iterable[ValuePattern | str] = (),
        veto: Callable[[RedactionMatch], bool] | None = None,
        pseudonymize_key: bytes | None = None,
        field_policies: Mapping[str, FieldPolicy] | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
        safe_keys: Iterable[str] = (),
    ) -> None:
        if isinstance(extra_keys, str) or isinstance(safe_keys, str):
            raise TypeError("extra_keys and safe_keys take a list of names, not one str")
        self._keys = KeyRules(
            (*DEFAULT_SENSITIVE_KEYS, *extra_keys), (*DEFAULT_SAFE_KEYS, *safe_keys)
        )
        self._patterns = bind_patterns(self._keys)
        self._bound = frozenset(p.name for p in self._patterns)
        # Which detectors each trigger substring enables (by index, to keep their order).
        self._always = frozenset(i for i, p in enumerate(self._patterns) if not p.trigger)
        self._by_trigger: dict[str, frozenset[int]] = {
            t: frozenset(i for i, p in enumerate(self._patterns) if t in p.trigger)
            for t in TRIGGERS
        }
        self._custom = tuple(
            p if isinstance(p, ValuePattern) else ValuePattern("custom", re.compile(p))
            for p in extra_patterns
        )
        self._veto = veto
        if pseudonymize_key is not None and (
            not isinstance(pseudonymize_key, bytes) or len(pseudonymize_key) < 16
        ):
            raise ValueError(
                "pseudonymize_key must be bytes of at least 16 (ideally 32) random bytes"
            )
        self._pseudonymize_key = pseudonymize_key
        problem = policy_errors(field_policies or {}, pseudonymize_key is not None)
        if problem is not None:
            raise ValueError(problem)
        self._policies = expand_policies(field_policies or {})
        if max_length < 1:
            raise ValueError(
                f"max_length must be a positive number of characters, not {max_length}"
            )
        self.max_length = max_length
        self._clean: set[tuple[str, str]] = set()
        self._names: dict[str, str] = {}
        # Memoizing is only sound when a pair's result depends on nothing but the pair.
        self._memoize = veto is None

    # --- public API ----------------------------------------------------------------

    def is_sensitive_key(self, key: str) -> bool:
        """Return True when values under `key` are always redacted."""
        return self._keys(key)

    def scrub_text(self, text: str) -> str:
        """Cut detected secrets out of free text and make it injection-safe and capped."""
        try:
            if not isinstance(text, str):
                text = safe_str(text)
            return self._scrub_str(text, None)
        except Exception as exc:
            report_failure("redact.text", exc)
            return REDACTED

    def scrub_secrets(self, text: str) -> str:
        """Cut detected secrets out of multi-line text (a traceback) without escaping or capping.

        The caller is responsible for making the result injection-safe.
        """
        try:
            return self._detect(text, None, limit=None)[0]
        except Exception as exc:
            report_failure("redact.text", exc)
            return REDACTED

    def redact_value(self, key: str | None, value: object) -> AttributeValue:
        """Redact one value found under `key` (None for a body); coerce it to an attribute value."""
        try:
            if key is not None and self._key_hit(key, value):
                return REDACTED
            return coerce_value(self._scrub_tree(key, value, 0), self.max_length)
        except Exception as exc:
            report_failure("redact.value", exc)
            return REDACTED

    def redact_attributes(self, attributes: Mapping[str, object]) -> dict[str, AttributeValue]:
        """Apply field policies, key rules, value detectors and coercion to every attribute.

        Attribute names are scrubbed and sanitized as well. A value that fails to
        process becomes `REDACTED`; a mapping that cannot even be iterated gives {}.
        ``url.path`` loses the segments that ``http.route`` names as a secret
        parameter (``/reset/<token>``).
        """
        out: dict[str, AttributeValue] = {}
        try:
            items = list(attributes.items())
        except Exception as exc:
            report_failure("redact.attributes", exc)
            return out
        clean = self._clean if self._memoize else None
        route = attributes.get("http.route") if isinstance(attributes, Mapping) else None
        for raw_key, value in items:
            if clean is not None and type(value) is str and (raw_key, value) in clean:
                out[raw_key] = value  # this exact pair came out unchanged before
                continue
            try:
                key = self._attribute_name(raw_key)
                policy = self._policies.get(key)
                if policy == "omit":
                    continue
                if raw_key == "url.path" and isinstance(route, str) and isinstance(value, str):
                    value = redact_route_params(value, route, self._keys)
                if policy == "pseudonymize":
                    text = _identity_text(value)
                    out[key] = self.pseudonymize(text) if text else ""
                elif policy == "identify":
                    out[key] = coerce_value(self._scrub_tree(key, value, 0), self.max_length)
                elif self._keys(safe_str(raw_key)) and self._key_hit(key, value, check=False):
                    out[key] = REDACTED
                else:
                    out[key] = result = self.redact_value(key, value)
                    if (
                        clean is not None
                        and result is value
                        and key is raw_key
                        and type(value) is str
                        and len(value) <= _CLEAN_CACHE_MAX_LEN
                    ):
                        if len(clean) >= _CLEAN_CACHE_SIZE:
                            clean.clear()  # attacker-chosen values must not grow memory
                        clean.add((key, value))
            except Exception as exc:
                report_failure("redact.attribute", exc)
                out[self._fallback_name(raw_key)] = REDACTED
        return out

    def pseudonymize(self, value: str) -> str:
        """Return "pseu:" and 32 hex digits of HMAC-SHA256(key, value): stable, not reversible."""
        if self._pseudonymize_key is None:
            raise ValueError(
                "pseudonymization needs a key: Redactor(pseudonymize_key=<32 random bytes>)"
            )
        digest = hmac.new(
            self._pseudonymize_key, value.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).digest()
        return "pseu:" + digest[:16].hex()

    # --- internals -----------------------------------------------------------------

    def _attribute_name(self, raw_key: object) -> str:
        # OpenTelemetry drops (and warns about) an empty name: keep the value under a
        # name of ours instead of losing it. A name can carry a secret too.
        if type(raw_key) is str:
            known = self._names.get(raw_key)
            if known is not None:
                return known
        name = safe_str(raw_key)
        if len(name) <= 256 and not triggered(name.lower()):
            clean = sanitize_text(name, 256) or _UNNAMED_ATTRIBUTE
        else:
            clean = sanitize_text(self._detect(name, None)[0], 256) or _UNNAMED_ATTRIBUTE
        if type(raw_key) is str and len(raw_key) <= _CLEAN_CACHE_MAX_LEN:
            if len(self._names) >= _CLEAN_CACHE_SIZE:
                self._names.clear()  # attacker-chosen names must not grow memory
            self._names[raw_key] = clean  # the scrubbed name: no secret is kept
        return clean

    def _fallback_name(self, raw_key: object) -> str:
        try:
            return self._attribute_name(raw_key)
        except Exception:
            return _UNNAMED_ATTRIBUTE

    def _key_hit(self, key: str, value: object, check: bool = True) -> bool:
        if check and not self._keys(key):
            return False
        if self._veto is None:
            return True
        return not self._vetoed(RedactionMatch(key, "sensitive_key", safe_str(value)))

    def _vetoed(self, match: RedactionMatch) -> bool:
        try:
            return self._veto is not None and self._veto(match) is True
        except Exception:
            return False  # a broken veto must not leak: redact

    def _scrub_tree(self, key: str | None, value: object, depth: int) -> object:
        """Scrub strings inside `value`, redacting nested values under sensitive keys."""
        if isinstance(value, str):
            return self._detect(value, key)[0]
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            raw = bytes(value[: _SCAN_FACTOR * self.max_length + _CUT_GUARD])
            return self._detect(raw.decode("utf-8", errors="replace"), key)[0]
        if depth > 6:
            return "..."
        if isinstance(value, Mapping):
            return self._scrub_pairs(value.items(), depth)
        if isinstance(value, (list, tuple, set, frozenset)):
            items = sorted(value, key=safe_str) if isinstance(value, (set, frozenset)) else value
            items = list(items[:MAX_SEQUENCE_ITEMS])
            if items and all(is_pair(item) for item in items):
                # [("Authorization", "Bearer x"), ("X-Api-Key", "k")]: a header list.
                return [list(pair) for pair in self._scrub_pairs(items, depth).items()]
            return [self._scrub_tree(key, v, depth + 1) for v in items]
        pairs = pairs_of(value)
        if pairs is not None:  # header objects: werkzeug Headers, email.message.Message
            return self._scrub_pairs(pairs, depth)
        return self._detect(safe_str(value), key)[0]

    def _scrub_pairs(self, pairs: Iterable[object], depth: int) -> dict[str, object]:
        scrubbed: dict[str, object] = {}
        for index, pair in enumerate(pairs):
            if index >= MAX_SEQUENCE_ITEMS:
                break
            k, v = cast("tuple[object, object]", pair)  # pairs: checked by the caller
            raw_name = safe_str(k)
            name = self._detect(raw_name, None)[0] if triggered(raw_name.lower()) else raw_name
            hit = self._key_hit(raw_name, v)
            item = REDACTED if hit else self._scrub_tree(raw_name, v, depth + 1)
            if name in scrubbed:  # repeated header: keep every value
                previous = scrubbed[name]
                item = [*(previous if isinstance(previous, list) else [previous]), item]
            scrubbed[name] = item
        return scrubbed

    def _scrub_str(self, text: str, key: str | None) -> str:
        scrubbed, dropped = self._detect(text, key)
        return _sanitize(scrubbed, self.max_length, dropped)

    def _detect(self, text: str, key: str | None, limit: int | None = -1) -> tuple[str, int]:
        """Run the value detectors; return the text and how many characters were cut off.

        Text longer than `limit` (default: a few times max_length; None: no limit)
        is cut first, which bounds the work on huge inputs; the cut is scanned
        before anything is dropped, and the token it ends in is dropped whole.
        """
        if (
            len(text) <= _PLAIN_ADDRESS_MAX
            and not self._custom
            and _PLAIN_ADDRESS.fullmatch(text) is not None
        ):
            return text, 0
        dropped = 0
        if limit == -1:
            limit = _SCAN_FACTOR * self.max_length + _CUT_GUARD
        if limit is not None and len(text) > limit:
            dropped = len(text) - limit
            text = text[:limit]
        text = self._run_patterns(text, key)
        if looks_encoded(text):
            # One encoding away: when the decoded text holds a secret, the decoded,
            # scrubbed text is what leaves (a representation change, never a leak).
            current = text
            for _ in range(DECODE_LAYERS):
                decoded = decode_once(current)
                if decoded == current:
                    break
                current = self._run_patterns(decoded, key)
                if current != decoded:
                    text = current
        if dropped:
            dropped += _CUT_GUARD
            text = text[:-_CUT_GUARD]
        return text, dropped

    def _run_patterns(self, text: str, key: str | None) -> str:
        hits = triggers_in(text.lower())
        if hits:
            digits = len(text) - len(text.translate(NO_DIGITS))
            enabled = self._always.union(*(self._by_trigger[t] for t in hits))
            for index in sorted(enabled):
                pattern = self._patterns[index]
                if digits < pattern.min_digits:
                    continue
                text = self._apply(pattern, text, key)
        for pattern in self._custom:
            text = self._apply(pattern, text, key)
        return text

    def _apply(self, pattern: ValuePattern, text: str, key: str | None) -> str:
        anchor = KEY_ANCHORS.get(pattern.name) if pattern.name in self._bound else None
        if anchor is not None:
            return self._apply_at_keys(pattern, anchor, text, key)

        def substitute(match: re.Match[str]) -> str:
            return self._replacement(pattern, match, key)

        return pattern.regex.sub(substitute, text)

    def _apply_at_keys(
        self, pattern: ValuePattern, anchor: re.Pattern[str], text: str, key: str | None
    ) -> str:
        """Match `pattern` only where `anchor` finds a sensitive name, each name once.

        A pair under a harmless name never swallows the text after it ("said:
        password: x" still finds "password: x"), and crafted runs of pairs
        ("a=a=a=...") cost one cheap scan instead of a value match per pair.
        """
        pieces: list[str] = []
        position = 0
        for found in anchor.finditer(text):
            if found.start() < position or not self._keys(found.group("key")):
                continue
            match = pattern.regex.match(text, found.start())
            if match is None:
                continue
            replacement = self._replacement(pattern, match, key)
            if replacement != match.group():
                pieces += [text[position : match.start()], replacement]
                position = match.end()
        if not pieces:
            return text
        pieces.append(text[position:])
        return "".join(pieces)

    def _replacement(self, pattern: ValuePattern, match: re.Match[str], key: str | None) -> str:
        original = match.group()
        replacement = REDACTED if pattern.replace is None else pattern.replace(match)
        if replacement is None or replacement == original:
            return original
        if self._veto is not None and self._vetoed(RedactionMatch(key, pattern.name, original)):
            return original
        return replacement


@lru_cache(maxsize=1)
def default_redactor() -> Redactor:
    """A redactor with the default rules, for text seclog prints outside events."""
    return Redactor()


def _identity_text(value: object) -> str:
    """The text a pseudonym is computed from: the raw string, not its sanitized form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return safe_str(coerce_value(value))
