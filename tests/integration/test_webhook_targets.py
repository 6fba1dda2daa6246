"""Where a webhook may go: https to public addresses; plain http, private, loopback and
link-local addresses only for the hosts the operator allowed (api/notifications/targets.py).

Addresses are written as IP literals, which resolve without a name server; "localhost"
resolves through the hosts file. Only the test of a name with several answers, one private,
stands in for DNS: no real resolver gives that answer on demand.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.notifications.targets import (
    TargetRefused, address_refusal, is_allowed, refusal, resolve,
)

PUBLIC = "93.184.215.14"  # a public address: nothing is sent in these tests

NOT_PUBLIC = [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("[::1]", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"),
    ("[fd00::1]", "private"), ("169.254.169.254", "metadata"), ("169.254.1.1", "link-local"),
    ("[fe80::1]", "link-local"), ("100.64.0.1", "carrier-grade NAT"),
    ("0.0.0.0", "unspecified"), ("[::]", "unspecified"), ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"), ("[::ffff:127.0.0.1]", "loopback"),
    ("[::ffff:10.0.0.1]", "private"), ("[2002:a00:1::1]", "private"),
    ("[2002:a9fe:a9fe::1]", "metadata"), ("[64:ff9b::7f00:1]", "loopback"),
]


def test_https_to_a_public_address_is_accepted() -> None:
    assert refusal(f"https://{PUBLIC}/hooks?tenant=1", []) is None
    target = resolve(f"https://{PUBLIC}:8443/hooks", [])
    assert (target.scheme, target.host, target.port, target.address) == (
        "https", PUBLIC, 8443, PUBLIC)


def test_plain_http_is_refused_for_a_host_that_is_not_allowed() -> None:
    reason = refusal(f"http://{PUBLIC}/hooks", [])
    assert reason is not None and "https" in reason
    assert "LEDGER_WEBHOOK_ALLOWED_HOSTS" in reason


@pytest.mark.parametrize(("host", "kind"), NOT_PUBLIC)
def test_an_address_inside_a_network_is_refused(host: str, kind: str) -> None:
    reason = refusal(f"https://{host}/hooks", [])
    assert reason is not None and kind in reason


@pytest.mark.parametrize(("host", "kind"), NOT_PUBLIC[:12])
def test_an_address_inside_a_network_is_accepted_when_its_host_is_allowed(
    host: str, kind: str
) -> None:
    assert refusal(f"http://{host}:8080/hooks", [host.strip("[]")]) is None
    assert refusal(f"https://{host}/hooks", [f"{host}:443"]) is None


def test_a_name_that_resolves_to_loopback_is_refused_unless_allowed() -> None:
    reason = refusal("https://localhost/hooks", [])
    assert reason is not None and "loopback" in reason
    assert refusal("https://localhost/hooks", ["localhost"]) is None
    assert refusal("http://LocalHost:9000/hooks", ["localhost:9000"]) is None


def test_an_allowed_host_with_a_port_allows_that_port_only() -> None:
    assert refusal("http://127.0.0.1:8080/", ["127.0.0.1:8080"]) is None
    assert refusal("http://127.0.0.1:9090/", ["127.0.0.1:8080"]) is not None
    assert refusal("http://127.0.0.1/", ["127.0.0.1:8080"]) is not None


@pytest.mark.parametrize(("entry", "host", "port", "allowed"), [
    ("hooks.internal", "hooks.internal", 1234, True),
    ("Hooks.Internal.", "hooks.internal", 443, True),
    ("hooks.internal:8080", "hooks.internal", 8080, True),
    ("hooks.internal:8080", "hooks.internal", 8081, False),
    ("hooks.internal:http", "hooks.internal", 80, False),
    ("[::1]:8080", "::1", 8080, True),
    ("[::1]", "::1", 1, True),
    ("::1", "::1", 1, True),
    ("other.internal", "hooks.internal", 443, False),
])
def test_allowed_hosts_are_written_as_host_or_host_and_port(
    entry: str, host: str, port: int, allowed: bool
) -> None:
    assert is_allowed(host, port, [entry]) is allowed


def test_a_host_that_does_not_resolve_is_refused() -> None:
    reason = refusal("https://nowhere.invalid/hooks", [])
    assert reason is not None and "does not resolve" in reason
    with pytest.raises(TargetRefused, match="does not resolve"):
        resolve("http://nowhere.invalid/hooks", ["nowhere.invalid"])


@pytest.mark.parametrize(("url", "why"), [
    (f"ftp://{PUBLIC}/hooks", "https://"),
    (f"{PUBLIC}/hooks", "https://"),
    (f"https://user:password@{PUBLIC}/hooks", "user name or password"),
    (f"https://{PUBLIC}@{PUBLIC}/hooks", "user name or password"),
    (f"https://{PUBLIC}/hooks#part", "fragment"),
    (f"https://{PUBLIC}/hooks#", "fragment"),
    (f"https://{PUBLIC}/" + "a" * 2000, "2000 characters"),
    (f"https://{PUBLIC}/ho oks", "spaces or control characters"),
    (f"https://{PUBLIC}/ho\r\nHost: x/", "spaces or control characters"),
    ("https:///hooks", "name a host"),
    (f"https://{PUBLIC}:0/hooks", "port"),
    (f"https://{PUBLIC}:70000/hooks", "port"),
    (f"https://{PUBLIC}:http/hooks", "port"),
    ("https://exämple.org/hooks", "ASCII"),
])
def test_a_malformed_url_is_refused_with_a_reason(url: str, why: str) -> None:
    reason = refusal(url, [PUBLIC])
    assert reason is not None and why in reason
    assert reason.endswith(".")


def test_a_name_is_refused_when_any_of_its_addresses_is_inside_a_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = {"mixed.example": [PUBLIC, "10.0.0.7"], "public.example": [PUBLIC, "2606:4700::1"]}
    monkeypatch.setattr(socket, "getaddrinfo", _name_server(answers))
    reason = refusal("https://mixed.example/hooks", [])
    assert reason is not None and "private" in reason
    assert refusal("https://public.example/hooks", []) is None


def test_the_target_names_one_address_checked_now(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"hooks.example": ["2606:4700::1", PUBLIC]}
    monkeypatch.setattr(socket, "getaddrinfo", _name_server(answers))
    target = resolve("https://hooks.example/x", [])
    assert (target.host, target.address, target.host_header) == (
        "hooks.example", PUBLIC, "hooks.example")
    answers["hooks.example"] = ["127.0.0.1"]  # rebinding: the next check sees it
    with pytest.raises(TargetRefused, match="loopback"):
        resolve("https://hooks.example/x", [])


@given(st.ip_addresses(v=4, network="10.0.0.0/8") | st.ip_addresses(v=4, network="127.0.0.0/8")
       | st.ip_addresses(v=4, network="172.16.0.0/12")
       | st.ip_addresses(v=4, network="192.168.0.0/16")
       | st.ip_addresses(v=4, network="169.254.0.0/16")
       | st.ip_addresses(v=4, network="100.64.0.0/10"))
def test_no_private_address_is_public_in_any_form(address: ipaddress.IPv4Address) -> None:
    assert address_refusal(address) is not None
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    six_to_four = ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80) | 1)
    nat64 = ipaddress.IPv6Address(f"64:ff9b::{address}")
    assert address_refusal(mapped) == address_refusal(address)
    assert address_refusal(six_to_four) == address_refusal(address)
    assert address_refusal(nat64) == address_refusal(address)


@given(st.ip_addresses(v=4).filter(
    lambda a: a.is_global and not a.is_multicast and not a.is_reserved))
def test_a_public_address_is_accepted_in_every_form(address: ipaddress.IPv4Address) -> None:
    assert address_refusal(address) is None
    assert address_refusal(ipaddress.IPv6Address(f"::ffff:{address}")) is None
    assert address_refusal(ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80))) is None


@given(st.text(max_size=60) | st.builds(
    "https://{}{}".format, st.ip_addresses(v=4), st.text("/\\@:%?[]#.0123456789ab", max_size=12)))
def test_any_text_gets_an_answer_that_the_http_client_reads_alike(text: str) -> None:
    """Never an exception; and a URL accepted names the same host and port to the HTTP
    client that will send to it (no parser differential to slip a host through)."""
    with pytest.MonkeyPatch.context() as patch:  # addresses only: no name server asked
        patch.setattr(socket, "getaddrinfo", _numeric_only)
        for url in (text, "https://" + text):
            try:
                target = resolve(url, [])
            except TargetRefused as refused:
                assert refused.reason.endswith(".")
                continue
            parsed = httpx2.URL(url)
            assert (parsed.host, parsed.port or 443) == (target.host, target.port)


def _numeric_only(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    return _real_getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)


_real_getaddrinfo = socket.getaddrinfo


def _name_server(answers: dict[str, list[str]]) -> Any:
    """getaddrinfo, answering for the names given and asking the real one for the rest."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port)) for a in answers[host]]

    return getaddrinfo

