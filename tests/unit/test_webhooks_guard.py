"""The webhook SSRF guard and retry schedule, without a network: literals resolve without DNS."""

import ipaddress
from datetime import timedelta

import pytest

from marketplace.webhooks import sender, ssrf


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"),
    ("172.31.255.255", "private"), ("192.168.0.1", "private"), ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"), ("224.0.0.251", "multicast"), ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"),
    ("::", "unspecified"), ("240.0.0.1", "reserved"), ("100.64.0.1", "not globally routable"),
    ("fc00::1", "private"), ("192.0.2.1", "private"), ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "link-local"), ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1
])
def test_non_public_addresses_are_named(address, reason):
    assert ssrf.why_not_public(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"])
def test_public_addresses_pass(address):
    assert ssrf.why_not_public(ipaddress.ip_address(address)) is None


def test_check_connects_to_what_it_checked():
    t = ssrf.check("https://8.8.8.8:8443/hooks/in?x=1", allow_private=False)
    assert (t.scheme, t.host, t.port, t.path, t.addresses) == ("https", "8.8.8.8", 8443, "/hooks/in?x=1",
                                                               ("8.8.8.8",))
    assert t.host_header == "8.8.8.8:8443"
    v6 = ssrf.check("http://[2606:4700:4700::1111]", allow_private=False)
    assert v6.path == "/" and v6.host_header == "[2606:4700:4700::1111]" and v6.port == 80
    for url in ("http://127.0.0.1:5000/x", "http://[::ffff:10.0.0.1]/", "http://2130706433/", "http://0x7f.1/"):
        with pytest.raises(ssrf.Refused, match="webhooks may only reach public addresses"):
            ssrf.check(url, allow_private=False)
    assert ssrf.check("http://127.0.0.1:5000/x", allow_private=True).addresses == ("127.0.0.1",)


@pytest.mark.parametrize(("url", "says"), [
    ("ftp://a.example/", "http or https"), ("http://u:p@a.example/", "credentials"),
    ("http://u@a.example/", "credentials"), ("http://a.example/#x", "fragment"), ("http://a.example:0/", "port 0"),
    ("http://a.example:70000/", "not a valid URL"), ("http:///x", "name a host"), ("http://ä.example/", "ASCII"),
    ("http://a..example/", "IDNA"), ("http://a.example/ x", "whitespace"),
])
def test_malformed_urls(url, says):
    with pytest.raises(ssrf.Refused, match=says):
        ssrf.parse(url)


def test_retry_schedule_is_standard_webhooks_and_spans_a_day():
    waits = [sender.retry_delay(a, 0) for a in range(1, sender.MAX_ATTEMPTS + 1)]
    assert waits[:-1] == [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                          timedelta(hours=5), timedelta(hours=10), timedelta(hours=10)]
    assert waits[-1] is None and sum(waits[:-1], timedelta()) > timedelta(hours=24)
    assert sender.retry_delay(11, 10) == timedelta(seconds=5)  # a redelivery starts the schedule again
