"""The client's address behind trusted proxies (`JOURNAL_API_TRUSTED_PROXIES`).

Why not the left-most `X-Forwarded-For` entry: the client writes that one itself, so it
could choose its own rate-limit bucket. Each proxy appends the address it received the
connection from, so the chain is read from the right: starting at the peer of our own
socket, every hop inside a trusted range is a proxy of ours and we step left; the first
address that is not trusted is the client. With no trusted ranges, or a peer outside
them, the header is ignored and the socket's peer is the client.

Called by `settings.py` (validation) and `middleware.py` (once per request).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# A longer header is cut: nobody chains this many proxies, and parsing stays bounded.
MAX_HOPS = 32
UNKNOWN = "unknown"


def parse(cidrs: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 192.168.0.0/16"`` as networks (a bare address is a /32 or /128).

    Raises:
        ValueError: naming the entry that is not a CIDR.
    """
    networks = []
    for entry in (part.strip() for part in cidrs.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR range") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[Network]
) -> bool:
    return any(address in network for network in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The right-most untrusted address of ``forwarded_for`` followed by ``peer``.

    Args:
        peer: the socket's remote address (None when the server does not know it).
        forwarded_for: the `X-Forwarded-For` header, if any.
        trusted: the proxies' networks.
    """
    if peer is None:
        return UNKNOWN
    current = _address(peer)
    if current is None or not trusted or not _trusted(current, trusted):
        return peer
    hops = (forwarded_for or "").split(",")[-MAX_HOPS:]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # Garbage where an address should be: the proxy we trust did not write it, so
            # the last address a trusted proxy vouched for is the client.
            return str(current)
        current = address
        if not _trusted(current, trusted):
            return str(current)
    # Every hop is one of ours (or there was no header): the left-most one is the client.
    return str(current)
