"""Inputs the fuzzers found, kept as regression tests of the event builder and its helpers."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from seclog_core.pipeline import Pipeline, get_pipeline
from tests.support.telemetry import Telemetry, in_memory_telemetry

from .fuzz import targets


@pytest.fixture
def quiet() -> Iterator[tuple[Pipeline, Telemetry]]:
    with in_memory_telemetry(detectors=False, flood_limit=0) as telemetry:
        yield get_pipeline(), telemetry


@pytest.mark.parametrize("name", ["", "\x1b0", "\x1b[31m"])
def test_an_empty_attribute_name_does_not_disturb_the_event(
    quiet: tuple[Pipeline, Telemetry], name: str
) -> None:
    """An attribute whose name is or sanitizes to empty never disturbs the event (fuzz finding)."""
    pipeline, telemetry = quiet
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        event = pipeline.emit("authn_login_fail", {name: [], "user.name": "bob"})
    assert event is not None
    assert "" not in event.attributes
    assert telemetry.record("security.authn_login_fail").attributes["user.name"] == "bob"


@pytest.mark.parametrize("data", [b"\n", b"\x00\x00\x00", b"\xff\xfe\x00\x1b[2J\x00\xe2\x80\xae"])
def test_fuzzer_seed_inputs_pass_every_target(
    quiet: tuple[Pipeline, Telemetry], data: bytes
) -> None:
    """Inputs that once tripped a fuzz target run through every target cleanly."""
    for target in targets.TARGETS.values():
        target(data)
