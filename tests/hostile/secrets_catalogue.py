"""Planted secrets: each with the places it is sent from and the needles that must never arrive.

Every value is unique to this suite, so finding a needle in the receiver's bytes
can only mean seclog let it through.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Secret:
    name: str
    value: str
    needles: tuple[str, ...]


def _secret(name: str, value: str, *needles: str) -> Secret:
    return Secret(name, value, needles or (value,))


JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJob3N0aWxlLXN1aXRlIiwiYWRtaW4iOnRydWV9."
    "hOsT1lE_sIgNaTuRe-0123456789abcdefABCDEF"
)
BASIC_PW = "BasicPw-hostile-77"
BASIC = base64.b64encode(f"bob:{BASIC_PW}".encode()).decode()
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAhostileKeyMaterial0123456789abcdefghijklmnopqrstuv\n"
    "-----END RSA PRIVATE KEY-----"
)

FORM_PASSWORD = _secret("form password", "FormPw-hostile-7Q9x")
JSON_PASSWORD = _secret("password in a JSON body", "JsonPw-hostile-4K2")
QUERY_PASSWORD = _secret("password in a query string", "QueryPw-hostile-19")
QUERY_TOKEN = _secret("token in a query string", "QryTok-hostile-8812abc")
APP_SECRET = _secret("password in the app's exception", "AppSecret-hostile-5511")
CARD_SPACED = _secret("card with spaces", "4111 1111 1111 1111", "4111 1111 1111 1111",
                      "4111111111111111")  # fmt: skip
CARD_DASHED = _secret("card with dashes", "5555-5555-5555-4444", "5555-5555-5555-4444",
                      "5555555555554444")  # fmt: skip
CARD_PLAIN = _secret("card without separators", "4012888888881881")
JWT_SECRET = _secret(
    "JWT", JWT, "hOsT1lE_sIgNaTuRe", "eyJzdWIiOiJob3N0aWxlLXN1aXRlIiwiYWRtaW4iOnRydWV9"
)
BEARER = _secret("bearer credential", "Bearer hostileBearerTok0123456789abcdef",
                 "hostileBearerTok0123456789abcdef")  # fmt: skip
BASIC_CRED = _secret("basic credential", f"Basic {BASIC}", BASIC, BASIC_PW)
AWS_KEY = _secret("AWS access key id", "AKIAHOSTILE234567XYZ")
AWS_SECRET = _secret(
    "AWS secret key", "aws_secret_access_key=wJalrXUtnFEMIhostileK7MDENGbPxRfiCYEXAMPLEKEY",
    "wJalrXUtnFEMIhostileK7MDENGbPxRfiCYEXAMPLEKEY",
)  # fmt: skip
PRIVATE = _secret("private key block", PRIVATE_KEY, "hostileKeyMaterial0123456789")
SESSION = _secret(
    "session cookie", "sessionid=SessCookie-hostile-9f8e7d", "SessCookie-hostile-9f8e7d"
)
URL_CREDS = _secret("credentials in a URL", "https://bob:UrlPw-hostile-31@db.example.com/x",
                    "UrlPw-hostile-31")  # fmt: skip

# Secrets a user types where a user name goes: the value detectors must catch each.
AS_USERNAME = (CARD_SPACED, CARD_DASHED, CARD_PLAIN, JWT_SECRET, BEARER, BASIC_CRED, AWS_KEY,
               AWS_SECRET, PRIVATE, URL_CREDS)  # fmt: skip
ALL = (FORM_PASSWORD, JSON_PASSWORD, QUERY_PASSWORD, QUERY_TOKEN, APP_SECRET, *AS_USERNAME, SESSION)


def boom_query() -> dict[str, str]:
    return {"password": QUERY_PASSWORD.value, "token": QUERY_TOKEN.value, "card": CARD_PLAIN.value}


def boom_json() -> str:
    return json.dumps(
        {
            "password": JSON_PASSWORD.value,
            "card": CARD_SPACED.value,
            "auth": JWT,
            "db": URL_CREDS.value,
            "aws": AWS_KEY.value,
        }
    )
