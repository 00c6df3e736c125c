"""Client IP resolution that a forged header cannot fool.

The client address is the socket peer unless the operator names trusted
proxies (networks, ``"unix"`` for a unix-socket peer, or a hop count). Only
then is the one forwarding header the operator's proxy sets read
(``X-Forwarded-For`` by default; ``Forwarded`` or e.g. ``X-Real-IP`` by
setting), never "whichever is present". The header is read right to left from
its last 4096 characters: the client is the first hop that is not a trusted
proxy; an unparsable hop there makes the client unknown (``None``), never the
proxy. A server that already resolved the client (uvicorn's proxy headers puts
the client in the peer and leaves the header) is recognised: the peer is one of
the header's hops. Parsing a token (RFC 7239 elements, ports, IPv6 brackets,
IPv4-mapped addresses) is python-ipware's; the trust walk is ours.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from python_ipware.modern.parsers import forwarded_for, parse_ip

__all__ = [
    "CANONICAL_IPV4",
    "DEFAULT_FORWARDED_HEADER",
    "ClientAddress",
    "TrustedProxies",
    "resolve_client_address",
]

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_Net = ipaddress.IPv4Network | ipaddress.IPv6Network
# We read at most this much of a header, from its right end: the hops trusted
# proxies appended are there; a longer chain's left part is the client's own text.
_MAX_HEADER = 4096
# A dotted quad exactly as ipaddress would print it (no leading zeros, each part <= 255).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
DEFAULT_FORWARDED_HEADER = "x-forwarded-for"
# Headers that claim a client address, whichever the operator chose: one arriving
# from an untrusted peer is reported.
_FORWARDING = ("forwarded", "x-forwarded-for")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}")
# The entry of trusted_proxies that trusts a peer with no IP address: a unix socket.
UNIX = "unix"


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """Which peers may speak for the client, and through which header."""

    networks: tuple[_Net, ...] = ()
    hop_count: int = 0
    unix: bool = False  # a peer without an IP address (a unix socket) is a trusted proxy
    header: str = DEFAULT_FORWARDED_HEADER  # lower-case name

    @classmethod
    def parse(
        cls,
        networks: Iterable[str] | str = (),
        hop_count: int = 0,
        header: str = DEFAULT_FORWARDED_HEADER,
    ) -> TrustedProxies:
        """Build from ``"10.0.0.0/8, 127.0.0.1, unix"``; a ValueError names a bad entry."""
        if isinstance(networks, str):
            networks = networks.replace(";", ",").split(",")
        parsed: list[_Net] = []
        unix = False
        for entry in networks:
            text = str(entry).strip()
            if not text:
                continue
            if text.lower() == UNIX:
                unix = True
                continue
            try:
                network = ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted proxy {text[:64]!r} is not an IP address or network "
                    "(expected forms: 10.0.0.1, 10.0.0.0/8, ::1, or unix for a unix socket)"
                ) from None
            if network.prefixlen == 0:
                # Trusting the whole internet lets every client name its own address.
                raise ValueError(
                    f"trusted proxy {text!r} covers every address, so any client could "
                    "forge its address; name your proxies' addresses or networks "
                    "(or set trusted_proxy_count to the number of proxy hops)"
                )
            parsed.append(network)
        if isinstance(hop_count, bool) or not isinstance(hop_count, int) or hop_count < 0:
            raise ValueError(f"trusted proxy hop count {hop_count!r} must be an integer >= 0")
        if not isinstance(header, str) or _HEADER_NAME.fullmatch(header.strip()) is None:
            raise ValueError(
                "forwarded header must be an HTTP header name such as X-Forwarded-For, "
                "Forwarded or X-Real-IP"
            )
        return cls(tuple(parsed), hop_count, unix, header.strip().lower())

    @property
    def configured(self) -> bool:
        return bool(self.networks) or self.hop_count > 0 or self.unix

    def trusts(self, ip: _IP) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)


@dataclass(frozen=True, slots=True)
class ClientAddress:
    """The resolved client and, when a forwarding header was ignored as untrusted, its text."""

    address: str | None
    peer: str | None
    forwarded_header_untrusted: bool = False
    untrusted_header: str | None = None


def _is_unix_peer(peer: str | None) -> bool:
    """No peer address, or a socket path: how servers show a unix-socket connection."""
    return not peer or peer.startswith(("/", "unix:", "@"))


def _parse(token: str) -> tuple[_IP | None, str | None]:
    """An address from one token and its text; a canonical dotted quad skips the parser."""
    text = token.strip()
    if CANONICAL_IPV4.fullmatch(text) is not None:
        return ipaddress.IPv4Address(socket.inet_aton(text)), text
    ip = parse_ip(token)
    return ip, (None if ip is None else str(ip))


def _hops_from_right(raw: str, rfc7239: bool) -> Iterator[tuple[_IP | None, str | None]]:
    """The header's hops, right to left, as (address, text); (None, None) if unparsable.

    Only the last ``_MAX_HEADER`` characters are read; a hop cut by that cap is
    not read at all. Linear in the part read.
    """
    tail = raw[-_MAX_HEADER:]
    start = tail.find(",") + 1 if len(raw) > _MAX_HEADER else 0
    end = len(tail)
    while end > start:
        comma = tail.rfind(",", start, end)
        token = tail[comma + 1 if comma >= 0 else start : end]
        end = comma if comma >= start else start
        if rfc7239 or "=" in token:
            token = forwarded_for(token)
        yield _parse(token)


def _reported(headers: Mapping[str, str], proxies: TrustedProxies) -> str | None:
    """The text of the first forwarding header present, to report from an untrusted peer."""
    value = headers.get(proxies.header)
    if value:
        return value
    for name in _FORWARDING:
        value = headers.get(name)
        if value:
            return value
    return None


def _server_resolved(peer: _IP, headers: Mapping[str, str], header: str) -> bool:
    """A server before us resolved the client (uvicorn's proxy headers): the peer is a hop.

    The hops left of it are claims nobody vouched for; the client is the peer either way.
    The configured header and the two standard ones are looked at, as servers read XFF.
    """
    for name in dict.fromkeys((header, *_FORWARDING)):
        value = headers.get(name)
        if value and any(hop == peer for hop, _ in _hops_from_right(value, name == "forwarded")):
            return True
    return False


def resolve_client_address(
    peer: str | None,
    headers: Mapping[str, str],
    proxies: TrustedProxies,
) -> ClientAddress:
    """Resolve the client address; ``headers`` must have lower-case names.

    With a hop count N, the N rightmost hops (the peer included) are trusted.
    With networks, hops are trusted while they fall inside one of them.
    """
    raw = headers.get(proxies.header) or None
    if raw is not None and not raw.strip(" \t,"):
        raw = None
    if (
        not raw
        and peer
        and CANONICAL_IPV4.fullmatch(peer) is not None
        and not headers.get("forwarded")
        and not headers.get("x-forwarded-for")
    ):
        return ClientAddress(peer, peer)  # the common case: canonical, nothing to parse
    peer_ip, peer_text = _parse(peer) if peer else (None, None)
    if peer_ip is not None:
        # With networks the peer must be in one; with a hop count alone, any peer is hop 1.
        trusted = proxies.trusts(peer_ip) if proxies.networks else proxies.hop_count > 0
    else:
        trusted = _is_unix_peer(peer) and (proxies.unix or proxies.hop_count > 0)
    rfc7239 = proxies.header == "forwarded"
    if not trusted:
        reported = _reported(headers, proxies)
        if reported is None:
            return ClientAddress(peer_text, peer_text)
        if peer_ip is not None and _server_resolved(peer_ip, headers, proxies.header):
            return ClientAddress(peer_text, peer_text)
        return ClientAddress(peer_text, peer_text, True, reported)
    if raw is None:
        return ClientAddress(peer_text, peer_text)
    if proxies.hop_count:
        # The peer is trusted hop 1; the client is the hop_count-th hop from the right.
        client: str | None = None
        for index, (_, text) in enumerate(_hops_from_right(raw, rfc7239), start=1):
            client = text
            if index == proxies.hop_count:
                break
        return ClientAddress(client, peer_text)
    last: str | None = None
    for hop, text in _hops_from_right(raw, rfc7239):
        if hop is None or not proxies.trusts(hop):
            # The first hop that is not a trusted proxy is the client; unparsable: unknown.
            return ClientAddress(text, peer_text)
        last = text
    if len(raw) > _MAX_HEADER:
        return ClientAddress(None, peer_text)  # the client is beyond what we read
    # Every hop is a trusted proxy (a request from inside the proxy tier): the leftmost.
    return ClientAddress(last, peer_text)
