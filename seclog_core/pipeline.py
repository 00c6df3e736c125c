"""The event pipeline: build -> enrich -> redact -> sequence -> emit -> detect.

Every event, from any adapter or the manual API, goes through
:meth:`Pipeline.emit`. Nothing in it raises into the app except an unknown
event type, which is a programming error that tests should catch; every
runtime failure is counted and reported once through the ``seclog`` logger.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context

from ._internal import report_failure
from .config import ConfigError, Settings, load_settings
from .context import RequestContext, current_request_context
from .emit import Emitter
from .events import AttributeValue, SecurityEvent
from .export import get_providers
from .integrity import Sequencer
from .mappings import ecs_fields, ocsf_fields
from .redact import Redactor
from .vocabulary import get_event_type

__all__ = ["Gate", "Observer", "Pipeline", "configure", "get_pipeline", "set_pipeline"]

# Sees every emitted event after it left; detectors and test captures are observers.
Observer = Callable[[SecurityEvent, "Pipeline"], None]
# Decides before emission whether an event goes out (flood control); False suppresses it.
Gate = Callable[[SecurityEvent, "Pipeline"], bool]

_depth = threading.local()
_MAX_DEPTH = 3


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


class Pipeline:
    """One configured pipeline; apps with different settings each get their own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redactor = _build_redactor(settings)
        key = settings.integrity_key
        self.sequencer = Sequencer(key.encode() if key else None, settings.integrity_key_id)
        self.observers: list[Observer] = []
        self.gates: list[Gate] = []
        # Called with (context, status, pipeline) after each request (detectors count 404s).
        self.response_hooks: list[Callable[[RequestContext, int, Pipeline], None]] = []
        self._emitter: Emitter | None = None
        self._emit_lock = threading.Lock()
        self._init_lock = threading.Lock()
        # Extension point for components (detectors, forwarded-header reporting) to keep state.
        self.state: dict[str, Any] = {}
        # Called before a flush or shutdown so held-back events (flood control) go out.
        self.flushers: list[Callable[[], object]] = []
        _all_pipelines.add(self)

    @property
    def emitter(self) -> Emitter:
        emitter = self._emitter
        if emitter is None:
            with self._init_lock:
                if self._emitter is None:
                    self._emitter = Emitter(
                        get_providers(self.settings),
                        span_events=self.settings.span_events,
                        own_spans=self.settings.own_spans,
                    )
                emitter = self._emitter
        return emitter

    def add_observer(self, observer: Observer) -> None:
        self.observers.append(observer)

    def emit(
        self,
        event_type: str,
        attributes: Mapping[str, object] | None = None,
        *,
        body: str | None = None,
        outcome: str | None = None,
        exception: BaseException | None = None,
        context: RequestContext | None = None,
    ) -> SecurityEvent | None:
        """Emit one event; returns it as it left (scrubbed), or None if suppressed or failed."""
        kind = get_event_type(event_type)  # unknown types raise: a programming error
        if not self.settings.enabled:
            return None
        depth = getattr(_depth, "value", 0)
        if depth >= _MAX_DEPTH:
            report_failure("pipeline.recursion")
            return None
        _depth.value = depth + 1
        try:
            return self._emit(kind.name, attributes, body, outcome, exception, context)
        except Exception as exc:
            report_failure("pipeline.emit", exc)
            return None
        finally:
            _depth.value = depth

    def _emit(
        self,
        name: str,
        fields: Mapping[str, object] | None,
        body: str | None,
        outcome: str | None,
        exception: BaseException | None,
        context: RequestContext | None,
    ) -> SecurityEvent | None:
        kind = get_event_type(name)
        ctx = context if context is not None else current_request_context()
        raw: dict[str, object] = ctx.attributes() if ctx is not None else {}
        if fields:
            raw.update({k: v for k, v in fields.items() if v is not None})
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
        text = self.redactor.scrub_text(body) if body else _default_body(kind.description, safe)
        event = SecurityEvent(kind, text, SecurityEvent.freeze(safe), time.time_ns())
        _pre_policy.value = (event, raw)  # detectors count on values before field policies
        for gate in self.gates:
            if not gate(event, self):
                return None
        emitter = self.emitter

        def write_log(span_context: otel_context.Context | None) -> None:
            # Stamp and enqueue under one lock so sequence order == export order.
            with self._emit_lock:
                stamped = self.sequencer.stamp(event.name, event.timestamp_ns, event.body, safe)
                emitter.emit_log(event, {**safe, **stamped}, span_context)

        emitter.emit(event, write_log)
        if ctx is not None:
            ctx.emitted.add(kind.name)
        for observer in (*self.observers, *_global_observers):
            try:
                observer(event, self)
            except Exception as exc:
                report_failure("pipeline.observer", exc)
        return event


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


def pre_policy_attributes(event: SecurityEvent) -> Mapping[str, object] | None:
    """The attributes of ``event`` before redaction and field policies, while it is being
    emitted on this thread (for observers and gates, such as detectors); else None."""
    pair = getattr(_pre_policy, "value", None)
    return pair[1] if pair is not None and pair[0] is event else None


_all_pipelines: weakref.WeakSet[Pipeline] = weakref.WeakSet()


def flush_pending_events() -> None:
    """Emit what any pipeline holds back (flood summaries) before telemetry is flushed."""
    for pipeline in list(_all_pipelines):
        for flusher in list(pipeline.flushers):
            try:
                flusher()
            except Exception as exc:
                report_failure("pipeline.flush", exc)


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
                _install_default_components(_default)
            pipeline = _default
    return pipeline


def set_pipeline(pipeline: Pipeline | None) -> None:
    """Replace the process default pipeline (``configure`` and tests use this)."""
    global _default
    with _default_lock:
        _default = pipeline


_component_installers: list[Callable[[Pipeline], None]] = []


def register_component(installer: Callable[[Pipeline], None]) -> None:
    """Run ``installer`` on every new pipeline (detectors register themselves this way)."""
    _component_installers.append(installer)


def _install_default_components(pipeline: Pipeline) -> None:
    for installer in _component_installers:
        try:
            installer(pipeline)
        except ConfigError:
            raise  # a bad setting is a start-up error the operator must see
        except Exception as exc:
            report_failure("pipeline.component", exc)


def new_pipeline(*, framework: Mapping[str, Any] | None = None, **kwargs: Any) -> Pipeline:
    """A pipeline from settings (validated now: a bad value raises ConfigError)."""
    pipeline = Pipeline(load_settings(kwargs, framework))
    _install_default_components(pipeline)
    return pipeline


def configure(*, framework: Mapping[str, Any] | None = None, **kwargs: Any) -> Settings:
    """Configure the process default pipeline; returns the validated settings."""
    pipeline = new_pipeline(framework=framework, **kwargs)
    set_pipeline(pipeline)
    return pipeline.settings
