"""URLs made safe to print, and URL paths cleared of the parameters a route names as secret.

`scrub_url` is for every URL seclog itself prints (the collector endpoint in a
warning, ``seclog check``'s report): credentials in the userinfo and secrets in
the query go, the rest stays readable. `redact_route_params` uses the route
template the framework matched (``/reset/<token>``, ``/reset/{token}``,
``reset/<str:token>/``, ``^reset/(?P<token>[^/]+)/$``) to clear the path
segments that hold a sensitive parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ._secret_checks import REDACTED

__all__ = ["redact_route_params", "scrub_url"]

# "<token>", "<str:token>", "<path:rest>", "{token}", "{token:str}", "(?P<token>...)".
_PARAM = re.compile(
    r"<(?:(?P<conv1>[A-Za-z_]\w*):)?(?P<n1>[A-Za-z_]\w*)>"
    r"|\{(?P<n2>[A-Za-z_]\w*)(?::(?P<conv2>[^{}]*))?\}"
    r"|\(\?P<(?P<n3>[A-Za-z_]\w*)>"
)
_CHAR_CLASS = re.compile(r"\[(?:\\.|[^\]\\])*\]")
# Path parameter names that hold a secret in a URL though not as an attribute name.
_SECRET_PARAMS = frozenset({"code", "key", "hash", "nonce", "magic", "activationkey"})
_MAX_SEGMENTS = 64


def redact_route_params(path: str, route: str, is_sensitive: Callable[[str], bool]) -> str:
    """`path` with each segment matched by a sensitive route parameter replaced by REDACTED."""
    template = _CHAR_CLASS.sub("x", route).lstrip("^").rstrip("$")
    if not _PARAM.search(template):
        return path
    original = path
    route_parts = template.strip("/").split("/")
    query = ""
    for mark in ("?", "#"):
        if mark in path:
            path, _, tail = path.partition(mark)
            query = mark + tail + query
    leading = "/" if path.startswith("/") else ""
    trailing = "/" if path.endswith("/") and len(path) > 1 else ""
    parts = path.strip("/").split("/")
    if len(route_parts) > _MAX_SEGMENTS or len(parts) > 4 * _MAX_SEGMENTS:
        return original
    offset = _alignment(route_parts, parts)
    for index, segment in enumerate(route_parts):
        names = []
        multi = False
        for m in _PARAM.finditer(segment):
            names.append(m.group("n1") or m.group("n2") or m.group("n3"))
            conv = m.group("conv1") or m.group("conv2") or ""
            multi = multi or conv == "path"
        if not any(_secret(name, is_sensitive) for name in names):
            continue
        at = index + offset
        if multi:  # "<path:token>" spans the rest of the path
            parts[at:] = [REDACTED] if at < len(parts) else []
            break
        if at < len(parts):
            parts[at] = REDACTED
    result = leading + "/".join(parts) + trailing + query
    return original if result == original else result


def _alignment(route_parts: list[str], parts: list[str]) -> int:
    """Where the route starts in the path: a mounted app's route lacks the mount prefix."""
    spans_rest = any(
        (m.group("conv1") or m.group("conv2")) == "path"
        for segment in route_parts
        for m in _PARAM.finditer(segment)
    )
    if not spans_rest:
        return max(len(parts) - len(route_parts), 0)  # align the two from the end
    for offset in range(max(len(parts) - len(route_parts), 0) + 1):
        literal = [
            (index, segment)
            for index, segment in enumerate(route_parts)
            if not _PARAM.search(segment)
        ]
        if all(
            offset + index < len(parts) and parts[offset + index] == segment
            for index, segment in literal
        ):
            return offset
    return 0


def _secret(name: str, is_sensitive: Callable[[str], bool]) -> bool:
    return is_sensitive(name) or name.lower().replace("_", "") in _SECRET_PARAMS


_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*:)?//(?P<userinfo>[^/?#]*)@")


def scrub_url(url: str) -> str:
    """`url` for printing: no userinfo password or token, no secret query values."""
    from .redact import default_redactor  # the redactor imports this module

    text = str(url)
    match = _USERINFO.match(text)
    if match is not None and match.group("userinfo"):
        # The userinfo ends at the last '@' of the authority: all of it goes.
        text = (match.group("scheme") or "") + "//" + REDACTED + text[match.end() - 1 :]
    return default_redactor().scrub_text(text)
