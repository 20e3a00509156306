"""The gateway as ops run it: a `smartbcc serve` process that reloads its certificate on SIGHUP, can
insist on STARTTLS, and stops gracefully on SIGTERM (transactions under way finish, the rest hear 421)."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings
from tests.support.gwtest import (
    ThreadedGateway, free_port, make_certificate, messages, seed, sqlite_only, wait_listening,
)
from tests.support.rawsmtp import Raw, message

ROOT = Path(__file__).resolve().parents[2]


def serve(settings, port: int, log: Path, **extra: str) -> subprocess.Popen:
    """`smartbcc serve` in a process of its own, settings through SMARTBCC_* as ops set them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_") or k.startswith("SMARTBCC_TEST_")}
    env.update(PYTHONPATH=str(ROOT), SMARTBCC_DATA_DIR=str(settings.data_dir),
               SMARTBCC_DATABASE_URL=settings.database_url, SMARTBCC_MAIL_DOMAIN=settings.mail_domain,
               SMARTBCC_LOG_LEVEL="INFO", SMARTBCC_WORKERS="1",     # several: tests/e2e/test_workers.py
               **{f"SMARTBCC_{k.upper()}": v for k, v in extra.items()})
    with log.open("ab") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
                                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    return wait_listening(process, port, log)


def served_certificate(port: int) -> str:
    """The common name of the certificate the gateway shows after STARTTLS."""
    from cryptography import x509

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.starttls(context=context)
        der = smtp.sock.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@sqlite_only     # the certificate is the SMTP side's; no database work differs
def test_sighup_reloads_the_certificate_and_a_broken_one_is_not_taken(settings, tmp_path):
    seed(settings)
    live = tmp_path / "tls"
    cert, key = make_certificate(live, "first.bcc.example.net")
    port = free_port()
    log = tmp_path / "serve.log"
    process = serve(settings, port, log, tls_cert_file=str(cert), tls_key_file=str(key))
    try:
        assert served_certificate(port) == "CN=first.bcc.example.net"

        make_certificate(live, "renewed.bcc.example.net")          # the renewal writes new files
        assert served_certificate(port) == "CN=first.bcc.example.net"   # read at start, not per session
        process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "reloaded the TLS certificate" in log.read_text()), log.read_text()
        assert served_certificate(port) == "CN=renewed.bcc.example.net"

        key.write_text("not a key\n")                               # a botched renewal
        process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "certificate reload failed" in log.read_text()), log.read_text()
        assert process.poll() is None
        assert served_certificate(port) == "CN=renewed.bcc.example.net"
    finally:
        process.terminate()
        assert process.wait(30) == 0, log.read_text()


def test_require_tls_refuses_mail_before_starttls(settings, tmp_path):
    seeded = seed(settings)
    cert, key = make_certificate(tmp_path / "tls", "bcc.example.net")
    strict = load_settings(overrides={"data_dir": str(settings.data_dir), "database_url": settings.database_url,
                                      "mail_domain": settings.mail_domain, "port": 0, "tls_cert_file": str(cert),
                                      "tls_key_file": str(key), "require_tls": True}, environ={})
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with ThreadedGateway(strict) as gateway:
        with smtplib.SMTP(gateway.host, gateway.port, timeout=10) as smtp:
            smtp.ehlo("client.example")
            assert smtp.mail("ada@acme.example") == (530, b"5.7.0 Must issue a STARTTLS command first")
            smtp.starttls(context=context)
            smtp.ehlo("client.example")
            assert smtp.mail("ada@acme.example")[0] == 250
            assert smtp.rcpt(seeded.company_address)[0] == 250
            code, _ = smtp.data(message(message_id="<over-tls@acme.example>"))
            assert code == 250
    assert [m.message_id for m in messages(settings)] == ["<over-tls@acme.example>"]


def test_require_tls_without_a_certificate_is_a_configuration_error(settings):
    with pytest.raises(ConfigError, match="require_tls needs a certificate"):
        load_settings(overrides={"data_dir": str(settings.data_dir), "require_tls": True}, environ={})


def test_sigterm_lets_a_transaction_finish_and_turns_the_rest_away(settings, tmp_path):
    seeded = seed(settings)
    port = free_port()
    log = tmp_path / "serve.log"
    process = serve(settings, port, log, shutdown_timeout="20")
    try:
        with Raw("127.0.0.1", port) as idle, Raw("127.0.0.1", port) as sending:
            _stop_during_data(process, port, seeded, idle, sending)
        assert process.wait(30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    assert [m.message_id for m in messages(settings)] == ["<in-flight@acme.example>"]


def _stop_during_data(process, port, seeded, idle, sending) -> None:
    idle.ehlo("idle.example")
    sending.envelope(rcpt=seeded.company_address)
    assert sending.cmd("DATA")[0] == 354
    body = message(message_id="<in-flight@acme.example>", body="Here is the quote.\n" * 200)
    sending.send(body[: len(body) // 2])                      # half the message is on its way

    process.send_signal(signal.SIGTERM)
    assert idle.reply() == (421, "4.3.2 Service shutting down, try again later")   # told at once
    assert idle.closed()
    assert wait_for(lambda: _refused(port)), "the gateway still accepts new connections"

    sending.send(body[len(body) // 2:] + b".\r\n")             # the rest of the message, then the dot
    code, text = sending.reply()
    assert (code, text[:5]) == (250, "2.0.0"), text
    assert sending.reply()[0] == 421                            # and then the session is over
    assert sending.closed()


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.settimeout(2)
            greeting = connection.recv(100)
            return greeting == b""
    except OSError:
        return True
