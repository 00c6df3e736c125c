"""Property tests: generated secrets never survive, and no output can inject."""

from __future__ import annotations

import base64
import json
import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seclog_core.redact import REDACTED, Redactor

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REDACTOR = Redactor()
SMALL = Redactor(max_length=64)
MARKER_ROOM = 40  # "…[truncated N chars]" is shorter than this

# Characters that end a token without joining it: not digits, letters or separators.
BOUNDARY = st.sampled_from([",", ";", "|", "(", ")", "\n", "\t", "<", ">", "!"])
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=120)
FORBIDDEN = re.compile(
    "[\r\n\x1b\x00\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u2028\u2029\ud800-\udfff]"
)


def _luhn_complete(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:  # these get doubled once the check digit is appended
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return body + str((10 - total % 10) % 10)


@st.composite
def card_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A Luhn-valid 13-19 digit card, printed plain or in groups of four (the last 3-7)."""
    length = draw(st.integers(13, 19))
    first = draw(st.sampled_from("23456"))
    rest = draw(st.text("0123456789", min_size=length - 2, max_size=length - 2))
    digits = _luhn_complete(first + rest)
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    if len(groups[-1]) < 3:
        groups[-2:] = [groups[-2] + groups[-1]]
    printed = groups[0]
    for group in groups[1:]:
        printed += draw(st.sampled_from(["", " ", "-"])) + group
    return digits, printed


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@st.composite
def jwts(draw: st.DrawFn) -> str:
    """A compact JWT with a random payload and signature."""
    header = _b64url(json.dumps({"alg": draw(st.sampled_from(["HS256", "RS256"]))}).encode())
    payload = _b64url(draw(st.binary(min_size=3, max_size=60)))
    signature = _b64url(draw(st.binary(min_size=16, max_size=64)))
    return f"{header}.{payload}.{signature}"


AWS_KEYS = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(["AKIA", "ASIA"]),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=16, max_size=16),
)
BEARER_TOKENS = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/",
    min_size=12,
    max_size=80,
)


def _embed(draw: st.DrawFn, secret: str) -> str:
    return draw(ANY_TEXT) + draw(BOUNDARY) + secret + draw(BOUNDARY) + draw(ANY_TEXT)


@SETTINGS
@given(st.data(), card_numbers())
def test_generated_card_numbers_never_survive(data: st.DataObject, card: tuple[str, str]) -> None:
    """No Luhn-valid card, plain or grouped, survives anywhere in free text or attributes."""
    digits, printed = card
    text = _embed(data.draw, printed)
    for out in (REDACTOR.scrub_text(text), REDACTOR.redact_attributes({"note": text})["note"]):
        assert isinstance(out, str)
        assert printed not in out
        assert digits not in re.sub("[ -]", "", out)


@SETTINGS
@given(st.data(), jwts())
def test_generated_jwts_never_survive(data: st.DataObject, token: str) -> None:
    """No JWT, nor its signature, survives in free text."""
    out = REDACTOR.scrub_text(_embed(data.draw, token))
    assert token.rsplit(".", 1)[1] not in out


@SETTINGS
@given(st.data(), AWS_KEYS)
def test_generated_aws_access_keys_never_survive(data: st.DataObject, key: str) -> None:
    """No AWS access key id survives in free text."""
    assert key not in REDACTOR.scrub_text(_embed(data.draw, key))


@SETTINGS
@given(st.data(), BEARER_TOKENS, st.sampled_from(["Bearer", "bearer", "BEARER"]))
def test_generated_bearer_tokens_never_survive(
    data: st.DataObject, token: str, scheme: str
) -> None:
    """A bearer credential never survives in free text."""
    text = _embed(data.draw, f"{scheme} {token}")
    assume(token not in text.replace(f"{scheme} {token}", ""))
    out = REDACTOR.scrub_text(text)
    # The scheme is usually kept too, unless a neighbouring terminal escape removes it.
    assert token not in out


LONG_WORDS = ["password", "passwd", "secret", "token", "apikey", "authorization", "cookie"]
LONG_WORDS += ["session", "credential", "privatekey", "accesskey", "creditcard", "cardnumber"]
SHORT_WORDS = ["cc", "pan", "pin", "pwd", "otp", "ssn", "auth", "card", "cvv", "csrf"]
SEPARATORS = st.sampled_from(["", "_", "-", ".", " "])


@st.composite
def secret_names(draw: st.DrawFn) -> str:
    """A sensitive name in random case, with separators and neighbouring segments."""
    if draw(st.booleans()):
        word = "".join(
            ch + draw(st.sampled_from(["", "", "", "_", "-"]))
            for ch in draw(st.sampled_from(LONG_WORDS))
        )
    else:
        word = draw(st.sampled_from(SHORT_WORDS))
    word = "".join(c.upper() if draw(st.booleans()) else c for c in word)
    segments = st.sampled_from(["user", "db", "x", "http.request.header", "app", "new"])
    before = draw(st.lists(segments, max_size=2))
    after = draw(st.lists(segments, max_size=2))
    sep = draw(st.sampled_from(["_", "-", "."]))
    return sep.join([*before, word, *after])


VALUES = st.recursive(
    st.one_of(st.text(), st.integers(), st.floats(), st.booleans(), st.none(), st.binary()),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


@SETTINGS
@given(secret_names(), VALUES)
def test_values_under_sensitive_names_never_survive(name: str, value: object) -> None:
    """Whatever the value and however the name is spelt, it becomes [REDACTED]."""
    out = REDACTOR.redact_attributes({name: value, "other": 1})
    assert out[name] == REDACTED
    assert out["other"] == 1


def _assert_safe(text: str, cap: int) -> None:
    assert FORBIDDEN.search(text) is None
    assert len(text) <= cap + MARKER_ROOM


@SETTINGS
@given(st.text(st.characters(exclude_categories=())))
def test_no_output_of_scrub_text_can_inject(text: str) -> None:
    """Arbitrary text, including controls, bidi characters and surrogates, comes out inert."""
    _assert_safe(SMALL.scrub_text(text), 64)


@SETTINGS
@given(st.dictionaries(st.text(st.characters(exclude_categories=())), VALUES, max_size=6))
def test_no_attribute_name_or_value_can_inject(attributes: dict[str, object]) -> None:
    """Every name and every (list element) value in redacted attributes is inert and capped."""
    out = SMALL.redact_attributes(attributes)
    for name, value in out.items():
        _assert_safe(name, 256)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                _assert_safe(item, 64)


@SETTINGS
@given(st.data(), card_numbers(), jwts(), AWS_KEYS, BEARER_TOKENS)
def test_redaction_is_idempotent(
    data: st.DataObject, card: tuple[str, str], jwt: str, aws: str, bearer: str
) -> None:
    """Scrubbing already scrubbed text, secrets and all, changes nothing."""
    secrets = [card[1], jwt, aws, f"Bearer {bearer}", "password=x", "https://u:p@h/?token=t"]
    text = data.draw(ANY_TEXT)
    for secret in data.draw(st.lists(st.sampled_from(secrets), max_size=3)):
        text += data.draw(BOUNDARY) + secret + data.draw(BOUNDARY) + data.draw(ANY_TEXT)
    once = REDACTOR.scrub_text(text)
    assert REDACTOR.scrub_text(once) == once
