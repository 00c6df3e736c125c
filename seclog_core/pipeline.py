"""The event pipeline: build -> enrich -> redact -> bound -> sequence -> emit -> detect.

The calling thread builds, enriches, redacts and bounds; when export runs in the
background anyway, the rest (flood control, seclog's span, the sequence number and
MAC, the log record, the observers) runs in order on one thread of seclog's per
pipeline, so a security event costs the request little more than its scrubbing.

Every event, from any adapter or the manual API, goes through
:meth:`Pipeline.emit`. Nothing in it raises into the app except an unknown
event type, which is a programming error that tests should catch; every
runtime failure is counted and reported once through the ``seclog`` logger.

Which value wins when the app passes an attribute seclog also knows: the request
context's ``client.address`` and ``network.peer.address`` (resolved through the
trusted proxies), and seclog's ``security.event`` / ``security.outcome`` /
``security.level``; the integrity attributes (``seclog.stream_id``, ``seclog.sequence``,
``seclog.mac*``, ``seclog.key_id``) are the sequencer's alone and dropped when the app
passes them. Everything else the app says (``user.name`` of a login
attempt, ``security.reason``) is the app's to say.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context

from . import _otel_compat as compat
from . import export
from ._internal import guarded, report_failure
from ._work_queue import WorkQueue, drain_all, handled_total
from .client_ip import TrustedProxies
from .config import ConfigError, Settings, load_settings
from .context import (
    RequestContext,
    bind_request_context,
    current_request_context,
    detached,
    reset_request_context,
)
from .emitter import Emitter, RequestSpan, TraceTarget
from .events import AttributeValue, SecurityEvent
from .integrity import Sequencer
from .mappings import ecs_fields, ocsf_fields
from .redact import Redactor
from .vocabulary import EventType, get_event_type

__all__ = [
    "Gate",
    "Observer",
    "Pipeline",
    "ResponseHook",
    "configure",
    "get_pipeline",
    "new_pipeline",
    "register_component",
    "set_pipeline",
]

# Sees every emitted event after it left; detectors and test captures are observers.
Observer = Callable[[SecurityEvent, "Pipeline"], None]
# Decides before emission whether an event goes out (flood control); False suppresses it.
Gate = Callable[[SecurityEvent, "Pipeline"], bool]
# Called with (context, status, pipeline) after each request (detectors count 404s).
ResponseHook = Callable[[RequestContext, int, "Pipeline"], None]

_depth = threading.local()
_MAX_DEPTH = 3

# Facts of the request context that an attribute passed by the app never replaces.
_CONTEXT_WINS = frozenset({"client.address", "network.peer.address"})
# What the sequencer writes: an app-passed value would pose as a signature.
_INTEGRITY_KEYS = frozenset(
    {"seclog.stream_id", "seclog.sequence", "seclog.mac", "seclog.mac_v", "seclog.key_id"}
)
# Attribute names that are seclog's own: kept first when the attribute limit bites.
_OWN_PREFIXES = ("security.", "seclog.", "user.", "client.", "exception.", "error.")
# Room left for the integrity attributes the sequencer adds after the limit is applied.
_STAMP_ROOM = 6
# Events waiting for seclog's thread; beyond this an event is handled on the emitting
# thread (slower, never lost).
EVENT_QUEUE_SIZE = 4096
# How long seclog's thread lets a burst of events gather before it starts on them (it
# starts at once for 512 waiting, a flush, a test capture, exit). The exporters batch
# for longer (the log processor every 0.2 s, the SDK's defaults 1-5 s), so delivery is
# no later; a request span still ends when the request did.
EVENT_GATHER = 0.05


def _build_redactor(settings: Settings) -> Redactor:
    key = settings.pseudonymize_key
    return Redactor(
        extra_keys=settings.redact_keys,
        extra_patterns=settings.redact_patterns,
        veto=settings.redact_veto,
        pseudonymize_key=key.encode() if key else None,
        field_policies=dict(settings.field_policies),  # type: ignore[arg-type]
        max_length=settings.max_value_length,
    )


def _env_limit(*names: str) -> int | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            with contextlib.suppress(ValueError):
                return max(0, int(value))
    return None


class ForwardedSpoofState:
    """Per-pipeline memory of peers that sent an untrusted forwarding header."""

    __slots__ = ("lock", "seen", "warned")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: OrderedDict[str, float] = OrderedDict()
        self.warned = False


class Pipeline:
    """One configured pipeline; apps with different settings each get their own.

    ``Pipeline(settings)`` is complete: its providers are resolved now (at start-up,
    never on the event loop at the first event) and every registered component
    (detectors, flood control, checkpoints) is installed.
    """

    def __init__(self, settings: Settings | None = None, *, components: bool = True) -> None:
        self.settings = settings = settings if settings is not None else load_settings()
        self.redactor = _build_redactor(settings)
        key = settings.integrity_key
        self.sequencer = Sequencer(key.encode() if key else None, settings.integrity_key_id)
        self.observers: list[Observer] = []
        self.gates: list[Gate] = []
        self.response_hooks: list[ResponseHook] = []
        # Called before a flush or shutdown so held-back events (flood control) go out.
        self.flushers: list[Callable[[], object]] = []
        # What the core keeps for HTTP requests, typed.
        self.trusted_proxies: TrustedProxies = settings.proxies
        self.forwarded_spoof = ForwardedSpoofState()
        # Deprecated extension point for components' own state (detectors, checkpoints);
        # prefer attributes on the component. The core's entries are kept for old readers.
        self.state: dict[str, Any] = {"http.trusted_proxies": self.trusted_proxies}
        # The SDK applies these limits on export: applied here first, so the record
        # signed is the record exported and seclog's own attributes are never cut.
        count = _env_limit("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT")
        self._attribute_limit = 128 if count is None else count
        self._value_limit = _env_limit(
            "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"
        )
        self._emit_lock = threading.Lock()
        self._init_lock = threading.Lock()
        self._emitter: Emitter | None = None
        self.providers: export.Providers | None = None
        # seclog's thread for the events' OpenTelemetry work, when export is in the
        # background anyway; None: events are handled inline (a synchronous exporter).
        self._work: WorkQueue[_Job | _Call] | None = None
        if settings.enabled:
            self.providers = export.providers_for(settings)
            self._emitter = self._make_emitter(self.providers)
        _all_pipelines.add(self)
        _register_exit_flush()
        if components:
            _load_default_components()
            for installer in list(_component_installers):
                try:
                    installer(self)
                except ConfigError:
                    raise  # a bad setting is a start-up error the operator must see
                except Exception as exc:
                    report_failure("pipeline.component", exc)

    def _make_emitter(self, providers: export.Providers) -> Emitter:
        if self._work is None and compat.exports_in_background(
            providers.logger_provider, providers.tracer_provider
        ):
            self._work = WorkQueue(
                self._work_item,
                maxsize=EVENT_QUEUE_SIZE,
                name="seclog-events",
                where="pipeline",
                gather=EVENT_GATHER,
            )
        return Emitter(
            providers, span_events=self.settings.span_events, own_spans=self.settings.own_spans
        )

    @property
    def emitter(self) -> Emitter:
        emitter = self._emitter
        if emitter is None:
            with self._init_lock:
                if self._emitter is None:
                    self.providers = export.providers_for(self.settings)
                    self._emitter = self._make_emitter(self.providers)
                emitter = self._emitter
        return emitter

    # --- components register through these -------------------------------------------

    def add_observer(self, observer: Observer) -> None:
        """``observer(event, pipeline)`` sees every event after it left."""
        self.observers.append(observer)

    def add_gate(self, gate: Gate) -> None:
        """``gate(event, pipeline)`` returning False suppresses the event (flood control)."""
        self.gates.append(gate)

    def add_response_hook(self, hook: ResponseHook) -> None:
        """``hook(context, status, pipeline)`` runs after each request's status is known."""
        self.response_hooks.append(hook)

    def add_flusher(self, flusher: Callable[[], object]) -> None:
        """``flusher()`` runs before every flush, at shutdown and at interpreter exit."""
        self.flushers.append(flusher)
        _register_exit_flush()

    # --- the event path ------------------------------------------------------------------

    def emit(
        self,
        event_type: str,
        attributes: Mapping[str, object] | None = None,
        *,
        body: str | None = None,
        outcome: str | None = None,
        exception: BaseException | None = None,
        context: RequestContext | None = None,
        trace_context: otel_context.Context | None = None,
    ) -> SecurityEvent | None:
        """Emit one event; returns it scrubbed, or None if it failed or was suppressed.

        When export runs in the background (seclog's own providers, or the app's with
        batch processors only), the event is handed to seclog's thread after scrubbing:
        flood control decides there, so an event it holds back is still returned here.
        With a synchronous processor everything happens before this returns.

        ``trace_context`` is the trace of the event that caused this one, for a component
        emitting later or on another thread (take it with :func:`observed_trace_context`
        while observing); without it the active span, the request's or the observed one.
        """
        kind = get_event_type(event_type)  # unknown types raise: a programming error
        if not self.settings.enabled:
            return None
        depth = getattr(_depth, "value", 0)
        if depth >= _MAX_DEPTH:
            report_failure("pipeline.recursion")
            return None
        _depth.value = depth + 1
        try:
            return self._emit(kind, attributes, body, outcome, exception, context, trace_context)
        except Exception as exc:
            report_failure("pipeline.emit", exc)
            return None
        finally:
            _depth.value = depth

    def _emit(
        self,
        kind: EventType,
        fields: object,
        body: str | None,
        outcome: str | None,
        exception: BaseException | None,
        context: RequestContext | None,
        trace_context: otel_context.Context | None,
    ) -> SecurityEvent | None:
        # On the emitting thread: the facts, scrubbed (nothing unscrubbed is kept or
        # queued), and where the event goes in the trace. The rest (flood control, the
        # span event of seclog's own span, the sequence number and MAC, the log record,
        # the observers) runs in order on seclog's thread when export is in the background.
        bound = current_request_context()
        ctx = context if context is not None else bound
        raw: dict[str, object] = ctx.attributes() if ctx is not None else {}
        if fields:
            _merge_app_attributes(raw, fields)
        if exception is not None:
            exc_type = type(exception)
            qualified = f"{exc_type.__module__}.{exc_type.__qualname__}"
            if exc_type.__module__ == "builtins":
                qualified = exc_type.__qualname__
            raw.setdefault("exception.type", qualified)
            raw.setdefault("error.type", qualified)
            raw.setdefault("exception.message", _exception_message(exception))
        final_outcome = outcome or str(raw.get("security.outcome") or kind.outcome)
        raw["security.event"] = kind.name
        raw["security.outcome"] = final_outcome
        raw["security.level"] = kind.level
        safe = self.redactor.redact_attributes(raw)
        if self.settings.ecs:
            safe.update(ecs_fields(kind, final_outcome))
        if self.settings.ocsf:
            safe.update(ocsf_fields(kind, final_outcome))
        safe = self._bounded(safe, raw)
        text = self.redactor.scrub_text(body) if body else _default_body(kind.description, safe)
        event = SecurityEvent(kind, text, SecurityEvent.freeze(safe), time.time_ns())
        emitter = self.emitter
        target = emitter.active_target(event)
        # The request's one span: for the bound request (or one that already has it), not
        # for a context made up for a single event (checkpoints, background jobs).
        request: RequestSpan | None = None
        parent = trace_context
        if target is None:
            if ctx is not None and (ctx.trace_span is not None or ctx is bound):
                span = ctx.trace_span
                if not isinstance(span, RequestSpan):
                    span = ctx.trace_span = RequestSpan(self._run_in_order)
                request = span
            if parent is None and request is None:
                parent = getattr(_observed, "context", None)
        if ctx is not None:
            ctx.emitted.add(kind.name)
        job = _Job(event, raw, safe, target, request, parent, ctx if ctx is bound else None)
        work = self._work
        if work is not None and not work.on_worker():
            # The facts are values now: seclog's thread never calls back into the app.
            job.context = detached(job.context)
            if work.put(job):
                return event
        return self._handle(job)

    def _handle(self, job: _Job) -> SecurityEvent | None:
        """Gate, sequence and send one event, then show it to the observers."""
        event = job.event
        token = None
        if job.context is not None and current_request_context() is not job.context:
            # On seclog's thread: components read the request's facts as the event saw them.
            token = bind_request_context(job.context)
        try:
            _pre_policy.value = (event, job.raw)  # detectors count values before policies
            for gate in self.gates:
                if not gate(event, self):
                    return None
            emitter = self.emitter
            target = job.target
            if target is None:
                target = emitter.own_target(event, job.request, job.parent)
            severity = event.type.severity
            safe = job.safe
            # Stamp and hand over under one lock so sequence order == export order.
            with self._emit_lock:
                stamped = self.sequencer.stamp(
                    event.name,
                    event.timestamp_ns,
                    event.body,
                    safe,
                    severity_number=int(severity.number.value),
                    severity_text=severity.text,
                    trace_id=target.trace_id,
                    span_id=target.span_id,
                )
                emitter.emit_log(event, {**safe, **stamped}, target)
            # Alerts an observer emits outside a request join this event's trace.
            previous = getattr(_observed, "context", None)
            _observed.context = (
                target.context if target.context is not None else otel_context.get_current()
            )
            try:
                for observer in (*self.observers, *_global_observers):
                    with guarded("pipeline.observer"):
                        observer(event, self)
            finally:
                _observed.context = previous
                emitter.finish(event, target)
            return event
        finally:
            _pre_policy.value = None
            if token is not None:
                reset_request_context(token)

    def _run_in_order(self, call: Callable[[], None]) -> None:
        """Run ``call`` after the events already queued (a request span's end)."""
        work = self._work
        if work is not None and not work.on_worker() and work.put(_Call(call)):
            return
        with guarded("pipeline.in_order"):
            call()

    def _work_item(self, item: _Job | _Call) -> None:
        # On seclog's thread, one item at a time, in the order they were queued.
        if isinstance(item, _Call):
            with guarded("pipeline.in_order"):
                item.call()
            return
        depth = getattr(_depth, "value", 0)
        _depth.value = depth + 1
        try:
            self._handle(item)
        except Exception as exc:
            report_failure("pipeline.emit", exc)
        finally:
            _depth.value = depth

    def _bounded(
        self, safe: dict[str, AttributeValue], raw: Mapping[str, object]
    ) -> dict[str, AttributeValue]:
        """The attributes as the SDK will export them: count and value-length limits applied,
        attributes the app added dropped first, so what is signed is what leaves."""
        limit = self._value_limit
        if limit is not None:
            safe = {key: _cut(value, limit) for key, value in safe.items()}
        room = max(0, self._attribute_limit - _STAMP_ROOM)
        if len(safe) <= room:
            return safe
        own = [key for key in safe if _is_own(key)]
        others = [key for key in safe if not _is_own(key)]
        if len(own) > room:
            report_failure("pipeline.attribute_limit")  # seclog's own facts alone overflow
        keep = set((own + others)[:room])
        return {key: value for key, value in safe.items() if key in keep}


class _Job:
    """One event between the emitting thread and seclog's thread: scrubbed facts only."""

    __slots__ = ("context", "event", "parent", "raw", "request", "safe", "target")

    def __init__(
        self,
        event: SecurityEvent,
        raw: dict[str, object],
        safe: dict[str, AttributeValue],
        target: TraceTarget | None,
        request: RequestSpan | None,
        parent: otel_context.Context | None,
        context: RequestContext | None,
    ) -> None:
        self.event = event
        # Values before field policies, for detectors (held in memory only, never written).
        self.raw = raw
        self.safe = safe
        self.target = target  # decided on the emitting thread (the app's span), or None
        self.request = request
        self.parent = parent
        self.context = context


class _Call:
    """A callable queued behind the events (the end of a request's span)."""

    __slots__ = ("call",)

    def __init__(self, call: Callable[[], None]) -> None:
        self.call = call


def _is_own(key: str) -> bool:
    return key.startswith(_OWN_PREFIXES) or key in _CONTEXT_KEYS


_CONTEXT_KEYS = frozenset(
    {
        "client.address",
        "network.peer.address",
        "http.request.method",
        "url.path",
        "http.route",
        "url.scheme",
        "server.address",
        "user_agent.original",
        "http.request.id",
        "http.response.status_code",
        "user.id",
        "user.name",
    }
)


def _cut(value: AttributeValue, limit: int) -> AttributeValue:
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [item[:limit] if isinstance(item, str) else item for item in value]
    return value


def _merge_app_attributes(raw: dict[str, object], fields: object) -> None:
    """Add what the app passed, under the precedence rules of the module docstring.

    A value that is not a mapping, or a mapping that fails while read, is reported
    and the event goes out without it: the app is never interrupted.
    """
    if not isinstance(fields, Mapping):
        report_failure("pipeline.attributes_not_a_mapping")
        return
    try:
        items = list(fields.items())
    except Exception as exc:
        report_failure("pipeline.attributes", exc)
        return
    for key, value in items:
        if value is None:
            continue
        if isinstance(key, str):
            if key in _INTEGRITY_KEYS:
                continue  # the integrity attributes are the sequencer's alone
            if key in _CONTEXT_WINS and key in raw:
                continue
        raw[key] = value


def _default_body(description: str, attributes: Mapping[str, AttributeValue]) -> str:
    # Built from safe, scrubbed values; never from the user name (it may be pseudonymized).
    reason = attributes.get("security.reason")
    return f"{description} ({reason})" if reason else description


def _exception_message(exception: BaseException) -> str:
    try:
        return str(exception)
    except Exception:
        return f"<unprintable {type(exception).__name__}>"


_pre_policy = threading.local()
_observed = threading.local()


def pre_policy_attributes(event: SecurityEvent) -> Mapping[str, object] | None:
    """The attributes of ``event`` before redaction and field policies, while it is being
    emitted on this thread (for observers and gates, such as detectors); else None."""
    pair = getattr(_pre_policy, "value", None)
    return pair[1] if pair is not None and pair[0] is event else None


def observed_trace_context() -> otel_context.Context | None:
    """The trace context of the event observers are looking at on this thread, if any.

    A component that emits later, on another thread (the detection worker), passes it
    as ``emit(..., trace_context=...)`` so its alert lands in the triggering event's trace.
    """
    return getattr(_observed, "context", None)


_all_pipelines: weakref.WeakSet[Pipeline] = weakref.WeakSet()


def flush_pending_events() -> None:
    """Hand every queued event to OpenTelemetry and emit what any pipeline holds back
    (flood summaries, alerts still being counted) before telemetry is flushed."""
    settle()
    for pipeline in list(_all_pipelines):
        for flusher in list(pipeline.flushers):
            with guarded("pipeline.flush"):
                flusher()
    settle()


def settle(timeout: float = 5.0) -> bool:
    """Wait (bounded) until seclog's threads handled everything queued so far: events
    given to OpenTelemetry, detectors' counting done and their alerts emitted.

    Never waits on seclog's own thread (a callback running there). True when idle.
    """
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        remaining = deadline - time.monotonic()
        before = handled_total()
        if not drain_all(max(0.0, remaining)) or remaining <= 0:
            return False
        # Quiet only after a pass in which nothing was handled: an item one queue hands
        # another (an event to the detectors, an alert back) is drained by the next pass.
        if not pending_work() and handled_total() == before:
            return True


def pending_work() -> int:
    """Items queued for seclog's threads and not yet taken (approximate)."""
    from ._work_queue import pending_total

    return pending_total()


def _after_fork_in_child() -> None:
    # seclog's thread may have held a pipeline's emit lock at the fork (gunicorn
    # --preload): the child has no such thread, so the lock starts free there.
    for pipeline in list(_all_pipelines):
        pipeline._emit_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


_exit_flush_registered = False


def _register_exit_flush() -> None:
    # A server without the ASGI lifespan never calls flush: at exit, what flood control
    # held back still goes out (registered after the exporters' hook, so it runs first).
    global _exit_flush_registered
    if not _exit_flush_registered:
        _exit_flush_registered = True
        atexit.register(flush_pending_events)


def _report_loss(reason: str, count: int) -> None:
    get_pipeline().emit(
        "seclog_events_lost",
        {"security.reason": reason, "seclog.lost_count": count},
        body=f"seclog could not deliver {count} security events ({reason})",
    )


export.on_flush(flush_pending_events)
export.set_loss_reporter(_report_loss)

# Observers of every pipeline in the process (test captures).
_global_observers: list[Observer] = []


def add_global_observer(observer: Observer) -> None:
    _global_observers.append(observer)


def remove_global_observer(observer: Observer) -> None:
    with contextlib.suppress(ValueError):
        _global_observers.remove(observer)


_default_lock = threading.Lock()
_default: Pipeline | None = None


def get_pipeline(context: RequestContext | None = None) -> Pipeline:
    """The pipeline for the current request (its app's), else the process default."""
    ctx = context if context is not None else current_request_context()
    if ctx is not None:
        bound = getattr(ctx, "pipeline", None)
        if isinstance(bound, Pipeline):
            return bound
    global _default
    pipeline = _default
    if pipeline is None:
        with _default_lock:
            if _default is None:
                _default = Pipeline(load_settings())
            pipeline = _default
    return pipeline


def set_pipeline(pipeline: Pipeline | None) -> None:
    """Replace the process default pipeline (``configure`` and tests use this)."""
    global _default
    with _default_lock:
        _default = pipeline


_component_installers: list[Callable[[Pipeline], None]] = []


# The components every pipeline gets; each registers its installer when imported.
# Named, not imported, here: they build on this module, not the other way round.
DEFAULT_COMPONENTS = ("seclog_core.detect", "seclog_core.checkpoints")


def _load_default_components() -> None:
    for name in DEFAULT_COMPONENTS:
        if name not in sys.modules:
            importlib.import_module(name)


def register_component(installer: Callable[[Pipeline], None]) -> None:
    """Run ``installer`` on every new pipeline (detectors register themselves this way)."""
    _component_installers.append(installer)


def new_pipeline(*, framework: Mapping[str, Any] | None = None, **kwargs: Any) -> Pipeline:
    """A pipeline from settings (validated now: a bad value raises ConfigError)."""
    return Pipeline(load_settings(kwargs, framework))


def configure(*, framework: Mapping[str, Any] | None = None, **kwargs: Any) -> Settings:
    """Configure the process default pipeline; returns the validated settings."""
    pipeline = new_pipeline(framework=framework, **kwargs)
    set_pipeline(pipeline)
    return pipeline.settings
