"""The detector engine: reads a pipeline's events and responses, raises alert events.

It is an observer (every emitted or flood-suppressed event) and a response
hook (404s and attack-tool user agents of every request). Counting happens in
a state backend; an alert is emitted once per key per cooldown through the
same pipeline, then handed to the ``on_alert`` callbacks. Detector outputs are
never counted again, so alerts cannot feed back into detectors.

Only the capture runs on the app's thread or event loop: counting (SQLite or
Redis I/O), alerts and callbacks run on the engine's worker thread, in event
order (see ``worker``). Alerts carry the triggering request's facts and trace.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import NamedTuple

from opentelemetry import context as otel_context

from .._internal import report_failure
from ..context import RequestContext, current_request_context, detached
from ..emitter import RequestSpan
from ..events import AttributeValue, SecurityEvent
from ..pipeline import observed_trace_context
from .hooks import Alert, run_callbacks
from .keys import client_key, user_key
from .rules import (
    OUTPUT_TYPES,
    RULE_INFO,
    RULE_REFERENCE,
    RULE_VERSION,
    RULESET,
    STUFFING_APP_FACTOR,
    STUFFING_MIN_FAILURE_RATIO,
    UNKNOWN_USER_REASONS,
    Rule,
    attack_tool_pattern,
)
from .state import Hit, StateBackend
from .worker import DRAIN_TIMEOUT, DetectionQueue

__all__ = ["DetectorEngine"]

# The failed-login window also answers "how many retries before this success?".
_RETRY_CAP = 100
_TOOL_CACHE_SIZE = 1024
_IDENTITY = ("user.name", "user.id", "client.address")
# Ratio inputs (logins per client or app-wide) keep at most this many timestamps.
_TALLY_CAP = 200
_AUTHZ = frozenset({"authz_fail", "malicious_direct_reference"})

_REASONS: Mapping[str, str] = {
    "brute_force": "{count} failed logins on one account within {window:g} s",
    "credential_stuffing": "failed logins for {count} accounts from {who} within {window:g} s",
    "slow_brute_force": "{count} failed logins on one account within {window:g} s",
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


class _Item(NamedTuple):
    """What the worker needs of one event (``name`` set) or one finished request."""

    name: str | None
    attributes: Mapping[str, object] | None
    status: int
    context: RequestContext | None
    trace: otel_context.Context | None
    at: float  # when it happened: windows count event time, not when the worker got to it
    queued: float = 0.0  # time.monotonic() when queued (a success waits SUCCESS_GRACE)


class _Raised(NamedTuple):
    """An alert decided while counting: emitted and handed to callbacks afterwards."""

    rule: Rule
    key: str  # as it may be logged
    key_field: str
    counted: int
    reason: str
    attributes: dict[str, object]
    context: RequestContext | None
    trace: otel_context.Context | None


# The event types the engine counts (any type also counts for its attack-tool user agent).
_COUNTED = frozenset({"authn_login_fail", "authn_login_success", "sys_error", *_AUTHZ})


def _trace_of(ctx: RequestContext | None, observed: bool) -> otel_context.Context:
    """The trace context of the triggering event, for its alerts to join."""
    if observed:
        found = observed_trace_context()
        if found is not None:
            return found
    if ctx is not None and isinstance(ctx.trace_span, RequestSpan):
        found = ctx.trace_span.trace_context()
        if found is not None:
            return found
    return otel_context.get_current()


# A successful login is judged this long after it happened: failures other workers
# saw just before it are in the shared state by then (they too pass two queues).
SUCCESS_GRACE = 0.2


def _wait_for_other_workers(items: list[_Item], draining: threading.Event) -> None:
    # A flush (or a test reading its events) does not wait out the grace.
    latest = max((i.queued for i in items if i.name == "authn_login_success"), default=None)
    if latest is not None:
        delay = latest + SUCCESS_GRACE - time.monotonic()
        if delay > 0:
            draining.wait(min(delay, SUCCESS_GRACE))


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
        from ..pipeline import Pipeline, pre_policy_attributes

        assert isinstance(pipeline, Pipeline)
        self.pipeline = pipeline
        self.rules = dict(rules)
        self.backend = backend
        self.clock = clock
        self._raw = pre_policy_attributes
        self._prefix = pipeline.settings.detector_ipv6_prefix
        self._tools = attack_tool_pattern()
        # User agents repeat across requests: remember each verdict (bounded).
        self._tool_cache: dict[str, str | None] = {}
        # The triggering request's facts while the worker handles its item.
        self._context: RequestContext | None = None
        self._now = 0.0
        self._trace: otel_context.Context | None = None
        # Callbacks of alerts raised inside a batch, run once its state is written.
        self._deferred: list[_Raised] | None = None
        self.queue: DetectionQueue[_Item] = DetectionQueue(
            self._handle, name="seclog-detect", handle_many=self._handle_many
        )

    # --- inputs --------------------------------------------------------------------

    def observe(self, event: SecurityEvent, _pipeline: object = None) -> None:
        """Queue one event for counting (an observer: also fed events flood control suppressed).

        Runs on the app's thread (or event loop): it only captures what counting needs
        and queues it; the worker thread does the rest, in order.
        """
        kind = event.type
        if kind.is_alert or kind.name in OUTPUT_TYPES:
            return
        try:
            # Count on the values the app gave, before field policies (omit, pseudonymize)
            # and truncation: the policies shape what is logged, not what is detected.
            attrs = self._raw(event) or event.attributes
            if kind.name not in _COUNTED and not self._tool(attrs.get("user_agent.original")):
                return
            ctx = current_request_context()
            trace_ctx = _trace_of(ctx, True)
            queued = time.monotonic()
            item = _Item(kind.name, attrs, 0, detached(ctx), trace_ctx, self.clock(), queued)
            self.queue.put(item)
        except Exception as exc:
            report_failure("detect.observe", exc)

    def on_response(self, ctx: RequestContext, status: int, _pipeline: object = None) -> None:
        """Queue a finished request: 404s per client, attack-tool user agents."""
        try:
            counted = status == 404 and self.rules["scanning"].enabled
            if counted or self._tool(ctx.user_agent):
                trace_ctx = _trace_of(ctx, False)
                item = _Item(None, None, status, detached(ctx), trace_ctx, self.clock())
                self.queue.put(item)
        except Exception as exc:
            report_failure("detect.response", exc)

    def drain(self, timeout: float = DRAIN_TIMEOUT) -> bool:
        """Wait (bounded) until every queued event is counted and its alerts are out."""
        return self.queue.drain(timeout)

    # --- on the worker thread --------------------------------------------------------

    def _handle_many(self, items: list[_Item]) -> None:
        """Count what queued up together in one state transaction (SQLite: each row read
        and written once); its alerts are emitted, and their callbacks run, after it is
        written, in order."""
        _wait_for_other_workers(items, self.queue.draining)
        batch = getattr(self.backend, "batch", None)
        self._deferred = []
        try:
            with batch() if batch is not None else contextlib.nullcontext():
                for item in items:
                    self._handle(item)
        except Exception as exc:
            report_failure("detect.batch", exc)
        finally:
            deferred, self._deferred = self._deferred, None
            for raised in deferred:
                token = otel_context.attach(raised.trace) if raised.trace is not None else None
                try:
                    self._raise(raised)
                except Exception as exc:
                    report_failure("detect.alert", exc)
                finally:
                    if token is not None:
                        otel_context.detach(token)

    def _handle(self, item: _Item) -> None:
        # The alerts join the triggering event's trace, and callbacks run in it.
        token = otel_context.attach(item.trace) if item.trace is not None else None
        self._context, self._now, self._trace = item.context, item.at, item.trace
        try:
            if item.name is None:
                self._response(item.context, item.status)
            else:
                self._observe(item.name, item.attributes or {})
        except Exception as exc:
            report_failure("detect.response" if item.name is None else "detect.observe", exc)
        finally:
            self._context = self._trace = None
            if token is not None:
                otel_context.detach(token)

    def _response(self, ctx: RequestContext | None, status: int) -> None:
        if ctx is None:
            return
        pending: list[_Pending] = []
        scanning = self.rules["scanning"]
        tool = self._tool(ctx.user_agent)
        counted = tool or (status == 404 and scanning.enabled)
        # Parsing the address is the costly part: only for a response that counts.
        client = client_key(ctx.client_address, self._prefix) if counted else None
        if counted and client:
            identity: dict[str, AttributeValue] = {"client.address": str(ctx.client_address)}
            if ctx.user_name:
                identity["user.name"] = str(ctx.user_name)
            if status == 404 and scanning.enabled:
                pending.append(self._pending(scanning, client, "client.address", identity))
            if tool:
                pending.append(self._tool_pending(client, identity, tool))
        self._run(pending, ctx)

    # --- internals -----------------------------------------------------------------

    def _observe(self, name: str, attrs: Mapping[str, object]) -> None:
        user_value = attrs.get("user.name")
        client_value = attrs.get("client.address")
        user = user_key(user_value)
        client = client_key(client_value, self._prefix)
        identity: dict[str, AttributeValue] = {}
        if user:
            identity["user.name"] = str(user_value)
        if client:
            identity["client.address"] = str(client_value)
        # The id the app reported with the event (manual API) travels with what it derives.
        user_id = attrs.get("user.id")
        if user_id is not None and user_id != "":
            identity["user.id"] = str(user_id)
        rules = self.rules
        pending: list[_Pending] = []
        if name == "authn_login_fail":
            self._login_failed(user, client, identity, attrs.get("security.reason"))
        elif name == "authn_login_success" and user:
            self._login_succeeded(user, client, identity)
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

    def _login_failed(
        self,
        user: str | None,
        client: str | None,
        identity: dict[str, AttributeValue],
        reason: object,
    ) -> None:
        rules, now = self.rules, self._now
        brute, slow = rules["brute_force"], rules["slow_brute_force"]
        spread, stuffing = rules["distributed_brute_force"], rules["credential_stuffing"]
        after = rules["success_after_fail"]
        hits: list[Hit] = []
        if user and (brute.enabled or after.enabled):
            hits.append(_record(brute, user, cap=max(brute.threshold, _RETRY_CAP)))
        if user and slow.enabled:
            hits.append(_record(slow, user))
        if user and client and spread.enabled:
            hits.append(_record(spread, user, member=client))
        unknown = isinstance(reason, str) and reason in UNKNOWN_USER_REASONS
        if user and client and stuffing.enabled:
            hits.append(_record(stuffing, client, member=user))
            hits.append(_record(stuffing, client, bucket="login_fail_client", cap=_TALLY_CAP))
            if unknown:
                hits.append(_record(stuffing, client, bucket="login_unknown_client", member=user))
        if user and stuffing.enabled:
            wide = stuffing.threshold * STUFFING_APP_FACTOR
            hits.append(_record(stuffing, "*", bucket="stuffing_app", member=user, cap=wide))
            hits.append(_record(stuffing, "*", bucket="login_fail_app", cap=_TALLY_CAP))
            if unknown:
                hits.append(
                    _record(stuffing, "*", bucket="login_unknown_app", member=user, cap=wide)
                )
        if not hits:
            return
        counts = {
            (h.bucket, h.key): r.count
            for h, r in zip(hits, self.backend.hit_many(hits, now), strict=True)
        }
        if user:
            self._account_alert(user, identity, counts, now)
        if user and stuffing.enabled:
            self._stuffing_alert(client, identity, counts, now)

    def _account_alert(
        self,
        user: str,
        identity: dict[str, AttributeValue],
        counts: dict[tuple[str, str], int],
        now: float,
    ) -> None:
        """One alert per account per cooldown, whichever way the account is attacked."""
        rules = self.rules
        addresses = counts.get(("distributed_brute_force", user), 0)
        fired: Rule | None = None
        count = 0
        for name in ("brute_force", "distributed_brute_force", "slow_brute_force"):
            rule = rules[name]
            count = counts.get((name, user), 0)
            if rule.enabled and count >= rule.threshold:
                fired = rule
                break
        if fired is None:
            return
        brute = rules["brute_force"]
        if not self.backend.claim("brute_force", user, brute.cooldown, now):
            return
        spread = rules["distributed_brute_force"]
        extra: dict[str, AttributeValue] = {
            "security.distributed": addresses >= spread.threshold,
            "security.address_count": addresses,
        }
        item = _Pending(fired, _record(fired, user), "user.name", identity, {})
        self._alert(fired, user, "user.name", count, item, None, extra)

    def _stuffing_alert(
        self,
        client: str | None,
        identity: dict[str, AttributeValue],
        counts: dict[tuple[str, str], int],
        now: float,
    ) -> None:
        """Many accounts failing from one client (or app-wide), nearly every login failing."""
        rule = self.rules["credential_stuffing"]
        backend = self.backend
        for key, bucket, scope, threshold in (
            (client, "credential_stuffing", "client", rule.threshold),
            ("*", "stuffing_app", "app", rule.threshold * STUFFING_APP_FACTOR),
        ):
            if key is None:
                continue
            names = counts.get((bucket, key), 0)
            if names < threshold:
                continue
            fails = "login_fail_" + scope
            unknown = counts.get(("login_unknown_" + scope, key), 0)
            if unknown * 2 < threshold:
                successes = backend.count(_success_bucket(fails), key, rule.window, now)
                failures = counts.get((fails, key), 0)
                if failures < STUFFING_MIN_FAILURE_RATIO * (failures + successes):
                    continue  # a crowd behind one address: most of its logins succeed
            # The condition holds: this is the attack, alerted now or within the cooldown.
            # An attack from one client must not be alerted again app-wide.
            if not backend.claim(bucket, key, rule.cooldown, now):
                return
            if key != "*":  # the app-wide view of this attack must not alert it again
                backend.claim("stuffing_app", "*", rule.cooldown, now)
            field = "client.address" if key != "*" else "service"
            who = "many clients" if key == "*" else "one client"
            item = _Pending(rule, _record(rule, key), field, identity, {"who": who})
            extra: dict[str, AttributeValue] = {"security.distributed": key == "*"}
            self._alert(rule, key, field, names, item, None, extra)
            return  # one attack, one alert: the app-wide view adds nothing now

    def _login_succeeded(
        self, user: str, client: str | None, identity: dict[str, AttributeValue]
    ) -> None:
        rules, now = self.rules, self._now
        stuffing = rules["credential_stuffing"]
        if stuffing.enabled:
            tallies = [_record(stuffing, "*", bucket="login_success_app", cap=_TALLY_CAP)]
            if client:
                tallies.append(
                    _record(stuffing, client, bucket="login_success_client", cap=_TALLY_CAP)
                )
            self.backend.hit_many(tallies, now)
        rule = rules["success_after_fail"]
        if rule.enabled:
            retries = self.backend.take("brute_force", user, rule.window, now)
            if retries:
                self._success_after_fail(user, retries, identity)

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
        results = self.backend.hit_many([p.hit for p in pending], self._now)
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
        shown = self._logged(key_field, key)
        info = RULE_INFO.get(rule.name)
        attributes: dict[str, object] = {
            "security.rule": rule.name,  # deprecated: security_rule.name
            "security.key_field": key_field,
            "security.count": count,
            "security.window_seconds": rule.window,
            "security.threshold": rule.threshold,
            "security.reason": rule.name,
            "security_rule.name": rule.name,
            "security_rule.ruleset.name": RULESET,
            "security_rule.version": RULE_VERSION,
            "security_rule.reference": RULE_REFERENCE + rule.name,
        }
        if shown is not None:
            attributes["security.key"] = shown
        if info is not None:
            attributes["security_rule.uuid"] = info.uuid
            attributes["security_rule.category"] = info.category
            attributes["security_rule.description"] = info.description
        if "tool" in item.extra:
            attributes["security.attack_tool"] = item.extra["tool"]
        # Raw values: the pipeline applies the field policies to the alert like any event.
        attributes.update(item.identity)
        if extra_attributes:
            attributes.update(extra_attributes)
        ctx = ctx if ctx is not None else self._context
        raised = _Raised(rule, shown or "", key_field, count, reason, attributes, ctx, self._trace)
        if self._deferred is not None:
            # Emitted and handed to callbacks once the batch's state is written: the
            # shared state file is never held while an alert is exported or handled.
            self._deferred.append(raised)
        else:
            self._raise(raised)

    def _raise(self, raised: _Raised) -> None:
        event = self.pipeline.emit(
            raised.rule.emits,
            raised.attributes,
            body=raised.reason,
            context=raised.context,
            trace_context=raised.trace,
        )
        logged = event.attributes if event is not None else {}
        run_callbacks(
            Alert(
                rule=raised.rule.name,
                key=raised.key,
                key_field=raised.key_field,
                reason=raised.reason,
                count=raised.counted,
                window_seconds=raised.rule.window,
                event=event,
                identity={f: v for f, v in logged.items() if f in _IDENTITY},
                context=raised.context,
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

    def _logged(self, field: str, key: str) -> str | None:
        """A detector key as it may be logged: pseudonymized or left out per the policies."""
        if field not in _IDENTITY:
            return key
        value = self.pipeline.redactor.redact_attributes({field: key}).get(field)
        return None if value is None else str(value)


def _record(
    rule: Rule,
    key: str,
    *,
    bucket: str | None = None,
    member: str | None = None,
    cap: int | None = None,
) -> Hit:
    """A hit that only records (threshold 0): the engine decides and claims the cooldown."""
    return Hit(
        bucket or rule.name, key, rule.window, cap or rule.threshold, 0, rule.cooldown, member
    )


def _success_bucket(fails: str) -> str:
    return fails.replace("login_fail", "login_success")
