"""The gateway driven by swaks, a real SMTP client, as a salesperson's Bcc would arrive."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.gwtest import ThreadedGateway, messages, persons

pytestmark = [
    pytest.mark.swaks,
    pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed (apt-get install swaks)"),
]

MESSAGE = (
    "From: Ada Lovelace <ada@acme.example>\r\n"
    "To: Bob Buyer <bob@customer.example>\r\n"
    "Cc: Carol New <carol@newcustomer.example>\r\n"
    "Subject: Your quote, as promised\r\n"
    "Date: Mon, 06 Jan 2025 10:15:00 +0100\r\n"
    "Message-ID: <swaks-1@acme.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Hello Bob,\r\nplease find the quote below.\r\n.leading dot survives\r\n"
)


def swaks(gateway: ThreadedGateway, *args: str, data: str = MESSAGE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["swaks", "--server", gateway.host, "--port", str(gateway.port), "--ehlo", "client.example",
         "--data", "-", "--timeout", "20", *args],
        input=data, capture_output=True, text=True, timeout=60)


def server_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line[4:].strip() for line in result.stdout.splitlines() if line.startswith(("<- ", "<~ ", "<** "))]


def test_swaks_bcc_to_company_address_is_filed(gateway, settings):
    result = swaks(gateway, "--from", "ada@acme.example", "--to", gateway.seed.company_address)
    assert result.returncode == 0, result.stdout + result.stderr
    assert any(line.startswith("250 2.0.0") for line in server_lines(result))
    [stored] = messages(settings)
    # swaks ends DATA with an extra CRLF; the leading dot is stuffed on the wire and unstuffed here
    assert stored.raw == MESSAGE.encode() + b"\r\n"
    assert stored.subject == "Your quote, as promised"
    created = persons(settings)
    assert "carol@newcustomer.example" in created
    assert ("person", created["carol@newcustomer.example"], "participant-created") in stored.links
    assert ("deal", gateway.seed.deal_id, "only-open-deal") in stored.links


def test_swaks_to_deal_address(gateway, settings):
    result = swaks(gateway, "--from", "ada@acme.example", "--to", gateway.seed.deal_address)
    assert result.returncode == 0, result.stdout
    [stored] = messages(settings)
    assert ("deal", gateway.seed.deal_id, "record-address") in stored.links


def test_swaks_relay_attempt_is_refused(gateway):
    result = swaks(gateway, "--from", "ada@acme.example", "--to", "victim@elsewhere.example")
    assert result.returncode != 0
    assert "550 5.7.1 Relaying denied" in server_lines(result)


def test_swaks_stranger_is_refused_at_data(gateway, settings):
    result = swaks(gateway, "--from", "mallory@evil.example", "--to", gateway.seed.company_address,
                   data=MESSAGE.replace("ada@acme.example", "mallory@evil.example"))
    assert result.returncode != 0
    assert any(line.startswith("550 5.7.1") for line in server_lines(result))
    assert messages(settings) == []


def test_swaks_pipelining(gateway, settings):
    result = swaks(gateway, "--pipeline", "--from", "ada@acme.example", "--to", gateway.seed.company_address)
    assert result.returncode == 0, result.stdout
    assert len(messages(settings)) == 1
