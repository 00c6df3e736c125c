"""The redactor: key rules, value detectors, policies, vetoes and safety."""

from __future__ import annotations

import re

import pytest

from seclog_core.redact import (
    DEFAULT_PATTERNS,
    REDACTED,
    RedactionMatch,
    Redactor,
    ValuePattern,
)

# Attribute names seclog itself emits (DESIGN.md "Events"): none may be redacted.
SECLOG_ATTRIBUTE_NAMES = [
    "user.id",
    "user.name",
    "client.address",
    "user_agent.original",
    "http.request.method",
    "http.route",
    "url.path",
    "http.response.status_code",
    "server.address",
    "error.type",
    "exception.type",
    "exception.message",
    "exception.stacktrace",
    "security.event",
    "security.outcome",
    "security.reason",
    "security.level",
    "seclog.sequence",
    "seclog.stream_id",
    "seclog.hmac",
    "seclog.prev_hmac",
    "event.category",
    "event.type",
    "event.outcome",
    "code.function.name",
    "code.file.path",
    "code.line.number",
]

OTHER_SAFE_NAMES = [
    "span",
    "span_id",
    "company",
    "opinion",
    "author",
    "cardinality",
    "discarded",
    "shipping",
    "happiness",
    "ping_ms",
    "accept",
    "success",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "key",
    "monkey",
]

SENSITIVE_NAMES = [
    "password",
    "PASSWORD",
    "user_password",
    "X-Api-Key",
    "api-key",
    "apiKey",
    "http.request.header.authorization",
    "http.request.header.cookie",
    "http.response.header.set-cookie",
    "SESSION_ID",
    "sessionid",
    "session.id",
    "db.connection.secret",
    "client_secret",
    "refresh_token",
    "csrfmiddlewaretoken",
    "_csrf",
    "X-XSRF-TOKEN",
    "card_number",
    "cardNumber",
    "credit_card",
    "cc",
    "cc-number",
    "ccNumber",
    "pan",
    "cvv",
    "CVC",
    "ssn",
    "user.ssn",
    "otp",
    "pin",
    "userPIN",
    "pwd",
    "auth",
    "x-auth",
    "AWS_ACCESS_KEY_ID",
    "private_key",
    "db.credentials",
]


@pytest.fixture
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize("name", SECLOG_ATTRIBUTE_NAMES + OTHER_SAFE_NAMES)
def test_seclog_and_ordinary_names_are_not_sensitive(redactor: Redactor, name: str) -> None:
    """seclog's own attribute names and look-alike words are never redacted."""
    assert not redactor.is_sensitive_key(name)
    assert redactor.redact_attributes({name: "value"}) == {name: "value"}


@pytest.mark.parametrize("name", SENSITIVE_NAMES)
def test_sensitive_names_are_redacted_whatever_their_case_or_separators(
    redactor: Redactor, name: str
) -> None:
    """Values under credential, session and card names become [REDACTED]."""
    assert redactor.is_sensitive_key(name)
    assert redactor.redact_attributes({name: "hunter2"}) == {name: REDACTED}


@pytest.mark.parametrize("value", [42, None, ["a", "b"], {"nested": "x"}, b"raw", 3.5])
def test_key_rule_redacts_any_value_type(redactor: Redactor, value: object) -> None:
    """A sensitive name hides its value whatever the value's type."""
    assert redactor.redact_value("password", value) == REDACTED


def test_nested_mappings_are_redacted_by_their_own_keys(redactor: Redactor) -> None:
    """Inside a dict value, sensitive sub-keys are redacted and the rest kept."""
    out = redactor.redact_value("headers", {"Cookie": "sid=abc", "Accept": "text/html"})
    assert out == '{"Cookie": "[REDACTED]", "Accept": "text/html"}'


def test_extra_keys_extend_the_denylist() -> None:
    """Users can add their own sensitive names."""
    redactor = Redactor(extra_keys=["tckn", "mother_maiden_name"])
    assert redactor.is_sensitive_key("user.TCKN")
    assert redactor.is_sensitive_key("MotherMaidenName")
    assert redactor.scrub_text("tckn=12345678901") == "tckn=[REDACTED]"


def test_safe_keys_override_the_denylist() -> None:
    """Users can declare a name that looks sensitive but is not."""
    redactor = Redactor(safe_keys=["app.token_count"])
    assert redactor.redact_attributes({"app.token_count": 3}) == {"app.token_count": 3}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111 ok", "card [REDACTED] ok"),
        ("card 4111-1111-1111-1111", "card [REDACTED]"),
        ("amex 3782 822463 10005", "amex [REDACTED]"),
        ("qty 2 4111 1111 1111 1111", "qty 2 [REDACTED]"),
        ("4111111111111111", REDACTED),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlF",
            "jwt [REDACTED]",
        ),
        ("Authorization: Bearer abcdef0123456789", "Authorization: Bearer [REDACTED]"),
        ("bearer abcdef0123456789", "bearer [REDACTED]"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [REDACTED]"),
        ("id AKIAIOSFODNN7EXAMPLE used", "id [REDACTED] used"),
        (
            "AWS secret key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS secret key: [REDACTED]",
        ),
        (
            "x -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY----- y",
            "x [REDACTED] y",
        ),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk", REDACTED),
        (
            "db postgres://app:s3cr3t@db.internal:5432/x",
            "db postgres://[REDACTED]@db.internal:5432/x",
        ),
        ("GET /cb?token=abc123&page=2", "GET /cb?token=[REDACTED]&page=2"),
        ("GET /cb?page=2&api%5Fkey=abc", "GET /cb?page=2&api%5Fkey=[REDACTED]"),
        ("password=hunter2 user=bob", "password=[REDACTED] user=bob"),
        ("password: hunter2", "password: [REDACTED]"),
        ('{"password": "hunter 2", "user": "bob"}', '{"password": "[REDACTED]", "user": "bob"}'),
        ("client_secret='abc def'", "client_secret='[REDACTED]'"),
        ("pin=1234", "pin=[REDACTED]"),
        ("with password hunter2 and", "with password [REDACTED] and"),
        ("gh token ghp_" + "a" * 36, "gh token [REDACTED]"),
        ("slack xoxb-123456789012-abcdefghij", "slack [REDACTED]"),
        ("stripe sk_live_" + "a1" * 12, "stripe [REDACTED]"),
        ("google AIza" + "b" * 35, "google [REDACTED]"),
        ("openai sk-proj-" + "c" * 40, "openai [REDACTED]"),
    ],
)
def test_value_detectors_cut_secrets_out_of_text(
    redactor: Redactor, text: str, expected: str
) -> None:
    """Secrets recognised by their shape are replaced and the surrounding text kept."""
    assert redactor.scrub_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 1234567812345678 shipped",  # 16 digits, fails Luhn
        "order 4111 1111 1111 1112",
        "550e8400-e29b-41d4-a716-446655440000",
        "2024-01-01T12:00:00.123456+00:00",
        "at 1700000000123 ms, 1700000000123456789 ns",
        "seclog 1.2.3, Python 3.12.1",
        "https://example.com/path?page=2&sort=asc#top",
        "ssh://git@github.com/org/repo.git",
        "mailto:bob@example.com",
        "password changed for bob.",
        "Password reset requested",
        "basic setup done",
        "The Bearer of bad news",
        "csrf_token_missing",
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.0.0",
        "tel +1 555 010 9999",
    ],
)
def test_ordinary_text_is_not_redacted(redactor: Redactor, text: str) -> None:
    """Order ids, UUIDs, timestamps, versions, plain URLs and prose survive."""
    assert redactor.scrub_text(text) == text


def test_all_letter_password_after_a_space_is_a_documented_miss(redactor: Redactor) -> None:
    """ "password swordfish" cannot be told from prose, so it is kept (as documented)."""
    assert redactor.scrub_text("password swordfish") == "password swordfish"


def test_scrubbed_text_is_injection_safe(redactor: Redactor) -> None:
    """scrub_text also neutralises control characters after detection."""
    assert redactor.scrub_text("a\nb password=x\r\n") == "a\\nb password=[REDACTED]\\r\\n"


def test_redaction_is_idempotent(redactor: Redactor) -> None:
    """Scrubbing scrubbed text changes nothing."""
    text = (
        "Bearer abcdef0123456789 https://u:p@h/?token=1 password=x 4111111111111111 "
        "Authorization: Basic dXNlcjpwYXNz"
    )
    once = redactor.scrub_text(text)
    assert redactor.scrub_text(once) == once
    attrs = redactor.redact_attributes({"q": text, "password": "x"})
    assert redactor.redact_attributes(attrs) == attrs


def test_attribute_names_are_sanitized(redactor: Redactor) -> None:
    """An attacker-controlled attribute name cannot inject a line break."""
    out = redactor.redact_attributes({"x\nforged=1": "v"})
    assert out == {"x\\nforged=1": "v"}


def test_field_policies_omit_pseudonymize_and_identify() -> None:
    """Policies drop, pseudonymize or keep named attributes."""
    redactor = Redactor(
        pseudonymize_key=b"k" * 32,
        field_policies={
            "client.address": "omit",
            "user.name": "pseudonymize",
            "session.id": "identify",
        },
    )
    out = redactor.redact_attributes(
        {"client.address": "203.0.113.5", "user.name": "bob", "session.id": "s-1", "x": 1}
    )
    assert "client.address" not in out
    assert out["user.name"] == redactor.pseudonymize("bob")
    assert re.fullmatch(r"pseu:[0-9a-f]{32}", str(out["user.name"]))
    assert out["session.id"] == "s-1"
    assert out["x"] == 1


def test_pseudonyms_are_stable_per_key_and_differ_across_keys() -> None:
    """The same name maps to the same pseudonym under one key and another under a new key."""
    a, b = Redactor(pseudonymize_key=b"a" * 32), Redactor(pseudonymize_key=b"b" * 32)
    assert a.pseudonymize("bob") == a.pseudonymize("bob")
    assert a.pseudonymize("bob") != a.pseudonymize("alice")
    assert a.pseudonymize("bob") != b.pseudonymize("bob")


def test_pseudonymize_without_a_key_is_a_clear_error() -> None:
    """Asking for pseudonyms without a key fails loudly, at configuration time too."""
    with pytest.raises(ValueError, match="pseudonymize_key"):
        Redactor().pseudonymize("bob")
    with pytest.raises(ValueError, match="pseudonymize_key"):
        Redactor(field_policies={"user.name": "pseudonymize"})


def test_unknown_field_policy_is_rejected() -> None:
    """A misspelt policy names the attribute and the allowed values."""
    with pytest.raises(ValueError, match=r"user\.name.*identify"):
        Redactor(field_policies={"user.name": "hide"})  # type: ignore[dict-item]


def test_veto_can_keep_a_value() -> None:
    """A veto returning True keeps the original and sees what matched."""
    seen: list[RedactionMatch] = []

    def veto(match: RedactionMatch) -> bool:
        seen.append(match)
        return match.rule == "card_number"

    redactor = Redactor(veto=veto)
    assert redactor.redact_value("note", "test card 4111111111111111") == (
        "test card 4111111111111111"
    )
    assert seen == [RedactionMatch("note", "card_number", "4111111111111111")]
    assert redactor.redact_value("password", "x") == REDACTED
    assert seen[-1] == RedactionMatch("password", "sensitive_key", "x")


def test_a_veto_that_raises_means_redact() -> None:
    """A broken veto never leaks a secret."""

    def veto(match: RedactionMatch) -> bool:
        raise RuntimeError("bug")

    redactor = Redactor(veto=veto)
    assert redactor.redact_value("password", "x") == REDACTED
    assert redactor.scrub_text("4111111111111111") == REDACTED


def test_extra_patterns_accept_regex_strings_and_value_patterns() -> None:
    """User detectors run after the defaults."""
    redactor = Redactor(
        extra_patterns=[
            r"EMP-\d{6}",
            ValuePattern("ticket", re.compile(r"TKT-(\d+)"), lambda m: "TKT-#"),
        ]
    )
    assert redactor.scrub_text("emp EMP-123456 ticket TKT-99") == "emp [REDACTED] ticket TKT-#"


def test_default_patterns_are_named_and_documented() -> None:
    """Every default detector has a distinct name a veto can refer to."""
    names = [p.name for p in DEFAULT_PATTERNS]
    assert len(names) == len(set(names))
    for required in (
        "card_number",
        "jwt",
        "bearer",
        "basic_auth",
        "aws_access_key",
        "private_key",
        "url_credentials",
        "query_secret",
    ):
        assert required in names


class _Explodes:
    def __str__(self) -> str:
        raise RuntimeError("boom")

    def __repr__(self) -> str:
        raise RuntimeError("boom")


class _BadMapping(dict[str, object]):
    def items(self):  # type: ignore[no-untyped-def, override]
        raise RuntimeError("boom")


def test_redaction_never_raises(redactor: Redactor) -> None:
    """Whatever the input, the redactor returns something safe."""
    out = redactor.redact_attributes({"a": _Explodes(), "b": [_Explodes()], 3: "x"})  # type: ignore[dict-item]
    assert out["a"] == "<unrepresentable _Explodes>"
    assert out["3"] == "x"
    assert redactor.redact_attributes(_BadMapping()) == {}
    assert redactor.redact_value("k", _BadMapping(a=1)) == REDACTED
    assert redactor.scrub_text(None) == "None"  # type: ignore[arg-type]


def test_length_cap_applies_to_values(redactor: Redactor) -> None:
    """Long values are truncated to max_length plus a short marker."""
    small = Redactor(max_length=50)
    out = small.redact_value("note", "x" * 10_000)
    assert isinstance(out, str)
    assert out.startswith("x" * 50 + "…[truncated")
    assert len(out) < 90


def test_a_secret_beyond_the_scan_window_never_shows(redactor: Redactor) -> None:
    """Huge text is cut before scanning without exposing a half-scanned secret."""
    small = Redactor(max_length=20)
    text = "password=x " * 50 + "4111111111111111" * 100
    out = small.scrub_text(text)
    assert "4111" not in out


def test_sensitive_key_cache_is_bounded(redactor: Redactor) -> None:
    """Checking many distinct names does not grow memory without bound."""
    for i in range(20_000):
        redactor.is_sensitive_key(f"name{i}")
    assert len(redactor._keys._cache) <= 4096


def test_a_secret_pair_inside_another_pairs_value_is_still_found() -> None:
    """`query=password=S` cannot hide the password behind a harmless outer key."""
    redactor = Redactor()
    assert redactor.scrub_text("query=password=S3cr3t&x=1") == "query=password=[REDACTED]&x=1"
    assert redactor.scrub_text("q: password=S3cr3t&x=1") == "q: password=[REDACTED]&x=1"
    assert redactor.scrub_text("a=b c=d") == "a=b c=d"


def test_an_empty_attribute_name_keeps_its_value_under_a_name_of_ours() -> None:
    """OpenTelemetry drops empty names; seclog renames them so nothing is lost."""
    assert Redactor().redact_attributes({"": "v"}) == {"security.unnamed_attribute": "v"}


@pytest.mark.parametrize(
    "address",
    ["198.51.100.7", "10.0.0.1", "::1", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1:2:3:4"],
)
def test_bare_ip_addresses_pass_unchanged(address: str) -> None:
    """Client and peer addresses (every request has them) leave as they came."""
    assert Redactor().redact_attributes({"client.address": address}) == {"client.address": address}


def test_custom_patterns_still_see_ip_addresses() -> None:
    """The shortcut for bare addresses never skips a pattern the app added."""
    redactor = Redactor(extra_patterns=[r"10\.0\.\d{1,3}\.\d{1,3}"])
    assert redactor.redact_attributes({"network.peer.address": "10.0.3.4"}) == {
        "network.peer.address": "[REDACTED]"
    }


@pytest.mark.parametrize(
    "value",
    [
        "4111 1111 1111 1111",  # a card number, spaced like an address never is
        "123-45-6789",
        "10.0.0.1:password=hunter2",
        "2001:db8::1/token=abcdef0123456789abcdef0123456789",
    ],
)
def test_values_that_only_start_like_an_address_are_scanned(value: str) -> None:
    """Only a whole bare address skips the detectors."""
    assert Redactor().redact_attributes({"client.address": value})["client.address"] != value
