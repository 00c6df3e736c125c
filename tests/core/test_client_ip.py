"""Client address: the socket peer unless trusted proxies vouch for a forwarded one."""

from __future__ import annotations

import time

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
    assert result.untrusted_header == "1.2.3.4"


def test_untrusted_peer_cannot_speak_for_others_even_when_proxies_are_configured() -> None:
    """A header from a peer outside the trusted networks is ignored."""
    result = resolve_client_address("203.0.113.9", {"x-forwarded-for": "1.2.3.4"}, PROXY_NET)
    assert result.address == "203.0.113.9"
    assert result.forwarded_header_untrusted


@pytest.mark.parametrize("xff", ["198.51.100.7", "6.6.6.6, 198.51.100.7, 127.0.0.1"])
def test_a_server_that_already_resolved_the_client_is_recognised(xff: str) -> None:
    """Behind uvicorn's proxy headers the peer is the client and one of the hops: no report."""
    result = resolve_client_address("198.51.100.7", {"x-forwarded-for": xff}, NONE)
    assert result.address == "198.51.100.7"
    assert not result.forwarded_header_untrusted


def test_a_resolving_server_is_recognised_whichever_header_seclog_reads() -> None:
    """uvicorn reads X-Forwarded-For even when seclog is set to Forwarded: still no report."""
    proxies = TrustedProxies.parse(header="Forwarded")
    headers = {"x-forwarded-for": "198.51.100.7"}
    result = resolve_client_address("198.51.100.7", headers, proxies)
    assert result.address == "198.51.100.7"
    assert not result.forwarded_header_untrusted


def test_trusted_chain_is_walked_right_to_left() -> None:
    """The first untrusted hop from the right is the client; spoofed left parts are skipped."""
    headers = {"x-forwarded-for": "6.6.6.6, 198.51.100.7, 10.1.1.1"}
    assert resolve_client_address("10.0.0.2", headers, PROXY_NET).address == "198.51.100.7"


def test_two_proxies_on_one_host_are_both_skipped() -> None:
    """nginx -> nginx -> app on 127.0.0.1: the rightmost hop equals the peer and is a proxy."""
    proxies = TrustedProxies.parse("127.0.0.1")
    headers = {"x-forwarded-for": "6.6.6.6, 198.51.100.7, 127.0.0.1"}
    assert resolve_client_address("127.0.0.1", headers, proxies).address == "198.51.100.7"


def test_rfc7239_forwarded_header_is_understood_when_chosen() -> None:
    """`Forwarded: for=...` with quoted IPv6 and ports is parsed when the proxy sets it."""
    proxies = TrustedProxies.parse("10.0.0.0/8", header="Forwarded")
    headers = {"forwarded": 'for="[2001:db8::1]:4711";proto=https, for=10.2.2.2'}
    assert resolve_client_address("10.0.0.2", headers, proxies).address == "2001:db8::1"


def test_a_client_sent_forwarded_never_beats_the_proxys_x_forwarded_for() -> None:
    """Only the configured header is read: a Forwarded passed through by nginx is ignored."""
    headers = {"forwarded": "for=6.6.6.6", "x-forwarded-for": "198.51.100.7"}
    result = resolve_client_address("10.0.0.2", headers, PROXY_NET)
    assert result.address == "198.51.100.7"
    assert not result.forwarded_header_untrusted


def test_x_real_ip_can_be_the_forwarding_header() -> None:
    """With forwarded_header=X-Real-IP, that header is read and X-Forwarded-For is not."""
    proxies = TrustedProxies.parse("10.0.0.0/8", header="X-Real-IP")
    headers = {"x-real-ip": "198.51.100.7", "x-forwarded-for": "6.6.6.6"}
    assert resolve_client_address("10.0.0.2", headers, proxies).address == "198.51.100.7"


def test_hop_count_trusts_exactly_that_many_proxies() -> None:
    """With one trusted hop, the client is the last address the proxy appended."""
    proxies = TrustedProxies.parse(hop_count=1)
    headers = {"x-forwarded-for": "6.6.6.6, 198.51.100.7"}
    assert resolve_client_address("10.0.0.2", headers, proxies).address == "198.51.100.7"


@pytest.mark.parametrize("junk", ["garbage", "1.2.3.4\r\nX-Evil: 1", "for=unknown", "999.1.1.1"])
def test_junk_left_of_the_trusted_hops_does_not_hide_the_client(junk: str) -> None:
    """A client's junk XFF, with nginx's appended hop, still yields the real client."""
    headers = {"x-forwarded-for": f"{junk}, 198.51.100.7"}
    assert resolve_client_address("10.0.0.2", headers, PROXY_NET).address == "198.51.100.7"


@pytest.mark.parametrize("value", ["garbage", "for=unknown", "999.1.1.1", "1.2.3.4, _x, 10.1.1.1"])
def test_an_unparsable_client_hop_is_unknown_never_the_proxy(value: str) -> None:
    """When the first untrusted hop is junk, the client is unknown (no address), not the proxy."""
    result = resolve_client_address("10.0.0.2", {"x-forwarded-for": value}, PROXY_NET)
    assert result.address is None
    assert result.peer == "10.0.0.2"


def test_a_capped_header_still_yields_the_hop_the_proxy_appended() -> None:
    """A 100 kB header from the client cannot push the real client out of reach."""
    headers = {"x-forwarded-for": "1.1.1.1, " * 12_000 + "198.51.100.7, 10.1.1.1"}
    assert resolve_client_address("10.0.0.2", headers, PROXY_NET).address == "198.51.100.7"


def test_a_capped_chain_of_trusted_hops_leaves_the_client_unknown() -> None:
    """If every hop read is a trusted proxy and the header was cut, nobody is guessed."""
    headers = {"x-forwarded-for": "10.1.1.1, " * 2000 + "10.1.1.1"}
    assert resolve_client_address("10.0.0.2", headers, PROXY_NET).address is None


def test_huge_and_repeated_headers_parse_in_linear_time() -> None:
    """A megabyte of commas or of trusted hops resolves quickly."""
    for value in ("," * 1_000_000, "10.9.9.9," * 200_000, "a" * 1_000_000):
        started = time.perf_counter()
        resolve_client_address("10.0.0.2", {"x-forwarded-for": value}, PROXY_NET)
        assert time.perf_counter() - started < 0.2


def test_unix_socket_peer_is_a_trusted_proxy_when_named() -> None:
    """nginx over a unix socket (no peer address) speaks for the client with `unix` trusted."""
    proxies = TrustedProxies.parse(["unix"])
    for peer in (None, "", "/run/app.sock"):
        result = resolve_client_address(peer, {"x-forwarded-for": "198.51.100.7"}, proxies)
        assert result.address == "198.51.100.7"
        assert not result.forwarded_header_untrusted


def test_unix_socket_peer_is_not_trusted_by_default() -> None:
    """Without `unix` in trusted_proxies, a unix-socket peer's header is reported, not used."""
    result = resolve_client_address("", {"x-forwarded-for": "198.51.100.7"}, NONE)
    assert result.address is None
    assert result.forwarded_header_untrusted


@pytest.mark.parametrize("everything", ["0.0.0.0/0", "::/0", "10.0.0.0/8, ::/0"])
def test_trusting_every_address_is_refused(everything: str) -> None:
    """A trusted_proxies entry covering the whole internet is an error, not a configuration."""
    with pytest.raises(ValueError, match="covers every address"):
        TrustedProxies.parse(everything)


def test_ipv4_mapped_peer_is_normalized() -> None:
    """`::ffff:a.b.c.d` peers compare equal to their IPv4 form."""
    assert resolve_client_address("::ffff:192.0.2.1", {}, NONE).address == "192.0.2.1"
