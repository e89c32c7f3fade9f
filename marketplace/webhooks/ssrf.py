"""The SSRF guard: a webhook may only reach public addresses, unless the configuration allows private ones.

Checked when a subscription is created (422 naming `url`) and again before every send, because a DNS
answer may change. The sender connects to the very addresses checked here (`Target.addresses`), not to a
second lookup of the name, so a rebinding DNS server cannot swap in a private address between the check
and the connection.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    """The URL is malformed or reaches an address it may not."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name (or literal) as written, IDNA-encoded, without brackets
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]  # checked addresses to connect to, in resolver order

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse(url: str) -> SplitResult:
    """Syntax only: http(s), a host, no credentials, no fragment. Raises Refused saying what is wrong."""
    if not url.isascii():
        raise Refused("must be ASCII: percent-encode the path and write an international host name as xn--")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise Refused(f"is not a valid URL ({e})") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("must be an http or https URL")
    if not parts.hostname:
        raise Refused("must name a host")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise Refused("must not contain credentials (user:password@)")
    if parts.fragment or url.endswith("#"):
        raise Refused("must not contain a fragment")
    if port == 0:
        raise Refused("must not use port 0")
    if any(c.isspace() for c in url):
        raise Refused("must not contain whitespace")
    _idna(parts.hostname)
    return parts


def _idna(hostname: str) -> str:
    try:
        ipaddress.ip_address(hostname)
        return hostname
    except ValueError:
        pass
    try:
        return hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise Refused("has a host name that is not valid (IDNA)") from None


def _embedded_v4(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (IPv4-mapped, 6to4, Teredo client), else the address itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return ip


def why_not_public(ip: IPAddress) -> str | None:
    """None for a public unicast address; otherwise what it is."""
    inner = _embedded_v4(ip)
    for candidate in (inner, ip) if inner != ip else (ip,):
        for attr, what in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
                           ("is_link_local", "link-local"), ("is_multicast", "multicast"),
                           ("is_reserved", "reserved"), ("is_private", "private")):
            if getattr(candidate, attr):
                return what
        if not candidate.is_global:
            return "not globally routable"
    return None


def resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address the name resolves to (a literal resolves to itself, without asking DNS)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as e:
        raise Refused(f"host {host!r} does not resolve ({e.__class__.__name__})") from None
    out: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        addr = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone id
        if addr not in out:
            out.append(addr)
    if not out:
        raise Refused(f"host {host!r} does not resolve")
    return tuple(out)


def check(url: str, allow_private: bool) -> Target:
    """Parse, resolve and check `url`; the Target names the addresses it is safe to connect to.

    Every address of the name must be public (a name with one private address among public ones is
    refused: which one is used is the resolver's choice). With `allow_private`, nothing is refused."""
    parts = parse(url)
    host = _idna(parts.hostname or "")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    addresses = resolve(host, port)
    if not allow_private:
        for addr in addresses:
            reason = why_not_public(ipaddress.ip_address(addr))
            if reason is not None:
                shown = host if host == addr else f"{host} ({addr})"
                raise Refused(f"reaches a {reason} address: {shown}; webhooks may only reach public addresses")
    return Target(parts.scheme, host, port, path, addresses)
