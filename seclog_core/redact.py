"""The redactor: key rules, value detectors, pseudonymization and safe text.

Every attribute and body seclog emits passes through a `Redactor` before it
leaves the process. Values under sensitive names (`DEFAULT_SENSITIVE_KEYS`) are
replaced whole; secrets recognised by shape (`DEFAULT_PATTERNS`) are cut out of
free text; what remains is made injection-safe and coerced to an attribute value.

What free text detection can and cannot catch: ``key=value``, ``key: value`` and
JSON-style ``"key": "value"`` pairs under a sensitive key; ``password hunter2``
(a password word, a space, then a word containing a digit or symbol); and the
shapes in `DEFAULT_PATTERNS`. A password made only of letters and written after a
space (``password swordfish``) cannot be told apart from prose and survives:
log it as a structured attribute instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote_plus

from seclog_core._text import (
    DEFAULT_MAX_LENGTH,
    MAX_SEQUENCE_ITEMS,
    AttributeValue,
    _sanitize,
    coerce_value,
    safe_str,
    sanitize_text,
)

__all__ = [
    "DEFAULT_PATTERNS",
    "DEFAULT_SAFE_KEYS",
    "DEFAULT_SENSITIVE_KEYS",
    "REDACTED",
    "FieldPolicy",
    "RedactionMatch",
    "Redactor",
    "ValuePattern",
]

REDACTED: str = "[REDACTED]"

#: Attribute and field names whose values are always redacted. Names are
#: compared after lowercasing and removing "-", "_", "." and " ". Entries of
#: five or more characters match anywhere in a name ("user_password",
#: "http.request.header.authorization"); shorter ones ("cc", "pan", "pin",
#: "auth", "card", ...) match only a whole segment between separators or
#: camelCase humps, so "span", "company", "author" and "cardinality" stay.
DEFAULT_SENSITIVE_KEYS: tuple[str, ...] = (
    # credentials
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "credential",
    "authorization",
    "auth",
    "jwt",
    "otp",
    "totp",
    "mfa_code",
    "pin",
    # sessions and anti-forgery tokens
    "cookie",
    "set-cookie",
    "session",
    "sessionid",
    "csrf",
    "xsrf",
    # payment cards
    "card",
    "card_number",
    "cc",
    "credit_card",
    "pan",
    "cvv",
    "cvv2",
    "cvc",
    "cvc2",
    "csc",
    # national identifiers
    "ssn",
)

#: Names that contain a sensitive word but are known not to carry secrets:
#: OpenTelemetry semantic-convention names for token *counts*. Exact names,
#: compared in the same normalized form as `DEFAULT_SENSITIVE_KEYS`.
DEFAULT_SAFE_KEYS: tuple[str, ...] = (
    "gen_ai.request.max_tokens",
    "gen_ai.token.type",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    # seclog's own: how a user authenticated ("password", "remember_cookie"), never a secret.
    "security.auth_method",
)

# Entries this short match whole segments only (see DEFAULT_SENSITIVE_KEYS).
_SEGMENT_ONLY_MAX_LEN = 4
_KEY_SEPARATORS = re.compile(r"[-_. ]+")
_SEGMENT_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_KEY_CACHE_SIZE = 4096

FieldPolicy = Literal["identify", "pseudonymize", "omit"]
_POLICIES: frozenset[str] = frozenset({"identify", "pseudonymize", "omit"})


def _normalize_key(key: str) -> str:
    return _KEY_SEPARATORS.sub("", key.lower())


class _KeyRules:
    """Decides whether a name is sensitive; answers are cached up to a bounded size."""

    __slots__ = ("_cache", "_safe", "_segments", "_substrings", "words")

    def __init__(self, keys: Iterable[str], safe: Iterable[str]) -> None:
        self.words = tuple(dict.fromkeys(k for k in keys if _normalize_key(k)))
        normalized = {_normalize_key(k) for k in self.words}
        self._substrings = tuple(sorted(w for w in normalized if len(w) > _SEGMENT_ONLY_MAX_LEN))
        self._segments = frozenset(w for w in normalized if len(w) <= _SEGMENT_ONLY_MAX_LEN)
        self._safe = frozenset(_normalize_key(k) for k in safe)
        self._cache: dict[str, bool] = {}

    def __call__(self, key: str) -> bool:
        hit = self._cache.get(key)
        if hit is None:
            hit = self._decide(key)
            if len(self._cache) >= _KEY_CACHE_SIZE:
                self._cache.clear()  # attacker-chosen names must not grow memory
            self._cache[key] = hit
        return hit

    def _decide(self, key: str) -> bool:
        normalized = _normalize_key(key)
        if normalized in self._safe:
            return False
        if any(word in normalized for word in self._substrings):
            return True
        # Segments both with and without camelCase splitting: "ccNumber" and "cC".
        segments = {
            *_SEGMENT_SPLIT.split(key.lower()),
            *_SEGMENT_SPLIT.split(_CAMEL_HUMP.sub("_", key).lower()),
        }
        return not self._segments.isdisjoint(segments)


_DEFAULT_KEY_RULES = _KeyRules(DEFAULT_SENSITIVE_KEYS, DEFAULT_SAFE_KEYS)


@dataclass(frozen=True)
class ValuePattern:
    """A value detector: text matching `regex` is replaced.

    `replace` gets the match and returns the replacement text, or None to keep
    the match (for example when a card number fails the Luhn check); without
    it the whole match becomes `REDACTED`. Replacements must be idempotent:
    scrubbing already scrubbed text must not change it.
    """

    name: str
    regex: re.Pattern[str]
    replace: Callable[[re.Match[str]], str | None] | None = None


@dataclass(frozen=True)
class RedactionMatch:
    """What a veto callback sees: the attribute name (if any), the rule and the text."""

    key: str | None
    rule: str
    value: str


# --- replacement callbacks for the default detectors ---------------------------------


def _keep_prefix(match: re.Match[str]) -> str:
    # Keep "Bearer ", "aws_secret_access_key=" etc.: the reader learns what was there.
    return match.group("keep") + REDACTED


def _basic_credentials(match: re.Match[str]) -> str | None:
    # "Basic <base64 of user:password>"; prose such as "basic setup" does not decode to that.
    payload = match.group("cred")
    try:
        decoded = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return match.group("keep") + REDACTED if b":" in decoded else None


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


_CARD_GROUP_MIN = 3  # groups shorter than this are not part of a printed card number
_CARD_FIRST_DIGITS = frozenset("23456789")  # 0/1 lead: zero-padded ids, Unix timestamps


def _card_numbers(match: re.Match[str]) -> str | None:
    # The match is a maximal run of digit groups; a card may be any run of whole
    # groups inside it ("qty 2 4111 1111 1111 1111"), so try each window of groups.
    text = match.group()
    groups = [(m.start(), m.end()) for m in re.finditer(r"[0-9]+", text)]
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
            if len(digits) >= 13 and digits[0] in _CARD_FIRST_DIGITS and _luhn_ok(digits):
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


def _query_secret(is_sensitive: Callable[[str], bool]) -> Callable[[re.Match[str]], str | None]:
    def replace(match: re.Match[str]) -> str | None:
        value = match.group("val")
        if not value or value.startswith(REDACTED):  # empty, or already redacted
            return None
        if not is_sensitive(unquote_plus(match.group("key"))):
            return None
        return match.group("key") + "=" + REDACTED

    return replace


def _key_value(is_sensitive: Callable[[str], bool]) -> Callable[[re.Match[str]], str | None]:
    def replace(match: re.Match[str]) -> str | None:
        value = match.group("val")
        # Text after an earlier "[REDACTED]" is escape debris ("\\n"), not a new secret.
        if value.lstrip("\"'").startswith(REDACTED):
            return None
        if not is_sensitive(match.group("key")):
            # "query=password=S": the value holds a pair of its own; scan it too, or the
            # outer match would swallow the inner secret unchecked.
            if "=" not in value and ":" not in value:
                return None
            inner = _KEY_VALUE_REGEX.sub(lambda m: replace(m) or m.group(), value)
            if inner == value:
                return None
            return match.group()[: match.start("val") - match.start()] + inner
        quote = value[0] if value[0] in "\"'" else ""
        if len(value) == 2 * len(quote):  # an empty quoted value hides nothing
            return None
        start = match.start("val") - match.start()
        return match.group()[:start] + quote + REDACTED + quote

    return replace


_PROSE_PUNCTUATION = ".,;:!?()\"'"
_UNNAMED_ATTRIBUTE = "security.unnamed_attribute"


def _password_phrase(match: re.Match[str]) -> str | None:
    # "password hunter2" is redacted, "password changed." is prose and kept.
    word = match.group("val")
    core = word.strip(_PROSE_PUNCTUATION)
    if not core or core.startswith(REDACTED) or core.isalpha():
        return None
    trailing = word[len(word.rstrip(_PROSE_PUNCTUATION)) :]
    return match.group("keep") + REDACTED + trailing


_B64URL = "[A-Za-z0-9_-]"
_QUERY_REGEX = re.compile(r"(?<=[?&])(?P<key>[^=&#\s]{1,128})=(?P<val>[^&#\s]*)")
_KEY_VALUE_REGEX = re.compile(
    r"(?<![\w.\-])(?P<q>[\"']?)(?P<key>[\w.\-]{1,64})(?P=q)\s*[:=]\s*"
    r"(?P<scheme>(?i:bearer|basic|token|digest|negotiate|ntlm)\s+)?"
    r"(?P<val>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s&\"']+)"
)

#: The value detectors, applied in this order to every string. Each name is
#: what a veto callback sees as `RedactionMatch.rule`.
DEFAULT_PATTERNS: tuple[ValuePattern, ...] = (
    # PEM/OpenSSH/PGP private key blocks, to the END line or the end of the text.
    ValuePattern(
        "private_key",
        re.compile(
            r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"(?:-----END[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----|\Z)"
        ),
    ),
    # JSON Web Tokens (and JWE): base64url segments, the header starting "eyJ".
    ValuePattern(
        "jwt",
        re.compile(rf"(?<!{_B64URL})eyJ{_B64URL}{{4,}}\.{_B64URL}{{4,}}(?:\.{_B64URL}*){{1,3}}"),
    ),
    # "Bearer <token>": the scheme is kept.
    ValuePattern(
        "bearer",
        re.compile(r"(?P<keep>(?<![A-Za-z0-9])(?i:bearer)\s+)[A-Za-z0-9\-._~+/]{6,}=*"),
        _keep_prefix,
    ),
    # "Basic <base64(user:password)>": the scheme is kept.
    ValuePattern(
        "basic_auth",
        re.compile(r"(?P<keep>(?<![A-Za-z0-9])(?i:basic)\s+)(?P<cred>[A-Za-z0-9+/]{4,}={0,2})"),
        _basic_credentials,
    ),
    # "scheme://user:password@host" -> "scheme://[REDACTED]@host".
    ValuePattern(
        "url_credentials",
        re.compile(
            r"(?P<keep>(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9+.\-]{0,30}://)[^\s/?#@:\[\]]+:[^\s/?#]*@"
        ),
        lambda m: m.group("keep") + REDACTED + "@",
    ),
    # AWS access key ids (long-term AKIA, temporary ASIA).
    ValuePattern(
        "aws_access_key", re.compile(r"(?<![A-Z0-9])A(?:KIA|SIA)[A-Z0-9]{16}(?![A-Z0-9])")
    ),
    # AWS secret access keys: 40 base64 characters right after an "aws ... secret" label.
    ValuePattern(
        "aws_secret_key",
        re.compile(
            r"(?P<keep>(?i:aws)[\w.\- ]{0,30}?(?i:secret)[\w.\- ]{0,30}?[\"']?\s*[:=]\s*[\"']?)"
            r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
        ),
        _keep_prefix,
    ),
    # GitHub personal, OAuth, app and fine-grained tokens.
    ValuePattern(
        "github_token",
        re.compile(
            r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,247})"
            r"(?![A-Za-z0-9_])"
        ),
    ),
    # Slack tokens and incoming-webhook URLs.
    ValuePattern(
        "slack_token",
        re.compile(
            r"(?<![A-Za-z0-9])xox[abprse]-[A-Za-z0-9-]{10,}"
            r"|https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+"
        ),
    ),
    # Stripe secret and restricted keys, live and test.
    ValuePattern("stripe_key", re.compile(r"(?<![A-Za-z0-9])[sr]k_(?:live|test)_[A-Za-z0-9]{16,}")),
    # Google API keys.
    ValuePattern(
        "google_api_key", re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")
    ),
    # OpenAI-style keys: project/service/admin prefixes, or the "T3BlbkFJ" marker.
    ValuePattern(
        "openai_key",
        re.compile(
            r"(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}"
            r"|[A-Za-z0-9_-]{0,200}?T3BlbkFJ[A-Za-z0-9_-]{16,})"
        ),
    ),
    # Anthropic-style keys.
    ValuePattern(
        "anthropic_key",
        re.compile(r"(?<![A-Za-z0-9_-])sk-ant-[a-z]{2,10}[0-9]{2}-[A-Za-z0-9_-]{32,}"),
    ),
    # Payment cards: 13-19 digits, single spaces or dashes between groups of 3+
    # digits, first digit 2-9, Luhn-valid. Other digit runs (order ids) are kept.
    ValuePattern("card_number", re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,}"), _card_numbers),
    # "?token=abc&page=2" -> "?token=[REDACTED]&page=2" (names are percent-decoded).
    ValuePattern("query_secret", _QUERY_REGEX, _query_secret(_DEFAULT_KEY_RULES)),
    # "password=x", "api_key: x", '"secret": "x"', "Authorization: Bearer x".
    ValuePattern("key_value_secret", _KEY_VALUE_REGEX, _key_value(_DEFAULT_KEY_RULES)),
    # "password hunter2": a password word, a space, a word with a digit or symbol.
    ValuePattern(
        "password_phrase",
        re.compile(
            r"(?P<keep>(?<![A-Za-z0-9])(?i:pass(?:word|wd|phrase)|pwd)(?![A-Za-z0-9])[ \t]+)"
            r"(?P<val>\S+)"
        ),
        _password_phrase,
    ),
)

_CARD_GATE = re.compile(r"[0-9](?:[ -]?[0-9]){12}")
_GITHUB_GATE = re.compile(r"gh[pousr]_|github_pat_")
# A cheap necessary condition for each default detector, given the text and its
# lowercase form: clean text skips a detector after one substring test.
_GATES: dict[str, Callable[[str, str], bool]] = {
    "private_key": lambda t, _: "PRIVATE KEY" in t,
    "jwt": lambda t, _: "eyJ" in t,
    "bearer": lambda _, low: "bearer" in low,
    "basic_auth": lambda _, low: "basic" in low,
    "url_credentials": lambda t, _: "://" in t and "@" in t,
    "aws_access_key": lambda t, _: "AKIA" in t or "ASIA" in t,
    "aws_secret_key": lambda _, low: "aws" in low,
    "github_token": lambda t, _: _GITHUB_GATE.search(t) is not None,
    "slack_token": lambda t, _: "xox" in t or "hooks.slack.com" in t,
    "stripe_key": lambda t, _: "k_live_" in t or "k_test_" in t,
    "google_api_key": lambda t, _: "AIza" in t,
    "openai_key": lambda t, _: "sk-" in t,
    "anthropic_key": lambda t, _: "sk-ant-" in t,
    "card_number": lambda t, _: _CARD_GATE.search(t) is not None,
    "query_secret": lambda t, _: "=" in t,
    "key_value_secret": lambda t, _: "=" in t or ":" in t,
    "password_phrase": lambda _, low: "pass" in low or "pwd" in low,
}
# One search for the union of the gates above: text it does not match cannot
# hold any default detector's shape, so the detectors are skipped whole. It
# must match whenever any gate is true (a test checks this on random text).
_TRIGGER = re.compile(
    r"PRIVATE KEY|eyJ|(?i:bearer|basic|aws|pass|pwd)|://|AKIA|ASIA|gh[pousr]_|github_pat_"
    r"|xox|hooks\.slack\.com|k_live_|k_test_|AIza|sk-|[=:]|[0-9](?:[ -]?[0-9]){12}"
)
_BOUND_PATTERNS = {"query_secret": _query_secret, "key_value_secret": _key_value}
# (key, value) pairs known to come out unchanged are remembered up to this many,
# for values up to this long: repeated request facts (method, route, user agent)
# then cost one lookup. Only unchanged pairs are kept, so no secret is held.
_CLEAN_CACHE_SIZE = 4096
_CLEAN_CACHE_MAX_LEN = 512
# Free text is scanned up to this many times max_length characters.
_SCAN_FACTOR = 4
# When text was cut before scanning, this many trailing characters are dropped
# too, so a secret split by the cut cannot show its first half.
_CUT_GUARD = 256


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
        self._keys = _KeyRules(
            (*DEFAULT_SENSITIVE_KEYS, *extra_keys), (*DEFAULT_SAFE_KEYS, *safe_keys)
        )
        self._patterns = tuple(
            ValuePattern(p.name, p.regex, _BOUND_PATTERNS[p.name](self._keys))
            if p.name in _BOUND_PATTERNS
            else p
            for p in DEFAULT_PATTERNS
        )
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
        self._policies: dict[str, FieldPolicy] = dict(field_policies or {})
        for name, policy in self._policies.items():
            if policy not in _POLICIES:
                raise ValueError(
                    f"field_policies[{name!r}] is {policy!r}; expected one of "
                    "'identify', 'pseudonymize', 'omit'"
                )
            if policy == "pseudonymize" and pseudonymize_key is None:
                raise ValueError(
                    f"field_policies[{name!r}] is 'pseudonymize' but no pseudonymize_key is set"
                )
        if max_length < 1:
            raise ValueError(
                f"max_length must be a positive number of characters, not {max_length}"
            )
        self.max_length = max_length
        self._clean: set[tuple[str, str]] = set()
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
        except Exception:
            return REDACTED

    def scrub_secrets(self, text: str) -> str:
        """Cut detected secrets out of multi-line text (a traceback) without escaping or capping.

        The caller is responsible for making the result injection-safe.
        """
        try:
            return self._detect(text, None, limit=None)[0]
        except Exception:
            return REDACTED

    def redact_value(self, key: str | None, value: object) -> AttributeValue:
        """Redact one value found under `key` (None for a body); coerce it to an attribute value."""
        try:
            if key is not None and self._key_hit(key, value):
                return REDACTED
            return coerce_value(self._scrub_tree(key, value, 0), self.max_length)
        except Exception:
            return REDACTED

    def redact_attributes(self, attributes: Mapping[str, object]) -> dict[str, AttributeValue]:
        """Apply field policies, key rules, value detectors and coercion to every attribute.

        Attribute names are sanitized as well. A value that fails to process
        becomes `REDACTED`; a mapping that cannot even be iterated gives {}.
        """
        out: dict[str, AttributeValue] = {}
        try:
            items = list(attributes.items())
        except Exception:
            return out
        clean = self._clean if self._memoize else None
        for raw_key, value in items:
            if clean is not None and type(value) is str and (raw_key, value) in clean:
                out[raw_key] = value  # this exact pair came out unchanged before
                continue
            # OpenTelemetry drops (and warns about) an empty name: keep the value under a
            # name of ours instead of losing it.
            key = sanitize_text(safe_str(raw_key), 256) or _UNNAMED_ATTRIBUTE
            try:
                policy = self._policies.get(key)
                if policy == "omit":
                    continue
                if policy == "pseudonymize":
                    text = _identity_text(value)
                    out[key] = self.pseudonymize(text) if text else ""
                elif policy == "identify":
                    out[key] = coerce_value(self._scrub_tree(key, value, 0), self.max_length)
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
            except Exception:
                out[key] = REDACTED
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

    def _key_hit(self, key: str, value: object) -> bool:
        if not self._keys(key):
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
            scrubbed: dict[str, object] = {}
            for index, (k, v) in enumerate(value.items()):
                if index >= MAX_SEQUENCE_ITEMS:
                    break
                name = safe_str(k)
                hit = self._key_hit(name, v)
                scrubbed[name] = REDACTED if hit else self._scrub_tree(name, v, depth + 1)
            return scrubbed
        if isinstance(value, (list, tuple, set, frozenset)):
            items = sorted(value, key=safe_str) if isinstance(value, (set, frozenset)) else value
            return [self._scrub_tree(key, v, depth + 1) for v in items[:MAX_SEQUENCE_ITEMS]]
        return self._detect(safe_str(value), key)[0]

    def _scrub_str(self, text: str, key: str | None) -> str:
        scrubbed, dropped = self._detect(text, key)
        return _sanitize(scrubbed, self.max_length, dropped)

    def _detect(self, text: str, key: str | None, limit: int | None = -1) -> tuple[str, int]:
        """Run the value detectors; return the text and how many characters were cut off.

        Text longer than `limit` (default: a few times max_length; None: no limit)
        is cut first, which bounds the work on huge inputs.
        """
        dropped = 0
        if limit == -1:
            limit = _SCAN_FACTOR * self.max_length + _CUT_GUARD
        if limit is not None and len(text) > limit:
            dropped = len(text) - limit
            text = text[:limit]
        if _TRIGGER.search(text) is not None:
            lowered = text.lower()
            for pattern in self._patterns:
                if _GATES[pattern.name](text, lowered):
                    scrubbed = self._apply(pattern, text, key)
                    if scrubbed != text:
                        text, lowered = scrubbed, scrubbed.lower()
        for pattern in self._custom:
            text = self._apply(pattern, text, key)
        if dropped:
            dropped += _CUT_GUARD
            text = text[:-_CUT_GUARD]
        return text, dropped

    def _apply(self, pattern: ValuePattern, text: str, key: str | None) -> str:
        def substitute(match: re.Match[str]) -> str:
            original = match.group()
            replacement = REDACTED if pattern.replace is None else pattern.replace(match)
            if replacement is None or replacement == original:
                return original
            if self._veto is not None and self._vetoed(RedactionMatch(key, pattern.name, original)):
                return original
            return replacement

        return pattern.regex.sub(substitute, text)


def _identity_text(value: object) -> str:
    """The text a pseudonym is computed from: the raw string, not its sanitized form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return safe_str(coerce_value(value))
