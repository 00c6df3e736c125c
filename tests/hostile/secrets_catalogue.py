"""Planted secrets: each with the places it is sent from and the needles that must never arrive.

Every value is unique to this suite, so finding a needle in the receiver's bytes
can only mean seclog let it through.
"""

from __future__ import annotations

import base64
import hashlib
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


# --- the catalogues of leak classes (issue: "no secret leaves by a side door") ---------------
#
# Each case is a text an app or a client could put where seclog reads it, with the
# needles that must never come out. Shapes were learnt from public catalogues
# (GitHub secret scanning partner patterns, gitleaks, detect-secrets) and filled
# with values unique to this suite.


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    needles: tuple[str, ...]


def _fill(
    seed: str,
    length: int,
    alphabet: str = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789",
) -> str:
    """A deterministic, suite-unique filler of `length` characters from `alphabet`."""
    stream = b""
    counter = 0
    while len(stream) < length:
        stream += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return "".join(alphabet[b % len(alphabet)] for b in stream[:length])


_HEX = "0123456789abcdef"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _case(name: str, text: str, *needles: str) -> Case:
    return Case(name, text, needles or (text,))


#: Secret-bearing names: the value under each must never come out.
KEY_NAMES: tuple[str, ...] = (
    "password", "passwd", "pwd", "passphrase", "passcode", "pin", "pincode", "otp", "otp_code",
    "totp", "mfa_code", "2fa_code", "verification_code", "recovery_code", "backup_codes",
    "client_secret", "secret_key", "SECRET_KEY", "private_key", "privateKey", "signing_key",
    "encryption_key", "api_key", "apiKey", "x-api-key", "X-Auth-Token", "access_token",
    "refresh_token", "id_token", "session_id", "sessionid", "PHPSESSID", "JSESSIONID",
    "connect.sid", "csrfmiddlewaretoken", "x-csrftoken", "authorization",
    "proxy-authorization", "cookie", "set-cookie", "DATABASE_URL", "database_uri",
    "SQLALCHEMY_DATABASE_URI", "DSN", "sentry_dsn", "connection_string", "ConnectionString",
    "AccountKey", "SharedAccessKey", "client_assertion", "code_verifier", "SAMLResponse",
    "x-amz-security-token", "X-Amz-Signature", "sig", "credentials", "creds", "credit_card",
    "cvv", "iban", "account_number", "ssn", "tax_id", "national_id", "passport_number",
    "passwort", "contraseña", "mot_de_passe", "security_answer", "bearer",
)  # fmt: skip


def key_value_for(name: str) -> str:
    """The secret planted under `name`: unique to it."""
    return "KV" + _fill(name, 14) + "7q"


_PK_BODY = _fill("pk-body", 64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _pem(kind: str) -> str:
    label = f"{kind} PRIVATE KEY" if kind else "PRIVATE KEY"
    return f"-----BEGIN {label}-----\n{_PK_BODY}\n{_PK_BODY[::-1]}\n-----END {label}-----"


#: Well-known credential formats, each as it would appear on its own.
FORMATS: tuple[Case, ...] = (
    _case("AWS access key id", "AKIA" + _fill("akia", 16, _UPPER)),
    _case("AWS temporary key id", "ASIA" + _fill("asia", 16, _UPPER)),
    _case("AWS secret key", "aws_secret_access_key = " + (s := _fill("awssec", 40)), s),
    _case("GCP API key", "AIza" + _fill("aiza", 35)),
    _case("GCP OAuth access token", "ya29." + _fill("ya29", 60)),
    _case("GCP OAuth client secret", "GOCSPX-" + _fill("gocspx", 28)),
    _case(
        "GCP service account JSON",
        json.dumps({"type": "service_account", "private_key": _pem("") + "\n"}),
        _PK_BODY,
    ),
    _case("Azure client secret", _fill("az", 3) + "8Q~" + _fill("azure", 34)),
    _case(
        "Azure storage connection string",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey="
        + (s := _fill("azkey", 86) + "==")
        + ";EndpointSuffix=core.windows.net",
        s[:40],
    ),
    _case(
        "Azure SAS URL",
        "https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&sr=b&sig="
        + (s := _fill("sas", 43))
        + "%3D",
        s,
    ),
    _case("GitHub classic token", "ghp_" + _fill("ghp", 36)),
    _case("GitHub OAuth token", "gho_" + _fill("gho", 36)),
    _case("GitHub app token", "ghs_" + _fill("ghs", 36)),
    _case("GitHub fine-grained token", "github_pat_" + _fill("pat1", 22) + "_" + _fill("pat2", 59)),
    _case("GitLab personal token", "glpat-" + _fill("glpat", 20)),
    _case("GitLab runner token", "glrt-" + _fill("glrt", 24)),
    _case("Slack bot token", "xoxb-123456789012-1234567890123-" + _fill("xoxb", 24)),
    _case(
        "Slack webhook",
        "https://hooks.slack.com/services/T0000HOST/B0000CAT/" + (s := _fill("slackhook", 24)),
        s,
    ),
    _case("Stripe live key", "sk_live_" + _fill("sklive", 24)),
    _case("Stripe restricted key", "rk_test_" + _fill("rktest", 24)),
    _case("Stripe webhook secret", "whsec_" + _fill("whsec", 32)),
    _case("Twilio API key", "SK" + _fill("twilio", 32, _HEX)),
    _case("SendGrid key", "SG." + _fill("sg1", 22) + "." + _fill("sg2", 43)),
    _case("npm token", "npm_" + _fill("npm", 36)),
    _case("PyPI token", "pypi-AgEIcHlwaS5vcmc" + _fill("pypi", 60)),
    _case("OpenAI project key", "sk-proj-" + _fill("openai", 48)),
    _case("Anthropic key", "sk-ant-api03-" + _fill("anthropic", 64)),
    _case("Hugging Face token", "hf_" + _fill("hf", 34)),
    _case("Shopify token", "shpat_" + _fill("shopify", 32, _HEX)),
    _case("DigitalOcean token", "dop_v1_" + _fill("do", 64, _HEX)),
    _case("Mailgun key", "key-" + _fill("mailgun", 32, _HEX)),
    _case("Telegram bot token", "123456789:AA" + _fill("telegram", 33)),
    _case("Databricks token", "dapi" + _fill("databricks", 32, _HEX)),
    _case("Square token", "sq0atp-" + _fill("square", 22)),
    _case("RSA private key", _pem("RSA"), _PK_BODY),
    _case("EC private key", _pem("EC"), _PK_BODY),
    _case("OpenSSH private key", _pem("OPENSSH"), _PK_BODY),
    _case("encrypted private key", _pem("ENCRYPTED"), _PK_BODY),
    _case("PGP private key", _pem("PGP").replace("KEY-----", "KEY BLOCK-----"), _PK_BODY),
    _case("age secret key", "AGE-SECRET-KEY-1" + _fill("age", 58, _UPPER)),
    _case("JWT", JWT, "hOsT1lE_sIgNaTuRe"),
    _case(
        "JWE with an empty key part",
        "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0.."
        + _fill("iv", 16)
        + "."
        + (s := _fill("jwe", 40))
        + "."
        + _fill("tag", 22),
        s,
    ),
    _case("unsecured JWT", "eyJhbGciOiJub25lIn0.eyJ" + (s := _fill("alg-none", 30)) + ".", s),
    _case("DRF token header", "Authorization: Token " + (s := _fill("drf", 40, _HEX)), s),
    _case("Bearer header", "Bearer " + (s := _fill("bearer", 32)), s),
)

#: Credentials in URLs, in the shapes people and drivers write them.
URLS: tuple[Case, ...] = (
    _case("postgres DSN", "postgresql://app:UrlPw-a1@db.internal:5432/prod", "UrlPw-a1"),
    _case("mongodb+srv", "mongodb+srv://app:UrlPw-a2@cluster0.example.net/db", "UrlPw-a2"),
    _case("redis, empty user", "redis://:UrlPw-a3@cache:6379/0", "UrlPw-a3"),
    _case("'@' in the password", "amqp://guest:UrlPw@a4x@rabbit/", "UrlPw@a4x", "a4x"),
    _case("percent-encoded password", "https://bob:UrlPw%40a5@example.com/", "UrlPw%40a5"),
    _case("IPv6 host", "http://bob:UrlPw-a6@[2001:db8::1]:8080/x", "UrlPw-a6"),
    _case("JDBC URL", "jdbc:mysql://app:UrlPw-a7@db/x", "UrlPw-a7"),
    _case("scheme-relative", "see //bob:UrlPw-a8@host/x", "UrlPw-a8"),
    _case("upper-case scheme", "HTTPS://BOB:UrlPw-A9@HOST/", "UrlPw-A9"),
    _case("git+ssh", "git+ssh://deploy:UrlPw-b1@git.example.com/repo.git", "UrlPw-b1"),
    _case("':' in the password", "ftp://u:UrlPw:b2x@files.example.com", "UrlPw:b2x", "b2x"),
    _case("'/' in the password", "https://bob:UrlPw/b3x@example.com/", "UrlPw/b3x", "b3x"),
    _case("token as the user",
        "https://Tok3nAsUser0b4x9abc@github.com/o/r.git", "Tok3nAsUser0b4x9abc"),
    _case("query token", "https://example.com/cb?access_token=UrlQs-b5&state=x", "UrlQs-b5"),
    _case("fragment token",
        "https://example.com/#access_token=UrlFr-b6&token_type=bearer", "UrlFr-b6"),
    _case("AWS presigned",
        "https://b.s3.amazonaws.com/k?X-Amz-Signature=UrlSig0b7abc&X-Amz-Expires=60",
        "UrlSig0b7abc"),
    _case("URL inside a URL",
        "https://example.com/login?next=https://bob:UrlPw-b9@evil.example/x", "UrlPw-b9"),
    _case("JSON-escaped slashes", 'https:\\/\\/bob:UrlPw-b8@example.com\\/x', "UrlPw-b8"),
)  # fmt: skip

#: Secrets one encoding away from what a detector reads.
ENCODED: tuple[Case, ...] = (
    _case("JSON inside a string", json.dumps(json.dumps({"password": "EncPw-c1"})), "EncPw-c1"),
    _case("JSON twice inside a string",
        json.dumps(json.dumps(json.dumps({"token": "EncTk-c2"}))), "EncTk-c2"),
    _case("URL-encoded pair", "q=password%3DEncPw-c3", "EncPw-c3"),
    _case("URL-encoded JSON", "%7B%22password%22%3A%22EncPw-c4%22%7D", "EncPw-c4"),
    _case("double URL-encoded", "next=%2Flogin%3Fpassword%253DEncPw-c5", "EncPw-c5"),
    _case("form body", "username=bob&password=EncPw-c6&next=%2F", "EncPw-c6"),
    _case("XML element",
        "<login><user>bob</user><password>EncPw-c7</password></login>", "EncPw-c7"),
    _case("XML with namespace and CDATA",
        "<ns:Password><![CDATA[EncPw c8]]></ns:Password>", "EncPw c8"),
    _case("XML attribute", '<login user="bob" password="EncPw-c9"/>', "EncPw-c9"),
    _case("HTML entities", "{&quot;password&quot;: &quot;EncPw-d1&quot;}", "EncPw-d1"),
    _case("several cookies",
        "Cookie: theme=dark; sessionid=EncSs-d2; remember=EncRm-d3", "EncSs-d2", "EncRm-d3"),
    _case("Set-Cookie", "Set-Cookie: sid=EncSs-d4; Path=/; HttpOnly", "EncSs-d4"),
    _case("unicode-escaped name", "\\u0070assword=EncPw-d5", "EncPw-d5"),
    _case("Ruby hash", "{\"password\" => \"EncPw-d6\"}", "EncPw-d6"),
    _case("env line", "export DB_PASSWORD=EncPw-d7", "EncPw-d7"),
    _case("dataclass repr", "User(name='bob', password='EncPw-d8')", "EncPw-d8"),
    _case("header line", "X-Api-Key: EncKy-d9", "EncKy-d9"),
    _case("header pair repr", "('X-Api-Key', 'EncKy-e1')", "EncKy-e1"),
    _case("escaped JSON in a log line",
        'payload={\\"client_secret\\": \\"EncCs-e2\\"}', "EncCs-e2"),
)  # fmt: skip

#: Secrets in prose.
PROSE: tuple[Case, ...] = (
    _case("my password is", "my password is swordfishcat", "swordfishcat"),
    _case("password colon", "password: ProsePw-f1", "ProsePw-f1"),
    _case("password for a user", "the password for bob is ProsePw-f2", "ProsePw-f2"),
    _case("password was", "Password was ProsePwf3!", "ProsePwf3"),
    _case("PIN is", "your PIN is 493817", "493817"),
    _case("secret is", "the client secret is ProseSc-f4", "ProseSc-f4"),
    _case("token is", "reset token is ProseTk-f5 for bob", "ProseTk-f5"),
    _case("api key is", "api key is ProseAk-f6", "ProseAk-f6"),
    _case("passwd word", "passwd ProsePw-f7 rejected", "ProsePw-f7"),
)

#: Card numbers with any separator, other financial and national identifiers.
FINANCIAL: tuple[Case, ...] = (
    _case("card with dots", "4111.1111.1111.1111", "4111.1111.1111.1111", "1111.1111"),
    _case("card with slashes", "5555/5555/5555/4444", "5555/5555/5555/4444", "5555/4444"),
    _case("card with spaced dashes", "4012 - 8888 - 8888 - 1881", "8888 - 1881"),
    _case("card with no-break spaces", "3782\u00a0822463\u00a010005", "822463"),
    _case("card glued to text", "card4111111111111111exp", "4111111111111111"),
    _case("Discover card", "6011 0009 9013 9424", "6011 0009 9013 9424", "9013 9424"),
    _case("Mastercard 2-series", "2223003122003222", "2223003122003222"),
    _case("IBAN with spaces", "GB82 WEST 1234 5698 7654 32", "5698 7654"),
    _case("IBAN compact", "DE89370400440532013000", "DE89370400440532013000"),
    _case("US SSN", "SSN 536-22-8741 on file", "536-22-8741"),
    _case("US SSN spaced", "ssn: 536 22 8741", "536 22 8741"),
    _case("UK National Insurance number", "NI AB 12 34 56 C", "AB 12 34 56 C"),
    _case("Brazilian CPF", "CPF 123.456.789-09", "123.456.789-09"),
)

#: What database drivers and ORMs put in their errors.
DB_ERRORS: tuple[Case, ...] = (
    _case(
        "psycopg unique violation",
        'duplicate key value violates unique constraint "users_email_key"\n'
        "DETAIL:  Key (email)=(dbleak-g1@example.com) already exists.",
        "dbleak-g1",
    ),
    _case(
        "psycopg failing row",
        'null value in column "x" violates not-null constraint\n'
        "DETAIL:  Failing row contains (7, bob, DbLeak-g2, null).",
        "DbLeak-g2",
    ),
    _case(
        "SQLAlchemy parameters",
        "(psycopg2.errors.UniqueViolation) duplicate key\n"
        "[SQL: INSERT INTO users (name, pw) VALUES (%(name)s, %(pw)s)]\n"
        "[parameters: ('bob', 'DbLeak-g3')]",
        "DbLeak-g3",
    ),
    _case(
        "Django debug SQL",
        '(0.001) INSERT INTO "auth_user" ("username", "pw") VALUES (\'bob\', \'DbLeak-g4\'); '
        "args=('bob', 'DbLeak-g4'); alias=default",
        "DbLeak-g4",
    ),
    _case("sqlite syntax error", 'near "DbLeak-g5": syntax error', "DbLeak-g5"),
    _case(
        "psycopg statement echo",
        "syntax error at or near \"AND\"\nLINE 1: SELECT * FROM t WHERE api = 'DbLeak-g6' AND\n",
        "DbLeak-g6",
    ),
    _case(
        "postgres invalid input", 'invalid input syntax for type integer: "DbLeak-g7"', "DbLeak-g7"
    ),
    _case(
        "MySQL duplicate entry",
        "(1062, \"Duplicate entry 'DbLeak-g8' for key 'users.api_token'\")",
        "DbLeak-g8",
    ),
    _case(
        "MySQL incorrect value",
        "Incorrect integer value: 'DbLeak-g9' for column 'age' at row 1",
        "DbLeak-g9",
    ),
    _case("libpq DSN", "invalid dsn: host=db user=app password=DbLeak-h1 dbname=x", "DbLeak-h1"),
)

#: What HTTP clients echo from a header value.
HTTP_CLIENT_ERRORS: tuple[Case, ...] = (
    _case(
        "requests InvalidHeader",
        "Invalid leading whitespace, reserved character(s), or return character(s) in header "
        "value: ' HdrLeak-i1'",
        "HdrLeak-i1",
    ),
    _case("h11 illegal value", "Illegal header value b' HdrLeak-i2\\r\\n'", "HdrLeak-i2"),
    _case("http.client", "Invalid header value b'HdrLeak-i3\\r\\n'", "HdrLeak-i3"),
    _case(
        "urllib3 header part",
        "Header part ('HdrLeak-i4') from ('X-Custom', 'HdrLeak-i4') must be of type str or bytes",
        "HdrLeak-i4",
    ),
)

#: Every text catalogue by class.
TEXT_CLASSES: dict[str, tuple[Case, ...]] = {
    "formats": FORMATS,
    "urls": URLS,
    "encoded": ENCODED,
    "prose": PROSE,
    "financial": FINANCIAL,
    "db_errors": DB_ERRORS,
    "http_client_errors": HTTP_CLIENT_ERRORS,
}
ALL_TEXT_CASES: tuple[Case, ...] = tuple(case for cases in TEXT_CLASSES.values() for case in cases)
