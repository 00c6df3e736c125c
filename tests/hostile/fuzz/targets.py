"""Fuzz targets for seclog's input-facing core functions, shared by atheris and the CI smoke run.

Each target takes raw bytes, derives hostile inputs from them and asserts the
promises of ``checks``: nothing raises, every output is a valid OpenTelemetry
value free of control, escape and bidi characters. Run one under atheris with
``python -m tests.hostile.fuzz.run <target> [atheris/libFuzzer flags]``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from seclog_core._text import coerce_value, sanitize_text
from seclog_core.client_ip import TrustedProxies, resolve_client_address
from seclog_core.redact import Redactor

from .checks import check_attributes, check_text, check_value

_REDACTOR = Redactor()
_SMALL = Redactor(max_length=64)
_PROXIES = (
    TrustedProxies(),
    TrustedProxies.parse("127.0.0.0/8, 10.0.0.0/8, ::1"),
    TrustedProxies.parse((), hop_count=2),
)


def _split(data: bytes, parts: int) -> list[str]:
    """Cut the input into ``parts`` strings, decoded leniently (surrogates survive)."""
    text = data.decode("utf-8", "surrogateescape")
    chunks = text.split("\x00", parts - 1)
    return chunks + [""] * (parts - len(chunks))


def sanitizer(data: bytes) -> None:
    (text,) = _split(data, 1)
    out = sanitize_text(text, 64 + len(data) % 200)
    check_text(out, "sanitize_text")
    check_value(coerce_value(text), "coerce_value")


def redactor(data: bytes) -> None:
    key, value, body = _split(data, 3)
    redactor = _SMALL if len(data) % 2 else _REDACTOR
    out = redactor.redact_attributes({key: value, "body.nested": [value, body], "n": len(data)})
    check_attributes(out, "redact_attributes")
    check_text(redactor.scrub_text(body), "scrub_text")
    check_value(redactor.redact_value(None, {key: body}), "redact_value")


def ip_resolver(data: bytes) -> None:
    peer, forwarded, xff = _split(data, 3)
    headers = {"forwarded": forwarded} if forwarded else {}
    if xff:
        headers["x-forwarded-for"] = xff
    for proxies in _PROXIES:
        for candidate in (peer, "127.0.0.1", "10.1.2.3"):
            result = resolve_client_address(candidate, headers, proxies)
            for address in (result.address, result.peer):
                if address is not None:
                    ipaddress.ip_address(address)  # always a parseable IP, never header text


def event_builder(data: bytes) -> None:
    from seclog_core.pipeline import get_pipeline

    key, value, body, outcome = _split(data, 4)
    pipeline = get_pipeline()
    event = pipeline.emit(
        "authn_login_fail",
        {key or "k": value, "user.name": value, "security.reason": body[:40], "x": [body]},
        body=body or None,
        outcome=outcome or None,
        exception=RuntimeError(value) if len(data) % 3 == 0 else None,
    )
    assert event is not None, "emit returned None: the event was lost"
    check_text(event.body, "body")
    check_attributes(event.attributes, "event")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "sanitizer": sanitizer,
    "redactor": redactor,
    "ip_resolver": ip_resolver,
    "event_builder": event_builder,
}
