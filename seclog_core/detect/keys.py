"""Detector keys: what counts as "one account" and "one client", whatever the spelling.

Logins compare user names loosely, so detectors must too: ``Alice``, `` ALICE ``
and the full-width ``Ａｌｉｃｅ`` are one account (NFKC, case-folded, trimmed).
IPv6 clients rotate through the 2^64 addresses of their prefix, so they count per
prefix (``/64`` by default). Long values become a fixed-size digest, so state is
bounded in bytes as well as keys. The event keeps the value as typed: this only
shapes what detectors count per.
"""

from __future__ import annotations

import hashlib
import ipaddress
import unicodedata
from functools import lru_cache

__all__ = ["MAX_KEY_CHARS", "client_key", "user_key"]

# Keys longer than this are replaced by a digest: a 2,000-character name costs no more.
MAX_KEY_CHARS = 64


def _bounded(text: str) -> str:
    if len(text) <= MAX_KEY_CHARS:
        return text
    return "#" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def user_key(value: object) -> str | None:
    """The account a user name stands for, or None when there is none."""
    if value is None or isinstance(value, bool):
        return None
    text = value if isinstance(value, str) else str(value)  # ints and ids count too
    if len(text) > 4 * MAX_KEY_CHARS:
        text = text[: 4 * MAX_KEY_CHARS] + _bounded(text)  # bound normalization's cost
    key = unicodedata.normalize("NFKC", text).casefold().strip()
    return _bounded(key) if key else None


@lru_cache(maxsize=4096)
def _client(text: str, ipv6_prefix: int) -> str:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return _bounded(text.strip().casefold())
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        if ipv6_prefix < 128:
            return str(ipaddress.IPv6Network((address, ipv6_prefix), strict=False))
    return str(address)


def client_key(value: object, ipv6_prefix: int = 64) -> str | None:
    """The client an address stands for: IPv4 as is, IPv6 by its prefix."""
    if value is None or isinstance(value, bool):
        return None
    text = value if isinstance(value, str) else str(value)
    if not text:
        return None
    if len(text) > 4 * MAX_KEY_CHARS:
        return _bounded(text)
    return _client(text, ipv6_prefix)
