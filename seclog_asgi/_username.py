"""Find the user name in a login request's body, and nothing else.

Form-urlencoded and multipart bodies are scanned field by field: only the
user-name field is ever decoded, so the password stays bytes nobody looks at.
A JSON body is parsed (the C parser is the safe way to read JSON) and only the
one field is kept. The caller hands in at most :data:`MAX_BODY` bytes; a body cut
short there still yields the name when it came first.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

__all__ = ["MAX_BODY", "MAX_NAME", "username_from_body"]

MAX_BODY = 64 * 1024  # bytes of a login body seclog keeps, at most, while the request runs
MAX_NAME = 256


def _text(raw: bytes) -> str | None:
    name = raw.decode("utf-8", errors="replace").strip()
    return name[:MAX_NAME] or None


def _from_form(body: bytes, field: bytes, complete: bool) -> str | None:
    parts = body.split(b"&")
    if not complete:
        parts = parts[:-1]  # the last field may be cut short
    for part in parts:
        name, sep, value = part.partition(b"=")
        if sep and unquote_to_bytes(name.replace(b"+", b" ")) == field:
            return _text(unquote_to_bytes(value.replace(b"+", b" ")))
    return None


def _boundary(content_type: str) -> bytes | None:
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"').encode("latin-1", errors="replace")
    return None


def _from_multipart(body: bytes, field: bytes, content_type: str) -> str | None:
    boundary = _boundary(content_type)
    if boundary is None:
        return None
    wanted = re.compile(rb'[;\s]name="?' + re.escape(field) + rb'"?\s*(?:;|$)', re.IGNORECASE)
    for part in body.split(b"--" + boundary):
        head, sep, value = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-disposition:") and wanted.search(line):
                if value.endswith(b"\r\n"):
                    return _text(value[:-2])
                return None  # cut short: the value's end is not in what was kept
    return None


def _from_json(body: bytes, field: str) -> str | None:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    value = document.get(field) if isinstance(document, dict) else None
    del document  # the password with it: nothing of the body outlives this call
    if isinstance(value, str):
        return value.strip()[:MAX_NAME] or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)[:MAX_NAME]
    return None


def username_from_body(body: bytes, content_type: str, field: str, complete: bool) -> str | None:
    """The user name in ``body`` (at most :data:`MAX_BODY` bytes), or None; never raises."""
    try:
        kind = content_type.split(";", 1)[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            return _from_form(body, field.encode(), complete)
        if kind == "multipart/form-data":
            return _from_multipart(body, field.encode(), content_type)
        if kind == "application/json" or kind.endswith("+json"):
            return _from_json(body, field) if complete else None
    except Exception:  # a hostile body yields no name, never an error
        return None
    return None
