"""Property tests: hostile input through the core never raises and never leaves unsafe output.

The redactor, the sanitizer, the client-IP resolver and the event builder
(``Pipeline.emit``) are driven with arbitrary text, bytes-decoded junk, nested
structures and odd objects; every output must be a valid OpenTelemetry value
with no CR, LF, ESC, NUL or bidi control in it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seclog_core._text import coerce_value, sanitize_text
from seclog_core.client_ip import TrustedProxies, resolve_client_address
from seclog_core.pipeline import Pipeline, get_pipeline
from seclog_core.redact import Redactor
from seclog_core.testing import capture_security_events
from tests.support.telemetry import in_memory_telemetry

from .conftest import LONG
from .fuzz.checks import check_attributes, check_text, check_value

EXAMPLES = 2000 if LONG else 150
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
HOSTILE_CHARS = st.sampled_from(
    ["\r", "\n", "\r\n", "\x00", "\x1b[31m", "\x1b]0;pwn\x07", "\u202e", "\u2066", "\u2028",
     "\x85", "\x9b", "\ud800", "\ufeff", "%0d%0a", "\\n", "\x7f", "=", "@", ":"]
)  # fmt: skip
TEXT = st.lists(
    st.one_of(st.text(st.characters(codec=None), max_size=40), HOSTILE_CHARS), max_size=12
).map("".join)
JUNK_BYTES = st.binary(max_size=200).map(lambda b: b.decode("utf-8", "surrogateescape"))
ANY_TEXT = st.one_of(TEXT, JUNK_BYTES, st.text(max_size=3000))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    ANY_TEXT,
    st.binary(max_size=64),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.tuples(inner, inner),
        st.sets(st.integers(), max_size=4),
        st.dictionaries(ANY_TEXT, inner, max_size=4),
    ),
    max_leaves=20,
)
IP_LIKE = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]:443"),
    st.sampled_from(["unknown", "_hidden", "::ffff:10.0.0.1", "1.2.3.4:80", "", " , ,"]),
    ANY_TEXT,
)
FORWARDED = st.lists(
    st.one_of(
        IP_LIKE,
        IP_LIKE.map(lambda ip: f"for={ip}"),
        IP_LIKE.map(lambda ip: f'for="{ip}";proto=https;by=x'),
    ),
    max_size=8,
).map(", ".join)
PROXIES = st.sampled_from(
    [
        TrustedProxies(),
        TrustedProxies.parse("127.0.0.0/8, 10.0.0.0/8, ::1"),
        TrustedProxies.parse((), hop_count=1),
        TrustedProxies.parse((), hop_count=5),
    ]
)


@given(ANY_TEXT, st.integers(min_value=1, max_value=5000))
@SETTINGS
def test_sanitized_text_is_one_safe_line(text: str, limit: int) -> None:
    """Any text, however hostile, sanitizes to one line with no control, escape or bidi char."""
    out = sanitize_text(text, limit)
    check_text(out, "sanitize_text")
    assert len(out) <= limit + 40


@given(VALUES)
@SETTINGS
def test_any_python_value_coerces_to_an_otel_attribute(value: object) -> None:
    """Any Python value coerces to a valid, safe OpenTelemetry attribute value."""
    check_value(coerce_value(value), "coerce_value")


@given(st.dictionaries(ANY_TEXT, VALUES, max_size=8), ANY_TEXT)
@SETTINGS
def test_redactor_output_is_always_safe(attributes: dict[str, object], body: str) -> None:
    """Redacting arbitrary attributes and free text never raises and never yields unsafe text."""
    for redactor in (Redactor(), Redactor(max_length=32)):
        check_attributes(redactor.redact_attributes(attributes), "redact_attributes")
        check_text(redactor.scrub_text(body), "scrub_text")


@given(IP_LIKE, FORWARDED, FORWARDED, PROXIES)
@SETTINGS
def test_client_address_is_always_an_ip_and_never_forged(
    peer: str, forwarded: str, xff: str, proxies: TrustedProxies
) -> None:
    """The resolved client is an IP or nothing, and without trusted proxies always the peer."""
    headers = {"forwarded": forwarded, "x-forwarded-for": xff}
    result = resolve_client_address(peer, headers, proxies)
    for address in (result.address, result.peer):
        if address is not None:
            ipaddress.ip_address(address)
    if not proxies.configured:
        assert result.address == result.peer


@given(IP_LIKE, FORWARDED)
@SETTINGS
def test_an_untrusted_peer_can_never_choose_its_address(forwarded: str, peer_ip: str) -> None:
    """A peer outside the trusted networks is the client, whatever header it sends."""
    proxies = TrustedProxies.parse("10.0.0.0/8")
    result = resolve_client_address("203.0.113.9", {"x-forwarded-for": forwarded}, proxies)
    assert result.address == "203.0.113.9"


@pytest.fixture(scope="module")
def fuzz_pipeline() -> Iterator[Pipeline]:
    with in_memory_telemetry(detectors=False, flood_limit=0):
        yield get_pipeline()


@given(
    st.dictionaries(ANY_TEXT, VALUES, max_size=8),
    st.one_of(st.none(), ANY_TEXT),
    st.one_of(st.none(), ANY_TEXT),
    st.one_of(st.none(), ANY_TEXT.map(RuntimeError)),
)
@SETTINGS
def test_event_builder_never_raises_and_emits_safe_records(
    fuzz_pipeline: Pipeline,
    attributes: dict[str, object],
    body: str | None,
    outcome: str | None,
    exception: BaseException | None,
) -> None:
    """Pipeline.emit with arbitrary attributes and body emits one well-formed, safe record."""
    with capture_security_events() as events:
        event = fuzz_pipeline.emit(
            "authn_login_fail", attributes, body=body, outcome=outcome, exception=exception
        )
    assert event is not None
    assert [e.name for e in events] == ["security.authn_login_fail"]
    check_text(event.body, "body")
    check_attributes(event.attributes, "event")
    assert event.attributes["security.event"] == "authn_login_fail"
