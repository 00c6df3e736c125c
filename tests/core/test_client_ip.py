"""Client address: the socket peer unless trusted proxies vouch for a forwarded one."""

from __future__ import annotations

import pytest

from seclog_core.client_ip import TrustedProxies, resolve_client_address

NONE = TrustedProxies()
PROXY_NET = TrustedProxies.parse("10.0.0.0/8")


def test_peer_is_the_client_by_default() -> None:
    """Without configuration the socket peer is the client."""
    assert resolve_client_address("203.0.113.9", {}, NONE).address == "203.0.113.9"


def test_forged_forwarded_for_from_the_internet_is_ignored_and_flagged() -> None:
    """A spoofed X-Forwarded-For never becomes the client address."""
    result = resolve_client_address("203.0.113.9", {"x-forwarded-for": "1.2.3.4"}, NONE)
    assert result.address == "203.0.113.9"
    assert result.forwarded_header_untrusted


def test_untrusted_peer_cannot_speak_for_others_even_when_proxies_are_configured() -> None:
    """A header from a peer outside the trusted networks is ignored."""
    result = resolve_client_address("203.0.113.9", {"x-forwarded-for": "1.2.3.4"}, PROXY_NET)
    assert result.address == "203.0.113.9"
    assert result.forwarded_header_untrusted


def test_trusted_chain_is_walked_right_to_left() -> None:
    """The first untrusted hop from the right is the client; spoofed left parts are skipped."""
    headers = {"x-forwarded-for": "6.6.6.6, 198.51.100.7, 10.1.1.1"}
    assert resolve_client_address("10.0.0.2", headers, PROXY_NET).address == "198.51.100.7"


def test_rfc7239_forwarded_header_is_understood() -> None:
    """`Forwarded: for=...` with quoted IPv6 and ports is parsed."""
    headers = {"forwarded": 'for="[2001:db8::1]:4711";proto=https, for=10.2.2.2'}
    assert resolve_client_address("10.0.0.2", headers, PROXY_NET).address == "2001:db8::1"


def test_hop_count_trusts_exactly_that_many_proxies() -> None:
    """With one trusted hop, the client is the last address the proxy appended."""
    proxies = TrustedProxies.parse(hop_count=1)
    headers = {"x-forwarded-for": "6.6.6.6, 198.51.100.7"}
    assert resolve_client_address("10.0.0.2", headers, proxies).address == "198.51.100.7"


@pytest.mark.parametrize(
    "value", ["garbage", "1.2.3.4\r\nX-Evil: 1", "for=unknown", "999.1.1.1", "," * 5000]
)
def test_malformed_headers_fall_back_to_the_peer(value: str) -> None:
    """A broken header is never guessed at."""
    assert resolve_client_address("10.0.0.2", {"x-forwarded-for": value}, PROXY_NET).address in (
        "10.0.0.2",
    )


def test_ipv4_mapped_peer_is_normalized() -> None:
    """`::ffff:a.b.c.d` peers compare equal to their IPv4 form."""
    assert resolve_client_address("::ffff:192.0.2.1", {}, NONE).address == "192.0.2.1"
