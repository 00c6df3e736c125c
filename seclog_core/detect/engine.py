"""The detector engine: reads a pipeline's events and responses, raises alert events.

It is an observer (every emitted or flood-suppressed event) and a response
hook (404s and attack-tool user agents of every request). Counting happens in
a state backend; an alert is emitted once per key per cooldown through the
same pipeline, then handed to the ``on_alert`` callbacks. Detector outputs are
never counted again, so alerts cannot feed back into detectors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import NamedTuple

from .._internal import report_failure
from ..context import RequestContext, current_request_context
from ..events import AttributeValue, SecurityEvent
from .hooks import Alert, run_callbacks
from .rules import OUTPUT_TYPES, Rule, attack_tool_pattern
from .state import Hit, StateBackend

__all__ = ["DetectorEngine"]

# The failed-login window also answers "how many retries before this success?".
_RETRY_CAP = 100
_TOOL_CACHE_SIZE = 1024
_IDENTITY = ("user.name", "user.id", "client.address")
_AUTHZ = frozenset({"authz_fail", "malicious_direct_reference"})

_REASONS: Mapping[str, str] = {
    "brute_force": "{count} failed logins on one account within {window:g} s",
    "credential_stuffing": "failed logins for {count} accounts from one client within {window:g} s",
    "distributed_brute_force": "failed logins from {count} clients on one account within "
    "{window:g} s",
    "authz_burst": "{count} authorization failures from one {who} within {window:g} s",
    "scanning": "{count} requests for missing resources from one client within {window:g} s",
    "attack_tool": "a request from a known attack tool ({tool})",
    "error_burst": "{count} server errors within {window:g} s",
    "success_after_fail": "a login succeeded after {count} failed attempts on the same account",
}


class _Pending(NamedTuple):
    rule: Rule
    hit: Hit
    key_field: str
    identity: dict[str, AttributeValue]
    extra: dict[str, str]


class DetectorEngine:
    """The detectors of one pipeline."""

    def __init__(
        self,
        pipeline: object,
        rules: Mapping[str, Rule],
        backend: StateBackend,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from ..pipeline import Pipeline

        assert isinstance(pipeline, Pipeline)
        self.pipeline = pipeline
        self.rules = dict(rules)
        self.backend = backend
        self.clock = clock
        self._tools = attack_tool_pattern()
        # User agents repeat across requests: remember each verdict (bounded).
        self._tool_cache: dict[str, str | None] = {}
        policies = pipeline.settings.field_policies
        # Fields whose logged value can be passed on as is; pseudonymized ones are
        # already hashed in what detectors see and must not be hashed twice.
        self._passthrough = {
            f for f in _IDENTITY if policies.get(f) not in ("pseudonymize", "omit")
        }

    # --- inputs --------------------------------------------------------------------

    def observe(self, event: SecurityEvent, _pipeline: object = None) -> None:
        """Count one event (an observer: also fed events that flood control suppressed)."""
        if event.type.is_alert or event.type.name in OUTPUT_TYPES:
            return
        try:
            self._observe(event)
        except Exception as exc:
            report_failure("detect.observe", exc)

    def on_response(self, ctx: RequestContext, status: int, _pipeline: object = None) -> None:
        """Count a finished request: 404s per client, attack-tool user agents."""
        try:
            pending: list[_Pending] = []
            scanning = self.rules["scanning"]
            tool = self._tool(ctx.user_agent)
            if (tool or (status == 404 and scanning.enabled)) and ctx.client_address:
                client = self._logged("client.address", ctx.client_address)
                identity: dict[str, AttributeValue] = {"client.address": client}
                if ctx.user_name:
                    identity["user.name"] = self._logged("user.name", ctx.user_name)
                if status == 404 and scanning.enabled:
                    pending.append(self._pending(scanning, client, "client.address", identity))
                if tool:
                    pending.append(self._tool_pending(client, identity, tool))
            self._run(pending, ctx)
        except Exception as exc:
            report_failure("detect.response", exc)

    # --- internals -----------------------------------------------------------------

    def _observe(self, event: SecurityEvent) -> None:
        attrs = event.attributes
        name = event.type.name
        user = _text(attrs.get("user.name"))
        client = _text(attrs.get("client.address"))
        identity: dict[str, AttributeValue] = {}
        if user:
            identity["user.name"] = user
        if client:
            identity["client.address"] = client
        # The id the app reported with the event (manual API) travels with what it derives.
        user_id = _text(attrs.get("user.id"))
        if user_id:
            identity["user.id"] = user_id
        rules = self.rules
        pending: list[_Pending] = []
        if name == "authn_login_fail":
            brute, after = rules["brute_force"], rules["success_after_fail"]
            if user and (brute.enabled or after.enabled):
                pending.append(
                    self._pending(
                        brute,
                        user,
                        "user.name",
                        identity,
                        cap=max(brute.threshold, _RETRY_CAP),
                        fire=brute.enabled,
                    )
                )
            spread = rules["distributed_brute_force"]
            if user and client and spread.enabled:
                pending.append(self._pending(spread, user, "user.name", identity, member=client))
            stuffing = rules["credential_stuffing"]
            if user and client and stuffing.enabled:
                pending.append(
                    self._pending(stuffing, client, "client.address", identity, member=user)
                )
        elif name == "authn_login_success" and user and rules["success_after_fail"].enabled:
            window = rules["success_after_fail"].window
            retries = self.backend.take("brute_force", user, window, self.clock())
            if retries:
                self._success_after_fail(user, retries, identity)
        elif name in _AUTHZ and rules["authz_burst"].enabled and (user or client):
            field = "user.name" if user else "client.address"
            key = user or client or ""
            pending.append(
                self._pending(rules["authz_burst"], key, field, identity, who=field.split(".")[0])
            )
        elif name == "sys_error" and rules["error_burst"].enabled:
            pending.append(self._pending(rules["error_burst"], "*", "service", identity))
        tool = self._tool(attrs.get("user_agent.original"))
        if tool:
            pending.append(self._tool_pending(client or "unknown", identity, tool))
        self._run(pending, None)

    def _tool(self, user_agent: object) -> str | None:
        if not user_agent or not isinstance(user_agent, str):
            return None
        if not self.rules["attack_tool"].enabled:
            return None
        cache = self._tool_cache
        if user_agent in cache:
            return cache[user_agent]
        match = self._tools.search(user_agent)
        found = match.group(0).lower() if match else None
        if len(cache) >= _TOOL_CACHE_SIZE:
            cache.clear()  # attacker-chosen user agents must not grow memory
        cache[user_agent] = found
        return found

    def _tool_pending(
        self, client: str, identity: dict[str, AttributeValue], tool: str
    ) -> _Pending:
        rule = self.rules["attack_tool"]
        return self._pending(rule, client, "client.address", identity, tool=tool)

    def _pending(
        self,
        rule: Rule,
        key: str,
        key_field: str,
        identity: dict[str, AttributeValue],
        *,
        member: str | None = None,
        cap: int | None = None,
        fire: bool = True,
        **extra: str,
    ) -> _Pending:
        hit = Hit(
            bucket=rule.name,
            key=key,
            window=rule.window,
            cap=cap or rule.threshold,
            threshold=rule.threshold if fire else 0,
            cooldown=rule.cooldown,
            member=member,
        )
        return _Pending(rule, hit, key_field, identity, extra)

    def _run(self, pending: list[_Pending], ctx: RequestContext | None) -> None:
        if not pending:
            return
        results = self.backend.hit_many([p.hit for p in pending], self.clock())
        for item, result in zip(pending, results, strict=True):
            if result.fired:
                self._alert(item.rule, item.hit.key, item.key_field, result.count, item, ctx)

    def _alert(
        self,
        rule: Rule,
        key: str,
        key_field: str,
        count: int,
        item: _Pending,
        ctx: RequestContext | None,
        extra_attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        reason = _REASONS[rule.name].format(count=count, window=rule.window, **item.extra)
        attributes: dict[str, object] = {
            "security.rule": rule.name,
            "security.key": key,
            "security.key_field": key_field,
            "security.count": count,
            "security.window_seconds": rule.window,
            "security.threshold": rule.threshold,
            "security.reason": rule.name,
        }
        if "tool" in item.extra:
            attributes["security.attack_tool"] = item.extra["tool"]
        attributes.update({f: v for f, v in item.identity.items() if f in self._passthrough})
        if extra_attributes:
            attributes.update(extra_attributes)
        event = self.pipeline.emit(rule.emits, attributes, body=reason, context=ctx)
        run_callbacks(
            Alert(
                rule=rule.name,
                key=key,
                key_field=key_field,
                reason=reason,
                count=count,
                window_seconds=rule.window,
                event=event,
                identity=dict(item.identity),
                context=ctx if ctx is not None else current_request_context(),
            )
        )

    def _success_after_fail(
        self, user: str, retries: int, identity: dict[str, AttributeValue]
    ) -> None:
        rule = self.rules["success_after_fail"]
        hit = Hit(rule.name, user, rule.window, 1, 1, 0.0)
        item = _Pending(rule, hit, "user.name", identity, {})
        extra = {"security.retry_count": retries}
        self._alert(rule, user, "user.name", retries, item, None, extra)

    def _logged(self, field: str, raw: str) -> str:
        """A raw request value as it would be logged (pseudonymized where configured)."""
        value = self.pipeline.redactor.redact_attributes({field: raw}).get(field, "")
        return value if isinstance(value, str) else str(value)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
