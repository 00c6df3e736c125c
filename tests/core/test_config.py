"""Settings: keyword arguments > framework settings > SECLOG_* environment, validated."""

from __future__ import annotations

import pytest

from seclog_core.config import ConfigError, load_settings


def test_precedence_kwargs_over_framework_over_environment() -> None:
    """The most specific source wins for each key."""
    settings = load_settings(
        kwargs={"max_value_length": 100},
        framework={"SECLOG_MAX_VALUE_LENGTH": 200, "ecs": True},
        environ={"SECLOG_MAX_VALUE_LENGTH": "300", "SECLOG_OCSF": "true", "SECLOG_ECS": "0"},
    )
    assert settings.max_value_length == 100
    assert settings.ecs is True
    assert settings.ocsf is True


def test_environment_lists_and_mappings_are_parsed() -> None:
    """Comma-separated env values become lists and name=value maps."""
    settings = load_settings(
        environ={
            "SECLOG_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1",
            "SECLOG_FIELD_POLICIES": "user.name=pseudonymize,client.address=omit",
            "SECLOG_PSEUDONYMIZE_KEY": "k" * 32,
        }
    )
    assert settings.trusted_proxies == ("10.0.0.0/8", "127.0.0.1")
    assert settings.field_policies == {"user.name": "pseudonymize", "client.address": "omit"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"SECLOG_MAX_VALUE_LENGTH": "lots"}, "max_value_length='lots' is invalid: expected"),
        ({"SECLOG_ECS": "maybe"}, "ecs='maybe' is invalid: expected true or false"),
        ({"SECLOG_TRUSTED_PROXIES": "10.0.0.300"}, "trusted proxy '10.0.0.300'"),
        ({"SECLOG_LOCAL_SINK": "file"}, "auto or stderr or none"),
        ({"SECLOG_FIELD_POLICIES": "user.name=hide"}, "identify or pseudonymize or omit"),
        ({"SECLOG_FIELD_POLICIES": "user.name=pseudonymize"}, "SECLOG_PSEUDONYMIZE_KEY"),
        ({"SECLOG_NOPE": "1"}, "unknown seclog setting 'SECLOG_NOPE'"),
    ],
)
def test_bad_values_name_the_key_and_the_expected_form(
    source: dict[str, str], message: str
) -> None:
    """A misconfiguration fails at start-up with an actionable message."""
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(environ=source)


def test_defaults_need_no_configuration() -> None:
    """With nothing set, seclog runs with safe defaults."""
    settings = load_settings(environ={})
    assert settings.enabled and not settings.proxies.configured
