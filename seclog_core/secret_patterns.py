"""The value detectors: secrets recognised by their shape, as one literal table.

`DEFAULT_PATTERNS` is applied, in order, to every string seclog emits. Each
detector has a name (what a veto callback sees as ``RedactionMatch.rule``), a
regex, an optional replacement callback (checksums, keeping a scheme word) and
cheap necessary conditions (``trigger``: lowercase substrings one of which every
match contains; ``min_digits``), so clean text skips the detector. The shapes
were learnt from public catalogues (GitHub secret-scanning partner patterns,
gitleaks and detect-secrets rules) and written anew for seclog. Every regex is
linear in its input: no nested quantifiers, bounded repetitions, no unbounded
scan restarted at each position.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import _secret_checks as checks
from ._secret_checks import REDACTED, IsSensitive, Replace
from .secret_keys import DEFAULT_SAFE_KEYS, DEFAULT_SENSITIVE_KEYS, KeyRules

__all__ = ["DEFAULT_PATTERNS", "KEYED_PATTERNS", "KEY_ANCHORS", "REDACTED", "ValuePattern"]


@dataclass(frozen=True)
class ValuePattern:
    """A value detector: text matching `regex` is replaced.

    `replace` gets the match and returns the replacement text, or None to keep
    the match (for example when a card number fails the Luhn check); without
    it the whole match becomes `REDACTED`. Replacements must be idempotent:
    scrubbing already scrubbed text must not change it. `trigger`, if given, is
    a set of lowercase substrings one of which every match contains (a cheap
    necessary condition, tested on the lowercased text first); `min_digits`, the
    number of ASCII digits every match holds (another cheap condition).
    """

    name: str
    regex: re.Pattern[str]
    replace: Callable[[re.Match[str]], str | None] | None = None
    trigger: tuple[str, ...] = ()
    min_digits: int = 0


_B64URL = "[A-Za-z0-9_-]"
_DIGITS = tuple("0123456789")
# Not inside a longer token, before. No such check after: a fixed-length secret glued
# to the next word ("...5YVnote") is still one.
_NB = r"(?<![A-Za-z0-9_-])"
# Longest quoted value scanned; the closing quote is optional so a scan is never repeated.
_Q = "{0,4096}"


def _p(
    name: str,
    regex: str,
    replace: Replace | None = None,
    trigger: tuple[str, ...] = (),
    min_digits: int = 0,
) -> ValuePattern:
    return ValuePattern(name, re.compile(regex), replace, trigger, min_digits)


_QUERY_REGEX = r"(?<=[?&])(?P<key>[^=&#\s]{1,128})=(?P<val>[^&#\s]*)"
_KEY_SEPARATOR = r"(?<![\w.\-])(?P<q>\\{0,3}[\"']|)(?P<key>[\w.\-]{1,64})(?P=q)\s*(?:=>|:=|[:=])\s*"
_KEY_VALUE_REGEX = re.compile(
    _KEY_SEPARATOR + r"(?P<scheme>(?i:bearer|basic|token|digest|negotiate|ntlm)\s+)?"
    r"(?P<val>(?P<vq>\\{1,3}[\"'])(?:(?!(?P=vq)).)" + _Q + r"(?P=vq)?"
    r"|\"(?:[^\"\\\n]|\\.)" + _Q + r"\"?|'(?:[^'\\\n]|\\.)" + _Q + r"'?|[^\s&\"'\\]{1,512})"
)
_XML_REGEX = (
    r"<(?P<key>\w[\w.:-]{0,63})(?:\s[^<>]{0,512})?>"
    r"(?P<val><!\[CDATA\[(?:[^\]]|\](?!\]>)){0,4096}\]\]>|[^<]{1,4096})</(?P=key)\s*>"
)
_PAIR_REGEX = (
    r"[(\[]\s*b?(?P<q1>['\"])(?P<key>[^'\"\n]{1,64})(?P=q1)\s*,\s*b?(?P<q2>['\"])"
    r"(?P<val>(?:(?!(?P=q2))[^\\\n]|\\.)" + _Q + r")(?P=q2)"
)
_PASSWORD_WORDS = (
    r"pass(?:word|wd|phrase|code)?|pwd|pin|secret|token|(?:api|secret|access)[ _-]?key"  # noqa: S105
)

#: The value detectors, applied in this order to every string.
DEFAULT_PATTERNS: tuple[ValuePattern, ...] = (
    # --- key material -----------------------------------------------------------------
    # PEM/OpenSSH/PGP private key blocks, to the END line or the end of the text.
    _p(
        "private_key",
        r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----|\Z)",
        trigger=("private key",),
    ),
    _p(
        "putty_private_key",
        r"(?P<keep>Private-Lines:\s*[0-9]{1,4}\s+)[A-Za-z0-9+/=\r\n]{1,16384}",
        checks.keep_prefix,
        trigger=("private-lines",),
    ),
    _p("age_secret_key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}", trigger=("age-secret-key-",)),
    # --- tokens with a structure ----------------------------------------------------------
    # JSON Web Tokens and JWE (five parts, possibly empty): a JSON header in base64url.
    _p(
        "jwt",
        rf"{_NB}(?:eyJ{_B64URL}{{4,}}|(?:ewo|eyA){_B64URL}{{12,}})\.{_B64URL}*\.{_B64URL}*"
        rf"(?:\.{_B64URL}*){{0,2}}",
        trigger=("eyj", "ewo", "eya"),
    ),
    # "Bearer <token>", "Token <token>": the scheme is kept.
    _p(
        "bearer",
        r"(?P<keep>(?<![A-Za-z0-9])(?i:bearer)\s+)[A-Za-z0-9\-._~+/]{6,}=*",
        checks.keep_prefix,
        trigger=("bearer",),
    ),
    _p(
        "token_scheme",
        r"(?P<keep>(?<![A-Za-z0-9])(?:Token|ApiKey|Api-Key|SSWS)\s+)[A-Za-z0-9\-._~+/]{16,}=*",
        checks.keep_prefix_if_digit,
        trigger=("token", "apikey", "api-key", "ssws"),
    ),
    # "Basic <base64(user:password)>": the scheme is kept.
    _p(
        "basic_auth",
        r"(?P<keep>(?<![A-Za-z0-9])(?i:basic)\s+)(?P<cred>[A-Za-z0-9+/]{4,}={0,2})",
        checks.basic_credentials,
        trigger=("basic",),
    ),
    # "scheme://user:password@host", "//user:p@ss@[::1]:5432": any scheme, '@' in the password.
    _p(
        "url_credentials",
        r"(?P<keep>(?:(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,30}:)?//)"
        r"(?P<rest>[^\s\"'<>`]{1,1024})",
        checks.url_credentials,
        trigger=("//",),
    ),
    # --- cloud and service credentials ------------------------------------------------------
    _p(
        "aws_access_key",
        r"(?<![A-Z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA"
        r"|ASCA)[A-Z0-9]{16}",
        trigger=(
            "akia",
            "asia",
            "a3t",
            "abia",
            "acca",
            "agpa",
            "aida",
            "aipa",
            "anpa",
            "anva",
            "aroa",
            "apka",
            "asca",
        ),
    ),
    # AWS secret access keys: 40 base64 characters right after an "aws ... secret" label.
    _p(
        "aws_secret_key",
        r"(?P<keep>(?i:aws)[\w.\- ]{0,30}?(?i:secret)[\w.\- ]{0,30}?[\"']?\s*[:=]\s*[\"']?)"
        r"[A-Za-z0-9/+]{40}",
        checks.keep_prefix,
        trigger=("aws",),
    ),
    _p(
        "google_credential",
        r"AIza[0-9A-Za-z_-]{35}|ya29\.[0-9A-Za-z_-]{20,}|GOCSPX-[0-9A-Za-z_-]{20,}"
        r"|(?<![0-9A-Za-z/])1//0[0-9A-Za-z_-]{30,}",
        trigger=("aiza", "ya29.", "gocspx-", "1//0"),
    ),
    _p(
        "azure_client_secret",
        r"[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}",
        trigger=("q~",),
    ),
    _p(
        "github_token",
        r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,247})",
        trigger=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    _p(
        "gitlab_token",
        rf"{_NB}(?:gl(?:pat|dt|rt|ptt|soat|cbt|imt|agent|oas|ffct|ft|wt)-[A-Za-z0-9_-]{{20,}}"
        rf"|GR1348941[A-Za-z0-9_-]{{20,}})",
        trigger=("gl", "gr1348941"),
    ),
    _p(
        "slack_token",
        r"(?<![A-Za-z0-9])(?:xox[abprseo]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,})"
        r"|https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+",
        trigger=("xox", "xapp-", "hooks.slack.com"),
    ),
    _p(
        "stripe_key",
        r"(?<![A-Za-z0-9])(?:[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9+/=]{24,})",
        trigger=("k_live_", "k_test_", "whsec_"),
    ),
    _p("twilio_api_key", r"(?<![A-Za-z0-9])SK[0-9a-fA-F]{32}", trigger=("sk",)),
    _p("sendgrid_key", rf"SG\.{_B64URL}{{16,32}}\.{_B64URL}{{16,64}}", trigger=("sg.",)),
    _p("npm_token", r"npm_[A-Za-z0-9]{36}", trigger=("npm_",)),
    _p("pypi_token", r"pypi-AgE[A-Za-z0-9_-]{50,}", trigger=("pypi-age",)),
    _p("huggingface_token", r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{34,}", trigger=("hf_",)),
    _p(
        "openai_key",
        rf"{_NB}sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{{20,}}"
        r"|[A-Za-z0-9_-]{0,200}?T3BlbkFJ[A-Za-z0-9_-]{16,})",
        trigger=("sk-",),
    ),
    _p(
        "anthropic_key",
        rf"{_NB}sk-ant-[a-z]{{2,10}}[0-9]{{2}}-[A-Za-z0-9_-]{{32,}}",
        trigger=("sk-ant-",),
    ),
    _p("shopify_token", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}", trigger=("shp",)),
    _p("digitalocean_token", r"do[opr]_v1_[a-f0-9]{64}", trigger=("_v1_",)),
    _p("mailgun_key", r"(?<![A-Za-z0-9])key-[0-9a-f]{32}", trigger=("key-",)),
    _p("mailchimp_key", r"(?<![0-9a-f])[0-9a-f]{32}-us[0-9]{1,2}(?![0-9])", trigger=("-us",)),
    _p("telegram_bot_token", rf"(?<![0-9])[0-9]{{8,10}}:AA{_B64URL}{{33}}", trigger=(":aa",)),
    _p(
        "square_token",
        rf"{_NB}(?:sq0(?:atp|csp)-{_B64URL}{{22,43}}|EAAA{_B64URL}{{60}})",
        trigger=("sq0", "eaaa"),
    ),
    _p("databricks_token", r"(?<![A-Za-z0-9])dapi[a-f0-9]{32}", trigger=("dapi",)),
    _p("atlassian_token", r"ATATT3[A-Za-z0-9_=-]{40,}", trigger=("atatt3",)),
    _p(
        "discord_webhook",
        r"discord(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_-]+",
        trigger=("discord",),
    ),
    # --- financial and national identifiers ------------------------------------------------
    # Cards: 13-19 digits in groups of 3+ (spaces, dashes, dots, slashes, no-break
    # spaces), first digit 2-9, Luhn-valid. Other digit runs (order ids) are kept.
    _p(
        "card_number",
        r"[0-9](?<![0-9][0-9])(?:[ .\-/\u00a0\u2007\u202f]{0,3}[0-9]){12,}",
        checks.card_numbers,
        trigger=_DIGITS,
        min_digits=13,
    ),
    _p(
        "iban",
        r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z][0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?",
        checks.iban,
        trigger=_DIGITS,
        min_digits=4,
    ),
    # US social security numbers (dashed or spaced; never-issued areas excluded).
    _p(
        "us_ssn",
        r"[0-9](?<![0-9-][0-9])[0-9]{2}(?P<s>[- ])[0-9]{2}(?P=s)[0-9]{4}(?![0-9-])",
        checks.us_ssn,
        trigger=_DIGITS,
        min_digits=9,
    ),
    # UK National Insurance numbers.
    _p(
        "uk_nino",
        r"[A-CEGHJ-PR-TW-Z](?<![A-Za-z0-9][A-Z])[A-CEGHJ-NPR-TW-Z](?<!BG|GB|NK|KN|TN|NT|ZZ)"
        r" ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]",
        trigger=_DIGITS,
        min_digits=6,
    ),
    # Brazilian CPF numbers with valid check digits.
    _p(
        "br_cpf",
        r"[0-9](?<![0-9][0-9])[0-9]{2}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}(?![0-9])",
        checks.br_cpf,
        trigger=_DIGITS,
        min_digits=11,
    ),
    # --- what database drivers and HTTP clients echo in their errors --------------------
    # "DETAIL: Key (email)=(bob@example.com) already exists", "Failing row contains (...)".
    _p(
        "db_detail",
        r"(?:Key \((?:[^()\n]|\([^()\n]{0,256}\)){1,512}\)=\(|Failing row contains \()"
        r"(?P<val>[^\n]*)",
        checks.to_last_bracket,
        trigger=("key (", "failing row contains"),
    ),
    # SQLAlchemy's "[parameters: (...)]", Django's "args=(...)", "params={...}", and the
    # literals of "INSERT ... VALUES (...)": to the last bracket of the line.
    _p(
        "sql_parameters",
        r"(?:\[parameters: |(?<![\w.])(?:args|params|parameters)\s*[=:]\s*[(\[{]"
        r"|(?i:\bvalues\s*\())(?P<val>[^\n]*)",
        checks.to_last_bracket,
        trigger=("parameters", "params", "args", "values"),
    ),
    # Literal values echoed back: psycopg's "LINE 1: ...", sqlite's 'near "...": syntax
    # error', "invalid input syntax for type integer: "..."", MySQL's "Duplicate entry
    # '...' for key" and "Incorrect ... value: '...' for column".
    _p(
        "sql_literals",
        r"(?m:^\s*LINE [0-9]+: )(?P<line>[^\n]+)"
        r"|near \"(?P<near>[^\"\n]{1,256})\": syntax error"
        r"|invalid input (?:syntax|value) for[^:\n]{0,64}: \"(?P<input>[^\"\n]{0,4096})\""
        r"|Duplicate entry '(?P<dup>[^'\n]{0,4096})' for key"
        r"|Incorrect [\w ]{1,32} value: '(?P<bad>[^'\n]{0,4096})' for column",
        checks.all_values,
        trigger=("line ", 'near "', "invalid input", "duplicate entry", "incorrect"),
    ),
    # urllib3: "Header part (<value>) from ('<name>', <value>) must be of type str or bytes".
    _p(
        "header_part_echo",
        r"Header part \((?P<val>[^\n]{0,256}?)\) from \(b?(?P<q>['\"])[^'\"\n]{1,64}(?P=q), "
        r"(?P<again>[^\n]{0,256}?)\) must be",
        checks.all_values,
        trigger=("header part",),
    ),
    # requests/h11/http.client: "Invalid ... header value: ' Bearer x'", "header value b'x'".
    _p(
        "header_value_echo",
        r"(?i:header values?)[^'\"\n]{0,64}?"
        r"(?P<val>b?'[^'\n]{0,4096}'|b?\"[^\"\n]{0,4096}\")",
        checks.always_value,
        trigger=("header value",),
    ),
    # --- secrets under a name -----------------------------------------------------------
    # A whole Cookie / Set-Cookie header line: every cookie in it, whatever its name.
    _p(
        "cookie_header",
        r"(?P<keep>(?<![\w-])(?i:set-cookie|cookie)\s*:(?!\s*[\\\"']?\[REDACTED)\s*)[^\r\n]+",
        checks.keep_prefix,
        trigger=("cookie",),
    ),
    # "?token=abc&page=2" -> "?token=[REDACTED]&page=2" (names are percent-decoded).
    _p("query_secret", _QUERY_REGEX, trigger=("=",)),
    # "password=x", "api_key: x", '"secret": "x"', "Authorization: Bearer x", escaped JSON.
    ValuePattern("key_value_secret", _KEY_VALUE_REGEX, None, ("=", ":")),
    # <password>x</password>, <ns:Token><![CDATA[x]]></ns:Token>.
    _p("xml_element", _XML_REGEX, trigger=("</",)),
    # ('X-Api-Key', 'x') and ["password", "x"]: pairs as reprs print them.
    _p("name_value_pair", _PAIR_REGEX, trigger=(",",)),
    # "password hunter2", "my password is swordfish", "the PIN for bob was 1234".
    _p(
        "password_phrase",
        rf"(?P<keep>(?<![\w.\-])(?i:{_PASSWORD_WORDS})(?![\w.\-])"
        r"(?:(?P<verb>(?:\s+(?i:for|of)\s+\S{1,64})?\s+(?i:is|was|were|will be|set to|changed to"
        r"|reset to|is now)\s+)|[ \t]+))(?P<val>\S+)",
        trigger=("pass", "pwd", "pin", "secret", "token", "key"),
    ),
)


#: Detectors applied only where this regex finds a name (group "key") that is sensitive.
KEY_ANCHORS: dict[str, re.Pattern[str]] = {"key_value_secret": re.compile(_KEY_SEPARATOR)}

#: Detectors whose decision depends on which names are sensitive: the redactor
#: binds them to its own key rules (defaults plus the user's extra names).
KEYED_PATTERNS: dict[str, Callable[[IsSensitive], Replace]] = {
    "query_secret": checks.query_secret,
    "key_value_secret": checks.key_value,
    "xml_element": checks.named_value,
    "name_value_pair": checks.named_value,
    "password_phrase": lambda rules: checks.password_phrase,
}


def bind_patterns(is_sensitive: IsSensitive) -> tuple[ValuePattern, ...]:
    """`DEFAULT_PATTERNS` with the name-dependent detectors bound to `is_sensitive`."""
    return tuple(
        ValuePattern(p.name, p.regex, KEYED_PATTERNS[p.name](is_sensitive), p.trigger, p.min_digits)
        if p.name in KEYED_PATTERNS
        else p
        for p in DEFAULT_PATTERNS
    )


DEFAULT_KEY_RULES = KeyRules(DEFAULT_SENSITIVE_KEYS, DEFAULT_SAFE_KEYS)
# The table as published carries working callbacks too (bound to the default names).
DEFAULT_PATTERNS = bind_patterns(DEFAULT_KEY_RULES)
