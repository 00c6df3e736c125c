"""The lint rules and the naming table that decides what "named like a secret" means.

Both are literal tables so a reviewer can read, in one screen, what the linter
flags and why; ``[tool.seclog.lint]`` extends the names (``extra-secret-names``)
or exempts some (``allow-names``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["RULES", "Rule", "SecretNames", "split_words"]

Level = Literal["error", "warning", "note"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One lint rule: id, short name, SARIF level, one-line summary and help text."""

    id: str
    name: str
    level: Level
    summary: str
    help: str


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "SL001",
            "secret-in-log-message",
            "error",
            "A value named like a secret is formatted into a log message.",
            "Do not log secrets (passwords, tokens, API keys, card numbers, CVV, SSN, PINs, "
            "session ids, authorization headers). Log an identifier or an event instead, "
            "e.g. seclog_core.login_failed(username=...). Derived values such as len(x) or "
            "bool(x) are not flagged.",
        ),
        Rule(
            "SL002",
            "secret-in-log-fields",
            "error",
            "A value named like a secret is passed as a structured log field or in extra=.",
            "Structured fields reach the log store verbatim. Drop the field, or log a "
            "non-secret identifier (user id, token id) instead.",
        ),
        Rule(
            "SL003",
            "request-data-in-log",
            "warning",
            "A whole request object, its headers, cookies or body is logged.",
            "Headers carry Authorization and Cookie; bodies and forms carry passwords and "
            "personal data. Log the specific, non-secret fields you need (method, path, "
            "a request id).",
        ),
        Rule(
            "SL004",
            "log-message-without-context",
            "note",
            "A generic error message with no context (no variables, no extra, no exc_info).",
            "A message such as 'An error occurred' cannot be investigated. Add what failed, "
            "for whom and why (extra={...}), or use logger.exception() inside except blocks.",
        ),
    )
}

# Words that make a name a secret on their own, wherever they appear in it.
SECRET_WORDS: frozenset[str] = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "apikey",
        "credential",
        "credentials",
        "creds",
        "authorization",
        "bearer",
        "jwt",
        "otp",
        "cvv",
        "cvv2",
        "cvc",
        "ssn",
        "sessionid",
        "cookie",
        "cookies",
    }
)
# Adjacent word pairs that name a secret ("api_key", "credit_card", "card_number").
SECRET_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("private", "key"),
        ("signing", "key"),
        ("encryption", "key"),
        ("master", "key"),
        ("client", "key"),
        ("auth", "header"),
        ("auth", "key"),
        ("credit", "card"),
        ("card", "number"),
        ("card", "num"),
        ("card", "no"),
        ("cc", "number"),
        ("cc", "num"),
        ("social", "security"),
        ("session", "id"),
        ("session", "key"),
        ("pin", "code"),
        ("pin", "number"),
    }
)
# Words that name a secret only as the last word: "db_pass", "user_pin" (not "pin_memory").
SECRET_LAST_WORDS: frozenset[str] = frozenset({"pass", "pin", "pw"})
# Substrings that mark a secret even inside one run-together word ("newpassword").
SECRET_SUBSTRINGS: tuple[str, ...] = (
    "password",
    "passwd",
    "passphrase",
    "apikey",
    "secretkey",
    "privatekey",
    "accesskey",
    "accesstoken",
    "refreshtoken",
    "authtoken",
    "creditcard",
    "cardnumber",
    "ccnumber",
)
# A name ending in one of these describes a secret without holding it:
# "password_length", "token_type", "secret_name", "api_key_id", "card_last4".
METADATA_SUFFIXES: frozenset[str] = frozenset(
    {
        "url",
        "uri",
        "link",
        "path",
        "file",
        "filename",
        "dir",
        "field",
        "fields",
        "label",
        "name",
        "names",
        "id",
        "ids",
        "type",
        "types",
        "kind",
        "length",
        "len",
        "size",
        "count",
        "expiry",
        "expires",
        "expiration",
        "exp",
        "at",
        "ttl",
        "age",
        "policy",
        "rules",
        "regex",
        "pattern",
        "required",
        "enabled",
        "changed",
        "valid",
        "version",
        "scope",
        "scopes",
        "prefix",
        "last4",
        "mask",
        "masked",
        "redacted",
        "endpoint",
        "param",
        "manager",
        "store",
        "backend",
        "provider",
        "service",
        "generator",
        "factory",
        "class",
        "module",
        "handler",
        "validator",
        "serializer",
        "strength",
        "error",
        "errors",
        "status",
        "reset",
        "set",
    }
)
# A name starting with one of these is a count or a flag: "is_token_valid", "num_tokens".
NEGATING_PREFIXES: frozenset[str] = frozenset(
    {"is", "has", "num", "n", "max", "min", "should", "use", "uses", "require", "requires", "no"}
)
# A URL or link of one of these kinds embeds a single-use credential (a reset token).
CAPABILITY_LINKS: frozenset[str] = frozenset(
    {"reset", "magic", "activation", "invite", "invitation", "signup", "verification"}
)

# A URL of one of these kinds is a connection string, credentials included:
# "DATABASE_URL", "redis_url", "SQLALCHEMY_DATABASE_URI", "broker_url". Not "cache_url"
# (pip's cache key is a request URL), "queue_url" or "storage_url" (no credentials).
CONNECTION_KINDS: frozenset[str] = frozenset(
    {
        *("database", "db", "sqlalchemy", "postgres", "postgresql", "pg", "mysql", "mariadb"),
        *("redis", "broker", "amqp", "rabbitmq", "celery", "mongo", "mongodb", "mq"),
        *("elasticsearch", "kafka", "smtp", "ldap"),
    }
)
# Names that are connection strings on their own.
CONNECTION_NAMES: frozenset[str] = frozenset(
    {"dsn", "connectionstring", "connstring", "connstr", "dburl", "databaseuri"}
)

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def split_words(name: str) -> list[str]:
    """``"X-Api-Key"`` -> ``["x", "api", "key"]``; ``"creditCardNumber"`` -> 3 words."""
    words: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", name):
        words.extend(part.lower() for part in _CAMEL.findall(chunk))
    return words


class SecretNames:
    """Decides whether an identifier or dictionary key names a secret."""

    __slots__ = ("_allow", "_cache", "_extra")

    def __init__(self, extra: Iterable[str] = (), allow: Iterable[str] = ()) -> None:
        self._extra = frozenset("".join(split_words(n)) for n in extra)
        self._allow = frozenset("".join(split_words(n)) for n in allow)
        self._cache: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        hit = self._cache.get(name)
        if hit is None:
            hit = self._cache[name] = self._decide(name)
        return hit

    def _decide(self, name: str) -> bool:
        words = split_words(name)
        if not words:
            return False
        joined = "".join(words)
        if joined in self._allow:
            return False
        if joined in self._extra or any(w in self._extra for w in words):
            return True
        if words[-1] in ("url", "uri", "link") and CAPABILITY_LINKS.intersection(words):
            return True
        if joined in CONNECTION_NAMES or words[-1] == "dsn":
            return True
        if words[-1] in ("url", "uri", "urls") and CONNECTION_KINDS.intersection(words[:-1]):
            return True
        if words[0] in NEGATING_PREFIXES and len(words) > 1:
            return False
        if words[-1] in METADATA_SUFFIXES and len(words) > 1:
            # "session_id" is itself a credential; "token_id" only names one.
            return tuple(words[-2:]) == ("session", "id")
        if SECRET_WORDS.intersection(words) or words[-1] in SECRET_LAST_WORDS:
            return True
        if any(pair in SECRET_PAIRS for pair in itertools.pairwise(words)):
            return True
        return any(sub in joined for sub in SECRET_SUBSTRINGS)
