"""What every fuzzed output must satisfy, shared by the hypothesis properties and atheris targets.

An output value is valid when OpenTelemetry accepts it as an attribute (str, bool,
int64, float, or a homogeneous list of those) and no text in it can forge a second
record, drive a terminal or flip reading order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# CR, LF, NUL, ESC, the other C0/C1 controls, DEL, bidi embeddings/overrides/isolates,
# LRM/RLM/ALM, line/paragraph separators and lone surrogates.
FORBIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
_INT64 = (-(2**63), 2**63 - 1)


def check_text(text: object, where: str) -> None:
    assert isinstance(text, str), (where, type(text))
    bad = FORBIDDEN.search(text)
    assert bad is None, (where, repr(bad.group()), text[:200])


def check_value(value: object, where: str) -> None:
    if isinstance(value, str):
        check_text(value, where)
    elif isinstance(value, bool | float):
        pass
    elif isinstance(value, int):
        assert _INT64[0] <= value <= _INT64[1], (where, value)
    elif isinstance(value, list | tuple):
        kinds = {type(item) for item in value}
        assert len(kinds) <= 1, (where, kinds)
        assert kinds <= {str, bool, int, float}, (where, kinds)
        for item in value:
            check_value(item, where)
    else:
        raise AssertionError((where, type(value)))


def check_attributes(attributes: Mapping[str, object], where: str) -> None:
    for key, value in attributes.items():
        check_text(key, f"{where} key")
        check_value(value, f"{where}[{key[:40]!r}]")
