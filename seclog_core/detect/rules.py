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
    "RULESET",
    "RULE_INFO",
    "RULE_REFERENCE",
    "RULE_VERSION",
    "STUFFING_APP_FACTOR",
    "STUFFING_MIN_FAILURE_RATIO",
    "UNKNOWN_USER_REASONS",
    "Rule",
    "RuleInfo",
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
        # A patient attacker stays under brute_force's window; an hour shows it.
        "slow_brute_force",
        "authn_login_fail_max",
        "authn_login_fail",
        "user.name",
        30,
        3600.0,
        900.0,
    ),
    (
        # One attack on one account is one alert: this folds into authn_login_fail_max.
        "distributed_brute_force",
        "authn_login_fail_max",
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
    "alert_distributed_brute_force",  # emitted by seclog 0.1; still never counted
}

# Credential stuffing fires only when nearly every login from the client failed: an
# office behind one NAT address mistypes a few passwords among hundreds of successes.
STUFFING_MIN_FAILURE_RATIO = 0.8
# ... unless the app says the names do not exist: half the threshold of unknown names
# from one client is a list being tried, whatever else succeeds there.
UNKNOWN_USER_REASONS = frozenset({"unknown_user", "user_not_found", "no_such_user", "unknown"})
# A botnet sends a few names per address: the whole app failing for this many times the
# threshold of distinct names, at the same failure ratio, is stuffing from many clients.
STUFFING_APP_FACTOR = 10


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """OpenTelemetry ``security_rule.*`` attributes of a rule's alerts."""

    uuid: str  # the shipped Sigma rule's id, so in-process and SIEM hits join up
    category: str
    description: str


RULESET = "seclog"
RULE_VERSION = "2"
RULE_REFERENCE = "docs/detection.md#"  # the page shipped with seclog; no site yet

RULE_INFO: Mapping[str, RuleInfo] = {
    "brute_force": RuleInfo(
        "c25c927a-8db6-5ffa-83b2-f279391a0fa6",
        "credential-access",
        "Many failed logins on one account within a short window.",
    ),
    "slow_brute_force": RuleInfo(
        "3e7e63e7-9f8d-5f4a-8fc9-13015baef503",
        "credential-access",
        "Failed logins on one account paced to stay under the brute-force window.",
    ),
    "distributed_brute_force": RuleInfo(
        "46e09655-d511-5c56-aebb-da2d7762e239",
        "credential-access",
        "Failed logins on one account from many client addresses.",
    ),
    "credential_stuffing": RuleInfo(
        "af8ee5ac-a7f5-532d-8e8a-4631fb855234",
        "credential-access",
        "Failed logins for many accounts from one client (or the whole app), nearly all failing.",
    ),
    "authz_burst": RuleInfo(
        "a6b15c53-1709-51fa-8fef-a2aa41ae36c7",
        "discovery",
        "A burst of authorization failures from one user or client.",
    ),
    "scanning": RuleInfo(
        "c2e7ad48-c8a8-554f-8be2-19241967f4d5",
        "reconnaissance",
        "Many requests for missing resources from one client.",
    ),
    "attack_tool": RuleInfo(
        "ba283d74-0c41-5d95-8698-fe5ac005a349",
        "reconnaissance",
        "A request whose user agent names a well-known attack tool.",
    ),
    "error_burst": RuleInfo(
        "a5805d27-fc59-50e3-887f-1ad0f5115a3e", "impact", "A burst of server errors."
    ),
    "success_after_fail": RuleInfo(
        "f477f54e-a4d0-586e-a3f6-fc3d0de705f5",
        "credential-access",
        "A login succeeded after failed attempts on the same account.",
    ),
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
