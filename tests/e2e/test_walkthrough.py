"""The README walkthrough, as a newcomer does it: the `smartbcc` command and a real server process."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.gwtest import free_port, sqlite_only


@pytest.fixture
def env(settings, tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_") or k.startswith("SMARTBCC_TEST_")}
    environ.update(SMARTBCC_DATA_DIR=str(settings.data_dir), SMARTBCC_MAIL_DOMAIN=settings.mail_domain)
    if settings.database_url:
        environ["SMARTBCC_DATABASE_URL"] = settings.database_url
    return environ


def smartbcc(env: dict[str, str], *args: str) -> dict | list:
    result = subprocess.run([sys.executable, "-m", "gateway.cli", *args, "--json"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"smartbcc serve exited with {process.returncode}: {process.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"smartbcc serve did not listen on {port} within {seconds} s")


# The README's walkthrough runs on the embedded default, as a newcomer's does. On PostgreSQL the same
# commands run through click's runner (tests/cli), and `smartbcc serve` as a process in
# test_ops_lifecycle, test_faults_kill and test_two_gateways.
@sqlite_only
def test_walkthrough(env):
    subprocess.run([sys.executable, "-m", "gateway.cli", "init"], env=env, check=True, capture_output=True)
    company = smartbcc(env, "company", "add", "Acme Corp", "--domain", "acme.example")
    assert company["slug"] == "acme" and company["address"] == "acme@bcc.example.net"
    smartbcc(env, "user", "add", "ada@acme.example", "--company", "acme", "--name", "Ada Lovelace")
    person = smartbcc(env, "person", "add", "--company", "acme", "--email", "bob@customer.example",
                      "--name", "Bob Buyer")
    deal = smartbcc(env, "deal", "add", "--company", "acme", "--title", "Bob's order", "--person", str(person["id"]))
    assert deal["address"].startswith(f"acme+deal-{deal['id']}-")

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, server)
        message = EmailMessage()
        message["From"] = "Ada Lovelace <ada@acme.example>"
        message["To"] = "Bob Buyer <bob@customer.example>"
        message["Subject"] = "Your quote"
        message.set_content("Hello Bob, here it is.")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            refused = smtp.send_message(message, to_addrs=[company["address"]])   # the Bcc
        assert refused == {}
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "Traceback" not in err

    listed = smartbcc(env, "messages", "list", "--deal", str(deal["id"]))
    assert [m["subject"] for m in listed] == ["Your quote"]
    shown = smartbcc(env, "messages", "show", str(listed[0]["id"]))
    assert {(link["kind"], link["id"], link["rule"]) for link in shown["links"]} == {
        ("person", person["id"], "participant"), ("deal", deal["id"], "only-open-deal")}
    exported = subprocess.run([sys.executable, "-m", "gateway.cli", "messages", "export", str(listed[0]["id"])],
                              env=env, capture_output=True, timeout=60)
    assert exported.returncode == 0
    assert exported.stdout.replace(b"\r\n", b"\n") == message.as_bytes()
