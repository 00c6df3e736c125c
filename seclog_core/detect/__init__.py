"""Detectors: watch a pipeline's events and responses, raise alert events, control floods.

Installed on every pipeline (``register_component``): an engine that counts
failed logins, authorization failures, 404s, 5xx and attack-tool user agents
in state shared by the host's workers (SQLite), all hosts (Redis) or one
process (memory), and a flood-control gate. ``on_alert(callback)`` lets the
app respond; seclog itself only monitors. Counting and alerting run on a
background thread of seclog's own, never on the request thread or event loop;
``drain()`` waits (bounded) until the alerts of events already emitted are out.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..config import ConfigError
from ..pipeline import Pipeline, register_component
from .engine import DetectorEngine
from .flood import FloodControl
from .hooks import Alert, AlertCallback, on_alert, remove_alert_callback
from .rules import ATTACK_TOOLS, DEFAULT_RULES, OUTPUT_TYPES, Rule, resolve_rules
from .state import DEFAULT_MAX_KEYS, Hit, HitResult, MemoryState, StateBackend
from .worker import DRAIN_TIMEOUT, drain

__all__ = [
    "ATTACK_TOOLS",
    "DEFAULT_MAX_KEYS",
    "DEFAULT_RULES",
    "DRAIN_TIMEOUT",
    "OUTPUT_TYPES",
    "Alert",
    "AlertCallback",
    "DetectorEngine",
    "FloodControl",
    "Hit",
    "HitResult",
    "MemoryState",
    "Rule",
    "StateBackend",
    "build_backend",
    "drain",
    "install",
    "on_alert",
    "remove_alert_callback",
]


def build_backend(settings: Any) -> StateBackend:
    """Where detector windows live, per ``detector_state`` (and ``redis_url``).

    ``host`` (the default): one SQLite file shared by every worker of this host;
    ``redis``, or ``host`` with ``redis_url`` set: every host through Redis;
    ``process``: each worker alone, in memory. Shared backends fall back to
    per-process memory when their store is unusable.
    """
    memory = MemoryState(settings.detector_max_keys)
    mode = getattr(settings, "detector_state", "host")
    if mode == "process":
        return memory
    if settings.redis_url:
        try:
            from .redis_state import RedisState

            return RedisState(settings.redis_url, timeout=settings.redis_timeout, fallback=memory)
        except ImportError:
            raise ConfigError(
                "seclog setting redis_url needs the redis package: pip install 'seclog[redis]'"
            ) from None
        except ValueError as exc:  # a malformed URL
            raise ConfigError(f"seclog setting redis_url is invalid: {exc}") from None
    from .sqlite_state import SQLiteState, state_file

    return SQLiteState(
        state_file(getattr(settings, "state_dir", None)),
        max_keys=settings.detector_max_keys,
        fallback=memory,
    )


def install(pipeline: Pipeline) -> None:
    """Attach the detector engine and flood control to ``pipeline`` per its settings."""
    settings = pipeline.settings
    engine: DetectorEngine | None = None
    if settings.detectors:
        rules = resolve_rules(settings.detector_options)
        engine = DetectorEngine(pipeline, rules, build_backend(settings))
        pipeline.state["detectors"] = engine
        pipeline.add_observer(engine.observe)
        pipeline.add_response_hook(engine.on_response)
        # Before every flush and at shutdown: alerts of events already emitted go out first.
        pipeline.add_flusher(engine.drain)
    if settings.flood_limit > 0 and settings.flood_window > 0:
        flood = FloodControl(
            pipeline,
            settings.flood_limit,
            settings.flood_window,
            max_keys=settings.detector_max_keys,
            ipv6_prefix=settings.detector_ipv6_prefix,
            on_suppressed=engine.observe if engine is not None else None,
        )
        pipeline.state["flood_control"] = flood
        pipeline.add_gate(flood)
        pipeline.add_flusher(partial(flood.flush, everything=True))


register_component(install)
