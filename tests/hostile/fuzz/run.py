"""Run one fuzz target under atheris: ``python -m tests.hostile.fuzz.run TARGET [flags]``.

``-runs=N`` or ``-max_total_time=S`` bound the run (libFuzzer flags). The
event builder target emits into an in-memory pipeline so nothing leaves the
process. A crash writes ``crash-<sha1>`` in the working directory and exits
non-zero; turn it into a regression test in ``tests/hostile/test_fuzz_regressions.py``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["seclog_core", "python_ipware"]):
    from seclog_core import pipeline as _pipeline
    from seclog_core.export import Providers, set_providers

    from .targets import TARGETS


def _quiet_pipeline() -> None:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    set_providers(Providers(LoggerProvider(), TracerProvider(), MeterProvider()))
    _pipeline.set_pipeline(_pipeline.new_pipeline(detectors=False, flood_limit=0))


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: python -m tests.hostile.fuzz.run {{{','.join(TARGETS)}}} [flags]")
    target = TARGETS[sys.argv[1]]
    _quiet_pipeline()
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
