"""Which names carry secrets: the denylist, its exceptions, and the rule that applies them.

A value stored under a sensitive name is replaced whole, whatever its shape. Names
are compared after lowercasing and removing separators ("-", "_", ".", " ") and
invisible format characters, so ``X-Api-Key``, ``x_api_key``, ``apiKey`` and
``api\\u200bkey`` are one name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["DEFAULT_SAFE_KEYS", "DEFAULT_SENSITIVE_KEYS", "KeyRules", "normalize_key"]

#: Attribute and field names whose values are always redacted. Entries of five
#: or more characters (once normalized) match anywhere in a name
#: ("user_password", "http.request.header.authorization"); shorter ones ("cc",
#: "pan", "pin", "otp", "sid", "dsn", ...) match only a whole segment between
#: separators or camelCase humps, so "span", "company", "author", "cardinality",
#: "side" and "spinner" stay.
DEFAULT_SENSITIVE_KEYS: tuple[str, ...] = (
    # passwords, in a few languages
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "pass",
    "pwd",
    "pw",
    "passwort",
    "contrasena",
    "contraseña",
    "motdepasse",
    "senha",
    "wachtwoord",
    "haslo",
    "hasło",
    # secrets, keys, tokens and credentials
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "account_key",
    "private_key",
    "privkey",
    "signing_key",
    "encryption_key",
    "master_key",
    "credential",
    "creds",
    "authorization",
    "auth",
    "jwt",
    "bearer",
    "signature",
    "sig",
    "code_verifier",
    "samlresponse",
    "client_assertion",
    # one-time and second-factor codes
    "otp",
    "totp",
    "hotp",
    "mfa_code",
    "2fa_code",
    "verification_code",
    "recovery_code",
    "backup_code",
    "security_code",
    "pin",
    "pincode",
    "security_answer",
    # sessions and anti-forgery tokens
    "cookie",
    "set-cookie",
    "session",
    "sessid",
    "sid",
    "csrf",
    "xsrf",
    # connection strings carry their password
    "database_url",
    "database_uri",
    "db_url",
    "db_uri",
    "dsn",
    "connection_string",
    "conn_str",
    "connstr",
    # payment cards and bank accounts
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
    "iban",
    "account_number",
    "bank_account",
    "routing_number",
    # national identifiers
    "ssn",
    "social_security",
    "national_id",
    "tax_id",
    "passport_number",
)

#: Names that contain a sensitive word but are known not to carry secrets:
#: OpenTelemetry semantic-convention names for token *counts* and seclog's own
#: facts. Exact names, compared in the same normalized form.
DEFAULT_SAFE_KEYS: tuple[str, ...] = (
    "gen_ai.request.max_tokens",
    "gen_ai.token.type",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    # seclog's own: how a user authenticated ("password", "remember_cookie"), never a secret.
    "security.auth_method",
    # OAuth's token_type ("bearer") and the like name a kind, not a secret.
    "token_type",
    "auth_type",
)

# Entries this short match whole segments only (see DEFAULT_SENSITIVE_KEYS).
_SEGMENT_ONLY_MAX_LEN = 4
# Invisible format characters (soft hyphen, zero-width, word joiner, BOM, tags): dropped.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff\U000e0000-\U000e007f]+")
_SEPARATORS = re.compile(r"[-_. ]+")
_SEGMENT_SPLIT = re.compile(r"[^a-z0-9ñçłąęóśźż]+")
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CACHE_SIZE = 4096


def normalize_key(key: str) -> str:
    """The form names are compared in: lowercase, no separators, no invisible characters."""
    return _SEPARATORS.sub("", _INVISIBLE.sub("", key.lower()))


class KeyRules:
    """Decides whether a name is sensitive; answers are cached up to a bounded size."""

    __slots__ = ("_cache", "_safe", "_segments", "_substrings", "words")

    def __init__(self, keys: Iterable[str], safe: Iterable[str]) -> None:
        self.words = tuple(dict.fromkeys(k for k in keys if normalize_key(k)))
        normalized = {normalize_key(k) for k in self.words}
        self._substrings = tuple(sorted(w for w in normalized if len(w) > _SEGMENT_ONLY_MAX_LEN))
        self._segments = frozenset(w for w in normalized if len(w) <= _SEGMENT_ONLY_MAX_LEN)
        self._safe = frozenset(normalize_key(k) for k in safe)
        self._cache: dict[str, bool] = {}

    def __call__(self, key: str) -> bool:
        hit = self._cache.get(key)
        if hit is None:
            hit = self._decide(key)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()  # attacker-chosen names must not grow memory
            self._cache[key] = hit
        return hit

    def _decide(self, key: str) -> bool:
        normalized = normalize_key(key)
        if normalized in self._safe:
            return False
        if any(word in normalized for word in self._substrings):
            return True
        # Segments both with and without camelCase splitting: "ccNumber" and "cC".
        visible = _INVISIBLE.sub("", key)
        segments = {
            *_SEGMENT_SPLIT.split(visible.lower()),
            *_SEGMENT_SPLIT.split(_CAMEL_HUMP.sub("_", visible).lower()),
        }
        return not self._segments.isdisjoint(segments)
