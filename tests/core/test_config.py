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


@pytest.mark.parametrize(
    ("source", "origin", "message"),
    [
        ("environ", {"SECLOG_INTEGRITY_KYE": "x" * 32}, "did you mean 'SECLOG_INTEGRITY_KEY'"),
        ("framework", {"trusted_proxys": ["10.0.0.1"]}, "did you mean 'trusted_proxies'"),
        ("framework", {"SECLOG_FLOOD_LIMT": 3}, "did you mean 'SECLOG_FLOOD_LIMIT'"),
        ("kwargs", {"redis_ulr": "redis://x"}, "did you mean 'redis_url'"),
    ],
)
def test_a_misspelt_key_is_an_error_with_did_you_mean(
    source: str, origin: dict[str, object], message: str
) -> None:
    """An unknown key in kwargs, framework dict or SECLOG_* env stops start-up, naming the fix."""
    with pytest.raises(ConfigError, match=message):
        load_settings(**{source: origin})  # type: ignore[arg-type]


def test_an_unrelated_unknown_key_gets_no_wild_guess() -> None:
    """A key close to nothing gets the list of known settings, not a misleading suggestion."""
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={"SECLOG_BANANA": "1"})
    assert "did you mean" not in str(raised.value)
    assert "known settings" in str(raised.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("integrity_key", 1234567890123456789012),
        ("pseudonymize_key", b"super-secret-bytes-value"),
        ("redis_url", ["redis://:hunter2hunter2@redis:6379/0"]),
        ("integrity_kye", "hunter2hunter2hunter2"),
        ("integrity_key", "hunter2"),
    ],
)
def test_errors_never_echo_a_secret_value(key: str, value: object) -> None:
    """A secret given with the wrong type, too short or under a typo is named, never printed."""
    with pytest.raises(ConfigError) as raised:
        load_settings(kwargs={key: value}, environ={})
    message = str(raised.value)
    assert key in message
    for secret in ("1234567890123456789012", "super-secret", "hunter2"):
        assert secret not in message


def test_forwarded_header_is_one_named_header() -> None:
    """forwarded_header picks the one header the proxy sets; a bad name is refused."""
    settings = load_settings(kwargs={"forwarded_header": "X-Real-IP"}, environ={})
    assert settings.proxies.header == "x-real-ip"
    with pytest.raises(ConfigError, match="forwarded_header"):
        load_settings(kwargs={"forwarded_header": "X Real IP"}, environ={})


@pytest.mark.parametrize("everything", ["0.0.0.0/0", "::/0"])
def test_trusting_the_whole_internet_stops_start_up(everything: str) -> None:
    """trusted_proxies covering every address is a ConfigError naming the setting."""
    with pytest.raises(ConfigError, match=r"trusted_proxies.*covers every address"):
        load_settings(environ={"SECLOG_TRUSTED_PROXIES": everything})


def test_unix_is_a_trusted_proxy_entry() -> None:
    """`unix` in trusted_proxies trusts a unix-socket peer."""
    settings = load_settings(environ={"SECLOG_TRUSTED_PROXIES": "unix, 127.0.0.1"})
    assert settings.proxies.unix and settings.proxies.configured


@pytest.mark.parametrize(
    "url",
    [
        "redis://:hunter2pass@127.0.0.1:notaport/0",
        "nope://user:hunter2pass@redis",
        "redis://user:hunter2pass@[::1/0",
    ],
)
def test_a_malformed_redis_url_error_never_shows_its_password(url: str) -> None:
    """A redis_url that cannot be used stops start-up, naming the setting but not the password."""
    from seclog_core.adapters import build_pipeline

    with pytest.raises(ConfigError) as raised:
        build_pipeline(detector_state="redis", redis_url=url)
    assert "redis_url" in str(raised.value)
    assert "hunter2pass" not in str(raised.value)
