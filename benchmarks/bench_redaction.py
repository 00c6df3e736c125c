"""Redaction throughput: MB/s of realistic attribute text, clean and with planted secrets.

seclog's `Redactor.redact_attributes` (key rules, value detectors, injection
escaping, coercion) against sentry-sdk's `EventScrubber.scrub_dict` (a key
denylist only, no value detectors) on the same attribute maps. A fresh
Redactor each pass, so its memo of clean pairs does not flatter it.
"""

from __future__ import annotations

import copy
import random

from seclog_core.redact import Redactor

from ._harness import Row, Settings, interleave

__all__ = ["corpus", "run"]

_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "python-requests/2.32.3",
    "curl/8.5.0",
)
_SECRETS = (
    "Authorization failed for Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
    "retrying with password=hunter2!",
    "card 4111 1111 1111 1111 declined",
    "key AKIAIOSFODNN7EXAMPLE rotated",
    "/api/reset?token=6f1e9c2b7d4a&next=/account",
    "postgres://app:s3cr3t@db.internal:5432/shop",
)


def corpus(count: int, *, secrets: bool, seed: int = 7) -> list[dict[str, object]]:
    """Attribute maps as adapters build them; every value distinct, like real traffic."""
    rng = random.Random(seed)
    maps: list[dict[str, object]] = []
    for i in range(count):
        attrs: dict[str, object] = {
            "client.address": f"203.0.{rng.randrange(256)}.{rng.randrange(256)}",
            "http.request.method": rng.choice(("GET", "POST", "PUT")),
            "url.path": f"/shop/orders/{rng.randrange(10**6)}/items/{i}",
            "http.route": "shop/orders/<int:order>/items/<int:item>",
            "user_agent.original": f"{rng.choice(_AGENTS)} build/{i}",
            "user.name": f"customer{i}@example.com",
            "security.event": "authz_fail",
            "security.outcome": "failure",
            "security.reason": "object belongs to another account",
            "http.response.status_code": 403,
            "error.message": f"PermissionDenied: order {rng.randrange(10**6)} is not yours (#{i})",
            "app.detail": f"checked ownership of order via OrderPolicy.can_view() in {i} ms",
        }
        if secrets and i % 3 == 0:
            attrs["error.message"] = f"{rng.choice(_SECRETS)} (#{i})"
        maps.append(attrs)
    return maps


def _size(maps: list[dict[str, object]]) -> int:
    return sum(len(k) + len(str(v)) for attrs in maps for k, v in attrs.items())


def run(settings: Settings) -> list[Row]:
    try:
        from sentry_sdk.scrubber import EventScrubber
    except ImportError:  # the peer is optional: seclog's own numbers still print
        EventScrubber = None  # type: ignore[misc, assignment]  # noqa: N806

    rows: list[Row] = []
    count = settings.rounds(400, 200)
    for label, secrets in (("clean text", False), ("1 in 3 maps with a secret", True)):
        maps = corpus(count, secrets=secrets)
        megabytes = _size(maps) / 1e6

        def seclog(maps: list[dict[str, object]] = maps) -> None:
            redactor = Redactor()
            for attrs in maps:
                redactor.redact_attributes(attrs)

        def sentry(maps: list[dict[str, object]] = maps) -> None:
            scrubber = EventScrubber()
            for attrs in copy.deepcopy(maps):  # it scrubs in place
                scrubber.scrub_dict(attrs)

        variants = {"seclog": seclog, "sentry EventScrubber": sentry}
        if EventScrubber is None:
            del variants["sentry EventScrubber"]
        timings = interleave(
            variants,
            rounds=settings.rounds(30, 8),
            inner=1,
            warmup=1,
        )
        for name, note in (
            ("seclog", "keys + 17 value detectors + escaping"),
            ("sentry EventScrubber", "key denylist only (incl. deepcopy it needs)"),
        ):
            if name not in variants:
                rows.append(Row("redaction", label, name, float("nan"), "MB/s", note="absent"))
                continue
            seconds = timings.median(name) / 1e6
            rows.append(Row("redaction", label, name, megabytes / seconds, "MB/s", note=note))
        if EventScrubber is not None:
            rows[-2].ratio = f"{rows[-2].value / rows[-1].value:.2f}x sentry"
    return rows
