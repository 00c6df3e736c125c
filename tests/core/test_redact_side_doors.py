"""Side doors: pair lists, header objects, mapping keys, route parameters, caps, policies, URLs."""

from __future__ import annotations

import email.message
import http.client
import io
import logging
import sqlite3
from types import SimpleNamespace

import pytest
import requests
from requests.structures import CaseInsensitiveDict
from starlette.datastructures import Headers as StarletteHeaders
from werkzeug.datastructures import Headers as WerkzeugHeaders

import seclog_core as seclog
from seclog_core.log_scrubbing import (
    SERVER_LOGGERS,
    RedactingFilter,
    attach_server_log_scrubbing,
    scrub_server_loggers,
)
from seclog_core.redact import REDACTED, Redactor
from seclog_core.url_scrubbing import redact_route_params, scrub_url
from tests.support.telemetry import Telemetry, in_memory_telemetry

TOKEN = "HdrTok-9f8e7d6c5b4a"
KEY = "HdrKey-1a2b3c4d5e"


@pytest.fixture
def redactor() -> Redactor:
    return Redactor()


def _http_message() -> http.client.HTTPMessage:
    message = http.client.HTTPMessage()
    message["Authorization"] = f"Token {TOKEN}"
    message["X-Api-Key"] = KEY
    return message


def _email_message() -> email.message.Message:
    message = email.message.Message()
    message["Authorization"] = f"Token {TOKEN}"
    message["X-Api-Key"] = KEY
    return message


HEADER_CARRIERS = {
    "list of tuples": lambda: [("Authorization", f"Token {TOKEN}"), ("X-Api-Key", KEY)],
    "list of lists": lambda: [["authorization", f"Token {TOKEN}"], ["x-api-key", KEY]],
    "tuple of byte pairs": lambda: (
        (b"authorization", TOKEN.encode()),
        (b"x-api-key", KEY.encode()),
    ),
    "werkzeug Headers": lambda: WerkzeugHeaders(
        [("Authorization", f"Token {TOKEN}"), ("X-Api-Key", KEY)]
    ),
    "starlette Headers": lambda: StarletteHeaders(
        raw=[(b"authorization", TOKEN.encode()), (b"x-api-key", KEY.encode())]
    ),
    "requests CaseInsensitiveDict": lambda: CaseInsensitiveDict(
        {"Authorization": f"Token {TOKEN}", "X-Api-Key": KEY}
    ),
    "http.client HTTPMessage": _http_message,
    "email Message": _email_message,
}


@pytest.mark.parametrize("carrier", HEADER_CARRIERS, ids=str)
def test_header_lists_and_objects_lose_their_secrets(redactor: Redactor, carrier: str) -> None:
    """Secrets in (name, value) pair lists and framework header objects are redacted by name."""
    value = HEADER_CARRIERS[carrier]()
    out = str(redactor.redact_value("http.request.headers", value))
    assert TOKEN not in out and KEY not in out, out
    attrs = redactor.redact_attributes({"headers": value, "nested": {"h": value}})
    assert TOKEN not in str(attrs) and KEY not in str(attrs)


def test_header_objects_through_emit(telemetry: Telemetry) -> None:
    """A header object passed to seclog.emit leaves without its credentials."""
    for make in HEADER_CARRIERS.values():
        seclog.emit("authz_fail", attributes={"headers": make()})
    text = str([dict(r.attributes) for r in telemetry.records()])
    assert len(telemetry.records()) == len(HEADER_CARRIERS)
    assert TOKEN not in text and KEY not in text


def test_secrets_in_mapping_keys_are_scrubbed(redactor: Redactor) -> None:
    """A secret used as an attribute name or a nested key is cut out of the name too."""
    aws = "AKIAQ7HOSTILE4KEYS99"
    attrs = redactor.redact_attributes(
        {
            f"token.{aws}": "x",
            "sessions": {"password=KeyPw-77": "bob", aws: "alice"},
            "password=KeyPw-78": 1,
        }
    )
    text = str(attrs)
    assert aws not in text and "KeyPw-77" not in text and "KeyPw-78" not in text


@pytest.mark.parametrize(
    ("route", "path", "expected"),
    [
        ("/reset/<token>", "/reset/RtTok-1a", "/reset/[REDACTED]"),
        ("/reset/<string:token>/done", "/reset/RtTok-1b/done", "/reset/[REDACTED]/done"),
        ("reset/<str:uidb64>/<str:token>/", "/reset/MQ/RtTok-1c/", "/reset/MQ/[REDACTED]/"),
        ("/reset/{token}", "/reset/RtTok-1d?next=/", "/reset/[REDACTED]?next=/"),
        ("/api/keys/{api_key:str}", "/api/keys/RtKey-1e", "/api/keys/[REDACTED]"),
        ("/activate/<code>", "/activate/RtCode-1f", "/activate/[REDACTED]"),
        ("^reset/(?P<token>[^/]+)/$", "/reset/RtTok-1g/", "/reset/[REDACTED]/"),
        ("/files/{secret:path}", "/files/a/b/RtSec-1h", "/files/[REDACTED]"),
        ("/users/<int:user_id>", "/users/42", "/users/42"),
        ("/reset/<token>", "/mounted/app/reset/RtTok-1i", "/mounted/app/reset/[REDACTED]"),
    ],
)
def test_route_parameters_named_secret_are_cut_from_the_path(
    redactor: Redactor, route: str, path: str, expected: str
) -> None:
    """With http.route naming a secret parameter, its segment of url.path is redacted."""
    assert redact_route_params(path, route, redactor.is_sensitive_key) == expected
    attrs = redactor.redact_attributes({"http.route": route, "url.path": path})
    assert attrs["url.path"] == expected


def test_route_parameters_through_emit(telemetry: Telemetry) -> None:
    """An event inside a request to /reset/<token> never carries the token."""
    ctx = seclog.RequestContext(path="/reset/RtTok-emit-2", route="/reset/<token>")
    with seclog.request_context(ctx):
        seclog.emit("authn_fail", reason="bad_token")
    attrs = dict(telemetry.record("security.authn_fail").attributes)
    assert attrs["url.path"] == "/reset/[REDACTED]"
    assert "RtTok-emit-2" not in str(attrs)


@pytest.mark.parametrize("offset", [-12, -5, -1, 0, 3, 10])
def test_a_secret_cut_by_the_length_cap_is_still_recognised(offset: int) -> None:
    """Redaction runs before the cap: no prefix of a secret straddling the cap survives."""
    small = Redactor(max_length=64)
    for secret, needle in (
        ("password=CapPw-0123456789", "CapPw-0"),
        ("4111 1111 1111 1111", "4111 1111"),
        ("AKIAQ7HOSTILE4CAP999", "AKIAQ7H"),
        ("https://bob:CapUrl-99@h/", "CapUrl"),
    ):
        text = "x" * (64 + offset - len(secret) // 2) + " " + secret + " tail"
        out = small.scrub_text(text)
        assert needle not in out, (secret, offset, out)
        assert needle not in str(small.redact_value("note", text))
        assert needle not in str(small.redact_value("note", text.encode()))


def test_a_long_name_ending_in_a_secret_word_is_still_sensitive(redactor: Redactor) -> None:
    """A name is judged before it is capped: 300 characters ending in password still hide."""
    name = "x" * 300 + "_password"
    out = redactor.redact_attributes({name: "LongName-Pw-1"})
    assert list(out.values()) == [REDACTED]


def test_huge_values_are_cut_after_scanning(redactor: Redactor) -> None:
    """A secret in a value far past the cap is scanned (within the scan window) before the cut."""
    text = "a " * 900 + "password=Huge-Pw-5 " + "b " * 5000
    out = redactor.scrub_text(text)
    assert "Huge-Pw-5" not in out
    assert out.endswith("chars]")


def test_omitted_client_address_leaves_no_copy() -> None:
    """With client.address=omit, network.peer.address and security.forwarded carry nothing."""
    policies = {"client.address": "omit"}
    attrs = Redactor(field_policies=policies).redact_attributes(  # type: ignore[arg-type]
        {
            "client.address": "198.51.100.23",
            "network.peer.address": "198.51.100.23",
            "security.forwarded": "198.51.100.23, 10.0.0.1",
            "user.name": "bob",
        }
    )
    assert attrs == {"user.name": "bob"}


def test_pseudonymized_user_name_covers_changed_and_target_users() -> None:
    """With user.name=pseudonymize, user.changes.name and user.target.name are pseudonymized too."""
    redactor = Redactor(pseudonymize_key=b"k" * 32, field_policies={"user.name": "pseudonymize"})
    attrs = redactor.redact_attributes(
        {"user.name": "alice", "user.changes.name": "bob", "user.target.name": "carol"}
    )
    assert attrs["user.name"] == redactor.pseudonymize("alice")
    assert attrs["user.changes.name"] == redactor.pseudonymize("bob")
    assert attrs["user.target.name"] == redactor.pseudonymize("carol")


def test_an_alias_keeps_its_own_explicit_policy() -> None:
    """An attribute with a policy of its own is not overridden by its datum's policy."""
    redactor = Redactor(
        field_policies={"client.address": "omit", "network.peer.address": "identify"}
    )
    attrs = redactor.redact_attributes({"client.address": "a", "network.peer.address": "b"})
    assert attrs == {"network.peer.address": "b"}


def test_policies_through_emit_cover_every_copy() -> None:
    """Through the pipeline, request context and manual fields alike follow the datum's policy."""
    with in_memory_telemetry(
        field_policies={"client.address": "omit", "user.name": "pseudonymize"},
        pseudonymize_key="p" * 32,
    ) as telemetry:
        ctx = seclog.RequestContext(client_address="198.51.100.9", peer_address="198.51.100.9")
        with seclog.request_context(ctx):
            seclog.emit(
                "authz_change",
                username="alice",
                target_user="carol",
                changed_by="dave",
                attributes={"security.forwarded": "198.51.100.9"},
            )
        attrs = dict(telemetry.records()[0].attributes)
    text = str(attrs)
    for clear in ("198.51.100.9", "alice", "carol", "dave"):
        assert clear not in text, (clear, attrs)


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://bob:EpPw-1@collector.example:4318", "EpPw-1"),
        ("https://bob:Ep@Pw-2@collector.example:4318/v1/logs", "Pw-2"),
        ("grpc://:EpPw-3@[::1]:4317", "EpPw-3"),
        ("https://collector.example/v1/logs?api_key=EpKey-4", "EpKey-4"),
        ("redis://default:EpPw-5@cache:6379/0", "EpPw-5"),
    ],
)
def test_urls_seclog_prints_are_scrubbed(url: str, secret: str) -> None:
    """Endpoints seclog prints (warnings, `seclog check`) never show credentials."""
    out = scrub_url(url)
    assert secret not in out
    assert "[REDACTED]" in out


def test_seclog_own_warnings_are_scrubbed() -> None:
    """A warning on seclog's logger naming a collector URL with credentials prints none."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("seclog")
    logger.addHandler(handler)
    try:
        logger.warning(
            "seclog: the collector at %s is not accepting", "https://u:WarnPw-8@c.example/"
        )
    finally:
        logger.removeHandler(handler)
    assert "WarnPw-8" not in stream.getvalue()
    assert "collector at" in stream.getvalue()


def test_real_sqlite_error_text_is_scrubbed(telemetry: Telemetry) -> None:
    """A real sqlite3 error echoing a literal of the statement loses it on the way out."""
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("SELECT * FROM t WHERE x = 'SqlLeak-1' 'SqlLeak-2'")
    except sqlite3.Error as exc:
        seclog.emit("sys_error", exception=exc)
    finally:
        connection.close()
    attrs = dict(telemetry.record("security.sys_error").attributes)
    assert "syntax error" in attrs["exception.message"]
    assert "SqlLeak" not in str(attrs)


def test_real_requests_header_error_is_scrubbed(telemetry: Telemetry) -> None:
    """requests echoing an invalid header value in its error never exports the value."""
    try:
        requests.Request(
            "GET", "http://example.invalid", headers={"X-Custom": " ReqLeak-3"}
        ).prepare()
    except requests.exceptions.InvalidHeader as exc:
        seclog.emit("sys_error", exception=exc)
    attrs = dict(telemetry.record("security.sys_error").attributes)
    assert "header value" in attrs["exception.message"]
    assert "ReqLeak-3" not in str(attrs)


def test_scrub_server_loggers_scrubs_a_crash_once_attached() -> None:
    """Once scrub_server_loggers ran, a framework logger's traceback loses the secret."""
    name = "seclog.tests.server_logger"
    logger = logging.getLogger(name)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        assert scrub_server_loggers(names=(name,)) == [name]
        assert scrub_server_loggers(names=(name,)) == []
        try:
            raise RuntimeError("could not connect to postgresql://app:SrvPw-4@db/prod")
        except RuntimeError:
            logger.exception("Internal Server Error: /boom")
    finally:
        logger.removeHandler(handler)
        logger.filters.clear()
    out = stream.getvalue()
    assert "Traceback" in out and "RuntimeError" in out
    assert "SrvPw-4" not in out


class _Account:
    def __repr__(self) -> str:
        return "Account(user='bob', api_key='ExtraKey-6')"


def test_redacting_filter_scrubs_object_extras_and_cached_message() -> None:
    """Extras of any type and a message already formatted by another handler are scrubbed."""
    record = logging.LogRecord("app", logging.INFO, "f", 1, "login %s", ("password=MsgPw-5",), None)
    record.message = record.getMessage()
    record.account = _Account()
    RedactingFilter().filter(record)
    assert "MsgPw-5" not in record.getMessage() and "MsgPw-5" not in record.message
    assert "ExtraKey-6" not in str(record.account)  # type: ignore[attr-defined]


def test_invisible_characters_never_reach_the_collector_raw(telemetry: Telemetry) -> None:
    """A user name with a zero-width space or tag characters is exported escaped, not as admin."""
    seclog.emit("authn_login_fail", username="ad\u200bmin\U000e0041")
    attrs = dict(telemetry.record("security.authn_login_fail").attributes)
    assert attrs["user.name"] == "ad\\u200bmin\\U000e0041"


def test_server_log_scrubbing_follows_the_setting() -> None:
    """Adapters' start-up call attaches the filter when scrub_server_logs is on, never when off."""
    extra = "seclog.tests.framework_logger"
    off = SimpleNamespace(settings=SimpleNamespace(scrub_server_logs=False), redactor=Redactor())
    assert attach_server_log_scrubbing(off, extra) == []
    assert not logging.getLogger(extra).filters
    on = SimpleNamespace(settings=SimpleNamespace(scrub_server_logs=True), redactor=Redactor())
    covered = attach_server_log_scrubbing(on, extra)
    try:
        assert extra in covered
        assert all(
            any(isinstance(f, RedactingFilter) for f in logging.getLogger(name).filters)
            for name in (*SERVER_LOGGERS, extra)
        )
    finally:
        for name in covered:  # leave other tests' loggers as they were
            target = logging.getLogger(name)
            for found in [f for f in target.filters if isinstance(f, RedactingFilter)]:
                target.removeFilter(found)


class _Request:
    def __init__(self, target: str) -> None:
        self.target = target
        self.META = {"REMOTE_ADDR": "198.51.100.4"}

    def __str__(self) -> str:
        return f"<WSGIRequest: GET {self.target!r}>"


def test_object_extras_keep_their_attributes_for_handlers() -> None:
    """A request extra prints scrubbed yet lends .META to handlers; a clean one is untouched."""
    leaky = _Request("/reset?token=ObjTok-7")
    clean = _Request("/home")
    for extra in (leaky, clean):
        record = logging.LogRecord("django.request", logging.ERROR, "f", 1, "boom", None, None)
        record.request = extra
        RedactingFilter().filter(record)
        kept = record.request  # type: ignore[attr-defined]
        assert kept.META["REMOTE_ADDR"] == "198.51.100.4"
        assert "ObjTok-7" not in str(kept) and "ObjTok-7" not in f"{kept}"
    assert kept is clean


def test_a_message_template_among_the_extras_is_filled_in() -> None:
    """uvicorn's color_message extra still reads right once the message's args are gone."""
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, "f", 1, "Started server process [%d]", (4242,), None
    )
    record.color_message = "Started server process [\x1b[36m%d\x1b[0m]"
    RedactingFilter().filter(record)
    assert record.getMessage() == "Started server process [4242]"
    assert record.color_message == "Started server process [4242]"  # type: ignore[attr-defined]
