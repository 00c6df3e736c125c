"""Shared test helpers: in-memory telemetry and real OTLP receivers."""
