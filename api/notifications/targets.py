"""Where a webhook may be sent: the SSRF policy, and the one address a delivery connects to.

A webhook URL is typed by a customer or an officer, and the ledger then makes requests to it
from inside the vendor's network: without a policy it could be aimed at the database, an admin
page on loopback or the cloud's metadata service. So a target must be https to a host whose
every address is public; plain http and private, loopback or link-local addresses are for the
hosts an operator names in `LEDGER_WEBHOOK_ALLOWED_HOSTS` (`host` or `host:port`), such as a
receiver in the same cluster.

The policy is applied when a subscription is made (`refusal`, a 422 naming `url`) and again
before every attempt (`resolve`), because what a name resolves to may change. `resolve` returns
the address it checked, and the sender connects to exactly that one: a DNS answer that changes
between the check and the connection (DNS rebinding) cannot reach inside.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2000
DEFAULT_PORTS = {"https": 443, "http": 80}
SETTING = "LEDGER_WEBHOOK_ALLOWED_HOSTS"
METADATA = ipaddress.ip_address("169.254.169.254")
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: inside someone's network
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NETLOC = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:[0-9]*)?")
BAD_HOST = "A webhook URL's host must be a host name or an IP address, and a port at most."


class TargetRefused(ValueError):
    """The URL may not be a webhook target; `reason` is a sentence saying why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    url: str
    host: str  # as written in the URL, lower case: the Host header and the TLS server name
    port: int
    scheme: str
    address: str  # the checked address to connect to

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == DEFAULT_PORTS[self.scheme] else f"{name}:{self.port}"


def refusal(url: str, allowed_hosts: Sequence[str]) -> str | None:
    """None when `url` may be a webhook target, else a sentence saying why not."""
    try:
        resolve(url, allowed_hosts)
    except TargetRefused as refused:
        return refused.reason
    return None


def resolve(url: str, allowed_hosts: Sequence[str]) -> Target:
    """The target to connect to, checked now; raises `TargetRefused`."""
    scheme, host, port = _parts(url)
    allowed = is_allowed(host, port, allowed_hosts)
    if scheme == "http" and not allowed:
        raise TargetRefused(
            f"A webhook URL must use https; plain http is only for hosts in {SETTING}."
        )
    addresses = _addresses(host, port)
    if not allowed:
        for address in addresses:
            kind = address_refusal(address)
            if kind is not None:
                raise TargetRefused(
                    f"The URL's host resolves to {kind}; only hosts in {SETTING} may."
                )
    # IPv4 first where there is one: reachable from more networks than IPv6.
    chosen = min(addresses, key=lambda address: address.version)
    return Target(url=url, host=host, port=port, scheme=scheme, address=str(chosen))


def address_refusal(address: Address) -> str | None:
    """What kind of non-public address this is ("a loopback address", ...), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address_refusal(address.ipv4_mapped)
        # 6to4 and NAT64 addresses lead to the IPv4 address inside them.
        inside = address.sixtofour or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64 else None
        )
        if inside is not None and (kind := address_refusal(inside)) is not None:
            return kind
    if address == METADATA:
        return "the cloud metadata address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if address.version == 4 and address in SHARED:
        return "a shared (carrier-grade NAT) address"
    if not address.is_global:
        return "a reserved address"
    return None


def is_allowed(host: str, port: int, allowed_hosts: Sequence[str]) -> bool:
    """Whether `host` (lower case) at `port` is one the operator named: an entry without a
    port allows every port of that host."""
    host = host.rstrip(".")
    for entry in allowed_hosts:
        named, named_port = _host_and_port(entry.strip().lower())
        if named.rstrip(".") == host and named_port in (None, port):
            return True
    return False


def _host_and_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):  # [v6] or [v6]:port
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:  # a name, IPv4, or a bare IPv6 address
        host, port = entry, ""
    if not port:
        return host, None
    # An entry with a port that is not one allows nothing, rather than every port.
    return (host, int(port)) if port.isdigit() else ("", None)


def _parts(url: str) -> tuple[str, str, int]:
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"A webhook URL may be at most {MAX_URL_LENGTH} characters long.")
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        raise TargetRefused("A webhook URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # a bracketed host that is no IPv6 address
        raise TargetRefused(BAD_HOST) from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise TargetRefused("A webhook URL must start with https://.")
    if "#" in url:
        raise TargetRefused("A webhook URL may not have a fragment (#...).")
    if "@" in parts.netloc:
        raise TargetRefused("A webhook URL may not carry a user name or password.")
    if not host:
        raise TargetRefused("A webhook URL must name a host.")
    if not parts.netloc.isascii():
        raise TargetRefused("A webhook URL's host must be written in ASCII (its xn-- form).")
    # Nothing but a name or address and a port: no form that another URL parser (the HTTP
    # client's) could read as a different host.
    if not NETLOC.fullmatch(parts.netloc.lower()):
        raise TargetRefused(BAD_HOST)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise TargetRefused("A webhook URL's port must be a number from 1 to 65535.")
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _addresses(host: str, port: int) -> list[Address]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        answers = []
    # An IPv6 answer may carry a zone ("fe80::1%eth0"): the address is what is judged.
    addresses = [
        ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        for family, *_, sockaddr in answers if family in (socket.AF_INET, socket.AF_INET6)
    ]
    if not addresses:
        raise TargetRefused("The URL's host does not resolve.")
    return addresses
