"""Field policies: per-attribute choices to identify, pseudonymize or omit personal data.

One table of policies, one validation (used by the settings loader and by
:class:`~seclog_core.redact.Redactor`), and the attributes that carry the same
datum: a policy set on ``client.address`` also governs ``network.peer.address``
and ``security.forwarded``, one on ``user.name`` also ``user.changes.name`` and
``user.target.name``, unless those names have a policy of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

__all__ = ["FIELD_POLICIES", "SAME_DATUM", "FieldPolicy", "expand_policies", "policy_errors"]

FieldPolicy = Literal["identify", "pseudonymize", "omit"]
#: The policies a field may have.
FIELD_POLICIES: tuple[str, ...] = ("identify", "pseudonymize", "omit")

#: Attributes that carry the same datum as the key: they follow its policy.
SAME_DATUM: dict[str, tuple[str, ...]] = {
    "client.address": (
        "network.peer.address",
        "security.forwarded",
        "source.address",
        "http.client_ip",
        "net.peer.ip",
        "net.sock.peer.addr",
    ),
    "user.name": ("user.changes.name", "user.target.name", "enduser.id"),
    "user.id": ("user.changes.id", "user.target.id"),
    "user.email": ("user.changes.email", "user.target.email"),
}


def policy_errors(policies: Mapping[str, object], has_key: bool) -> str | None:
    """The first problem with `policies` (as a sentence naming the field), or None."""
    for name, policy in policies.items():
        if policy not in FIELD_POLICIES:
            return f"field_policies[{name!r}] is {policy!r}; expected " + " or ".join(
                FIELD_POLICIES
            )
    if not has_key and any(p == "pseudonymize" for p in policies.values()):
        name = next(n for n, p in policies.items() if p == "pseudonymize")
        return (
            f"field_policies[{name!r}] is 'pseudonymize' but no pseudonymize key is set: "
            "set SECLOG_PSEUDONYMIZE_KEY (or pseudonymize_key=) to a secret string"
        )
    return None


def expand_policies(policies: Mapping[str, FieldPolicy]) -> dict[str, FieldPolicy]:
    """`policies` plus the same-datum attributes of each name that has no policy of its own."""
    expanded = dict(policies)
    for name, policy in policies.items():
        for alias in SAME_DATUM.get(name, ()):
            expanded.setdefault(alias, policy)
    return expanded
