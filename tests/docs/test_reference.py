"""The generated reference pages match the code, and the collector example is consistent."""

from __future__ import annotations

import dataclasses
import importlib.util
from types import ModuleType

import yaml

from seclog_core.config import Settings
from seclog_core.vocabulary import BUILT_IN_EVENT_TYPES
from tests.docs._examples import ROOT


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_reference", ROOT / "docs/gen_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_events_page_is_generated_from_the_vocabulary() -> None:
    """docs/events.md is what the generator writes today, and names every event type."""
    page = (ROOT / "docs/events.md").read_text(encoding="utf-8")
    assert page == _generator().events_page(), "run: python docs/gen_reference.py"
    for name in BUILT_IN_EVENT_TYPES:  # not the types other tests registered for an app
        assert f"`security.{name}`" in page


def test_settings_page_is_generated_from_settings() -> None:
    """docs/settings.md is what the generator writes today, and names every setting."""
    page = (ROOT / "docs/settings.md").read_text(encoding="utf-8")
    assert page == _generator().settings_page(), "run: python docs/gen_reference.py"
    code_only = _generator().CODE_ONLY
    for field in dataclasses.fields(Settings):
        assert f"| `{field.name}` |" in page
        assert (field.name in code_only) != (f"`SECLOG_{field.name.upper()}`" in page)


def test_every_setting_has_a_description() -> None:
    """A new setting cannot reach the docs without saying what it does."""
    described = _generator().SETTING_HELP
    missing = [f.name for f in dataclasses.fields(Settings) if f.name not in described]
    assert not missing, f"describe these in docs/gen_reference.py SETTING_HELP: {missing}"


def test_collector_example_routes_security_events_to_siem_and_file() -> None:
    """The documented collector config defines every component its pipelines use."""
    config = yaml.safe_load((ROOT / "docs/collector/otelcol-security.yaml").read_text())
    pipelines = config["service"]["pipelines"]
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            for name in pipeline.get(kind, []):
                assert name in config[kind], f"{name} is used but not defined under {kind}"
    security = pipelines["logs/security"]
    assert "file/security" in security["exporters"]
    assert any(name != "file/security" for name in security["exporters"])
    keep_only = config["processors"][security["processors"][0]]["logs"]["log_record"]
    # The filter drops records without the attribute every seclog event carries.
    assert keep_only == ['attributes["security.event"] == nil']
    assert "security.event" in (ROOT / "docs/events.md").read_text()


def test_kubernetes_example_sets_only_known_seclog_settings() -> None:
    """The Deployment example is valid YAML and every SECLOG_* variable it sets exists."""
    deployment = yaml.safe_load((ROOT / "docs/kubernetes/app.yaml").read_text())
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    known = {f"SECLOG_{field.name.upper()}" for field in dataclasses.fields(Settings)}
    names = {item["name"] for item in env if item["name"].startswith("SECLOG_")}
    assert names and names <= known, names - known
