"""The pure rules of webhooks: which URLs an endpoint may have, which addresses are not public, the
signature a receiver checks, and the retry schedule."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from gateway.config import ConfigError, Settings, load_settings
from gateway.services.errors import ServiceError
from gateway.services.webhook_sender import retry_delay
from gateway.services.webhooks import check_url, not_public, sign
from tests.support.receiver import verify

STRICT = Settings()
OPEN = Settings(webhook_allow_private=True)


@pytest.mark.parametrize("url, allowed, why", [
    ("https://hooks.example.com/smartbcc?x=1", True, ""),
    ("http://203.0.113.7:8080/in", False, "private"),             # TEST-NET: not a public address
    ("http://8.8.8.8/in", True, ""),
    ("ftp://hooks.example.com/", False, "starts with https://"),
    ("file:///etc/passwd", False, "starts with https://"),
    ("hooks.example.com/in", False, "starts with https://"),
    ("https:///in", False, "names no host"),
    ("https://user:pw@hooks.example.com/", False, "no user name or password"),
    ("https://hooks.example.com/a b", False, "spaces or control characters"),
    ("https://hooks.example.com:99999/", False, "cannot be read"),
    ("http://127.0.0.1:8000/", False, "webhook_allow_private"),
    ("http://localhost/", False, "webhook_allow_private"),
    ("http://[::ffff:10.0.0.1]/", False, "webhook_allow_private"),
    ("http://169.254.169.254/latest/meta-data", False, "webhook_allow_private"),
    ("https://" + "a" * 2000 + ".example/", False, "longer than 2000"),
])
def test_endpoint_urls(url: str, allowed: bool, why: str) -> None:
    if allowed:
        assert check_url(STRICT, url) == url
        return
    with pytest.raises(ServiceError, match=why):
        check_url(STRICT, url)


def test_private_addresses_are_allowed_when_the_deployment_says_so() -> None:
    assert check_url(OPEN, "http://127.0.0.1:8000/hooks") == "http://127.0.0.1:8000/hooks"
    with pytest.raises(ServiceError):
        check_url(OPEN, "gopher://127.0.0.1/")


@pytest.mark.parametrize("address, private", [
    ("127.0.0.1", True), ("10.1.2.3", True), ("192.168.0.1", True), ("172.16.0.1", True), ("100.64.0.1", True),
    ("169.254.169.254", True), ("0.0.0.0", True), ("::1", True), ("fe80::1%eth0", True), ("fd00::1", True),
    ("::ffff:127.0.0.1", True), ("224.0.0.1", True), ("93.184.215.14", False), ("2606:4700::1111", False),
])
def test_not_public(address: str, private: bool) -> None:
    assert not_public(address) is private


def test_the_signature_is_the_documented_hmac() -> None:
    body = b'{"id":"x","type":"ping"}'
    header = sign("whsec_abc", 1796380800, body)
    expected = hmac.new(b"whsec_abc", b"1796380800." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1796380800,v1={expected}"
    fresh = sign("whsec_abc", int(__import__("time").time()), body)
    assert verify("whsec_abc", fresh, body)
    assert not verify("whsec_abd", fresh, body) and not verify("whsec_abc", fresh, body + b" ")
    assert not verify("whsec_abc", header, body)         # too old: a captured request replayed


def test_retries_double_up_to_the_cap_with_jitter() -> None:
    settings = Settings(webhook_retry_first=30, webhook_retry_max=3600)
    for attempts, base in [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (29, 3600), (500, 3600)]:
        assert 0.8 * base <= retry_delay(settings, attempts) <= 1.2 * base
    total = sum(min(3600, 30 * 2 ** (n - 1)) for n in range(1, Settings().webhook_attempts))
    assert 20 * 3600 < total < 24 * 3600       # the default schedule: about a day


@pytest.mark.parametrize("name, value", [("webhook_timeout", "0"), ("webhook_attempts", "0"),
                                         ("webhook_interval", "-1"), ("webhook_retry_first", "0")])
def test_unusable_settings_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings(environ={f"SMARTBCC_{name.upper()}": value})
