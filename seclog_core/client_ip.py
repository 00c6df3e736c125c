"""Client IP resolution that a forged header cannot fool.

The client address is the socket peer unless the operator names trusted
proxies (networks, or a hop count). Only then are ``Forwarded`` and
``X-Forwarded-For`` read, right to left, stopping at the first hop that is not
a trusted proxy. Header parsing (RFC 7239 elements, ports, IPv6 brackets,
IPv4-mapped addresses) is python-ipware's; the trust walk is ours.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from python_ipware.modern.parsers import parse_ip, split_proxy_chain

__all__ = ["CANONICAL_IPV4", "ClientAddress", "TrustedProxies", "resolve_client_address"]

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_Net = ipaddress.IPv4Network | ipaddress.IPv6Network
# Longest header value we parse; a longer chain is hostile or broken.
_MAX_HEADER = 4096
# A dotted quad exactly as ipaddress would print it (no leading zeros, each part <= 255).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """Which peers may speak for the client through forwarding headers."""

    networks: tuple[_Net, ...] = ()
    hop_count: int = 0

    @classmethod
    def parse(cls, networks: Iterable[str] | str = (), hop_count: int = 0) -> TrustedProxies:
        """Build from strings like ``"10.0.0.0/8, 127.0.0.1"``; ValueError names a bad entry."""
        if isinstance(networks, str):
            networks = networks.replace(";", ",").split(",")
        parsed: list[_Net] = []
        for entry in networks:
            text = str(entry).strip()
            if not text:
                continue
            try:
                parsed.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                raise ValueError(
                    f"trusted proxy {text!r} is not an IP address or network "
                    "(expected forms: 10.0.0.1, 10.0.0.0/8, ::1)"
                ) from None
        if isinstance(hop_count, bool) or not isinstance(hop_count, int) or hop_count < 0:
            raise ValueError(f"trusted proxy hop count {hop_count!r} must be an integer >= 0")
        return cls(tuple(parsed), hop_count)

    @property
    def configured(self) -> bool:
        return bool(self.networks) or self.hop_count > 0

    def trusts(self, ip: _IP) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)


@dataclass(frozen=True, slots=True)
class ClientAddress:
    """The resolved client and whether a forwarding header was ignored as untrusted."""

    address: str | None
    peer: str | None
    forwarded_header_untrusted: bool = False


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    return value[:_MAX_HEADER]


def resolve_client_address(
    peer: str | None,
    headers: Mapping[str, str],
    proxies: TrustedProxies,
) -> ClientAddress:
    """Resolve the client address; ``headers`` must have lower-case names.

    With a hop count N, the N rightmost hops (the peer included) are trusted.
    With networks, hops are trusted while they fall inside one of them.
    """
    raw = _header(headers, "forwarded") or _header(headers, "x-forwarded-for")
    if raw is None and peer and CANONICAL_IPV4.fullmatch(peer) is not None:
        return ClientAddress(peer, peer)  # the common case: already canonical, nothing to parse
    peer_ip = parse_ip(peer) if peer else None
    peer_text = str(peer_ip) if peer_ip is not None else None
    if raw is None:
        return ClientAddress(peer_text, peer_text)
    if not proxies.configured or peer_ip is None:
        return ClientAddress(peer_text, peer_text, forwarded_header_untrusted=True)
    if proxies.networks and not proxies.trusts(peer_ip):
        return ClientAddress(peer_text, peer_text, forwarded_header_untrusted=True)
    chain = split_proxy_chain(raw, strict=True)
    if not chain:
        # Malformed: never guess from a broken header.
        return ClientAddress(peer_text, peer_text)
    hops = [*chain, peer_ip]
    if proxies.hop_count:
        index = max(len(hops) - 1 - proxies.hop_count, 0)
        return ClientAddress(str(hops[index]), peer_text)
    # Walk right to left; the first address that is not a trusted proxy is the client.
    for ip in reversed(hops):
        if not proxies.trusts(ip):
            return ClientAddress(str(ip), peer_text)
    return ClientAddress(str(hops[0]), peer_text)
