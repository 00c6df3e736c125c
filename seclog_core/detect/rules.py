"""The detector table: what each rule watches, what it emits, and its defaults.

Defaults are literal here so operators can read them; ``detector_options``
overrides them per rule (``{"brute_force": {"threshold": 5}, "scanning": False}``)
and :func:`resolve_rules` validates those overrides with errors naming the rule and key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..config import ConfigError

__all__ = [
    "ATTACK_TOOLS",
    "DEFAULT_RULES",
    "OUTPUT_TYPES",
    "Rule",
    "attack_tool_pattern",
    "resolve_rules",
]


@dataclass(frozen=True, slots=True)
class Rule:
    """One detector: ``threshold`` hits per key within ``window`` seconds -> one alert per
    key per ``cooldown`` seconds, emitted as the event type ``emits``."""

    name: str
    emits: str
    watches: str
    key: str
    threshold: int
    window: float
    cooldown: float
    enabled: bool = True


# name, emitted event, what it counts, key, threshold, window (s), cooldown (s)
_TABLE: tuple[tuple[str, str, str, str, int, float, float], ...] = (
    (
        "brute_force",
        "authn_login_fail_max",
        "authn_login_fail",
        "user.name",
        10,
        300.0,
        900.0,
    ),
    (
        "credential_stuffing",
        "alert_credential_stuffing",
        "distinct user.name in authn_login_fail",
        "client.address",
        10,
        300.0,
        900.0,
    ),
    (
        "distributed_brute_force",
        "alert_distributed_brute_force",
        "distinct client.address in authn_login_fail",
        "user.name",
        5,
        600.0,
        900.0,
    ),
    (
        "authz_burst",
        "alert_authz_burst",
        "authz_fail, malicious_direct_reference",
        "user.name, else client.address",
        20,
        60.0,
        600.0,
    ),
    ("scanning", "malicious_excess_404", "HTTP 404 responses", "client.address", 30, 60.0, 600.0),
    (
        "attack_tool",
        "malicious_attack_tool",
        "attack-tool user agents (requests and events)",
        "client.address",
        1,
        1.0,
        3600.0,
    ),
    ("error_burst", "alert_error_burst", "sys_error", "the whole app", 50, 60.0, 600.0),
    (
        "success_after_fail",
        "authn_login_successafterfail",
        "authn_login_success after authn_login_fail (brute_force window)",
        "user.name",
        1,
        300.0,
        0.0,
    ),
)

DEFAULT_RULES: Mapping[str, Rule] = {row[0]: Rule(*row) for row in _TABLE}

# Every event type a detector emits: detectors never count these (no feedback
# loops) and flood control never summarizes them.
OUTPUT_TYPES: frozenset[str] = frozenset(rule.emits for rule in DEFAULT_RULES.values()) | {
    "security_events_summarized",
}

# Tokens found in the default user agents of well-known attack tools.
ATTACK_TOOLS: tuple[str, ...] = (
    "sqlmap",
    "nikto",
    "nuclei",
    "nmap",
    "masscan",
    "zmap",
    "zgrab",
    "wpscan",
    "dirbuster",
    "dirb",
    "gobuster",
    "feroxbuster",
    "ffuf",
    "fuzz faster u fool",
    "wfuzz",
    "hydra",
    "medusa",
    "acunetix",
    "netsparker",
    "w3af",
    "arachni",
    "skipfish",
    "whatweb",
    "commix",
    "openvas",
    "jaeles",
    "xsstrike",
)

_NUMBER_KEYS = {"threshold", "window", "cooldown"}
_OFF = {"0", "false", "no", "off"}
_ON = {"1", "true", "yes", "on"}


def attack_tool_pattern(extra: tuple[str, ...] = ()) -> re.Pattern[str]:
    """One case-insensitive regex matching any attack tool's token as a whole word."""
    tokens = sorted({*ATTACK_TOOLS, *(t.lower() for t in extra)}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(t) for t in tokens) + r")\b", re.IGNORECASE)


def _bad(rule: str, key: str | None, value: object, expected: str) -> ConfigError:
    where = f"detector_options[{rule!r}]" + (f"[{key!r}]" if key else "")
    return ConfigError(f"seclog setting {where}={value!r:.80} is invalid: expected {expected}")


def _switch(rule: str, key: str | None, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _ON | _OFF:
        return value.strip().lower() in _ON
    raise _bad(rule, key, value, "true or false")


def _number(rule: str, key: str, value: object) -> float:
    if isinstance(value, bool):
        raise _bad(rule, key, value, "a positive number")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _bad(rule, key, value, "a positive number") from None
    if not number > 0 or number != number or number == float("inf"):
        raise _bad(rule, key, value, "a positive number")
    if key == "threshold" and number != int(number):
        raise _bad(rule, key, value, "a positive integer")
    return number


def _group(options: Mapping[str, Any]) -> dict[str, Any]:
    """Fold env-style dotted keys (``brute_force.threshold=5``) into per-rule mappings."""
    grouped: dict[str, Any] = {}
    for raw, value in options.items():
        if not isinstance(raw, str):
            raise ConfigError(f"seclog setting detector_options has a non-string key {raw!r}")
        rule, dot, key = raw.partition(".")
        if dot:
            entry = grouped.setdefault(rule, {})
            if not isinstance(entry, dict):
                raise _bad(rule, None, value, "either a switch or per-key options, not both")
            entry[key] = value
        else:
            grouped[raw] = value
    return grouped


def resolve_rules(options: Mapping[str, Any]) -> dict[str, Rule]:
    """The rule table with ``detector_options`` applied; ConfigError names a bad rule or key."""
    rules = dict(DEFAULT_RULES)
    for name, value in _group(options).items():
        if name not in rules:
            raise ConfigError(
                f"unknown detector {name!r} in seclog setting detector_options; known "
                "detectors: " + ", ".join(sorted(rules))
            )
        rule = rules[name]
        if not isinstance(value, Mapping):
            rules[name] = replace(rule, enabled=_switch(name, None, value))
            continue
        changes: dict[str, Any] = {}
        for key, item in value.items():
            if key == "enabled":
                changes["enabled"] = _switch(name, key, item)
            elif key in _NUMBER_KEYS:
                number = _number(name, key, item)
                changes[key] = int(number) if key == "threshold" else number
            else:
                raise ConfigError(
                    f"unknown option {key!r} for detector {name!r} in seclog setting "
                    "detector_options; known options: enabled, threshold, window, cooldown"
                )
        rules[name] = replace(rule, **changes)
    return rules
