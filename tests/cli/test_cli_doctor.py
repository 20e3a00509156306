"""`smartbcc doctor` against real things: a local DNS server, certificates made here, the capturing
smarthost, the real databases, a running gateway and a port taken by another program."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from typing import Any, Iterator

import pytest
from sqlalchemy import text

from gateway.ops.doctor import network
from gateway.store.database import Database

from tests.support.clitest import Smartbcc
from tests.support.dnstest import TestDns
from tests.support.gwtest import free_port, make_certificate, sqlite_only, with_db

DOMAIN = "bcc.acme.net"


@pytest.fixture
def dns() -> Iterator[TestDns]:
    server = TestDns().start()
    server.add(DOMAIN, "MX", "10 mx.acme.net.")
    server.add("mx.acme.net", "A", "192.0.2.25")
    server.txt(DOMAIN, "v=spf1 ip4:127.0.0.1 -all")
    yield server
    server.stop()


def doctor(runner: Smartbcc, *options: str) -> tuple[int, dict[str, Any]]:
    result = runner("doctor", "--json", *options)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    report = json.loads(result.stdout)
    return result.exit_code, {c["check"]: c for c in report["checks"]}


def test_a_healthy_deployment_is_all_ok_and_its_running_gateway_is_recognized(gateway, smarthost, dns, tmp_path):
    cert, key = make_certificate(tmp_path / "tls", "mx.acme.net", days=90)
    settings = gateway.settings
    runner = Smartbcc(settings)
    runner.options[-1] = DOMAIN
    runner.options += ["--config", str(tmp_path / "smartbcc.toml")]
    (tmp_path / "smartbcc.toml").write_text(
        f'dns_resolver = "{dns.address}"\nsmarthost = "{smarthost.address}"\nsmarthost_starttls = false\n'
        f'tls_cert_file = "{cert}"\ntls_key_file = "{key}"\nport = {gateway.port}\n'
        f'web_port = {free_port()}\nhostname = "mx.acme.net"\n')
    code, checks = doctor(runner)
    assert code == 0 and {c["status"] for c in checks.values()} == {"ok"}, checks
    assert checks["dns mx"]["detail"] == f"{DOMAIN} MX mx.acme.net (192.0.2.25)"
    assert "pass" in checks["outbound spf"]["detail"] and "connected" in checks["smarthost"]["detail"]
    assert "smartbcc answers there" in checks["port smtp"]["detail"]
    assert "(current)" in checks["database"]["detail"]
    assert checks["database durability"]["detail"] in ("SQLite journal_mode=wal, synchronous=FULL",
                                                        "PostgreSQL synchronous_commit=on")
    # a certificate to renew soon is a warning: exit 0, unless --strict
    make_certificate(tmp_path / "tls", "mx.acme.net", days=10)
    code, checks = doctor(runner)
    assert code == 0 and checks["tls certificate"]["status"] == "warning"
    assert "expires in 9 days" in checks["tls certificate"]["detail"] and "renew" in checks["tls certificate"]["fix"]
    assert doctor(runner, "--strict")[0] == 1


@sqlite_only
def test_a_broken_deployment_gets_an_error_and_a_fix_for_each_fault(bare, smarthost, dns, tmp_path):
    cert, _key = make_certificate(tmp_path / "tls", "mx.acme.net", days=90)
    _other_cert, other_key = make_certificate(tmp_path / "other", "mx.acme.net", days=90)
    dns.records.pop((DOMAIN, "MX"))
    dns.records[DOMAIN, "TXT"] = ["v=spf1 -all"]
    busy = socket.socket()       # another mail server on the port
    busy.bind(("127.0.0.1", 0))
    busy.listen()

    def answer() -> None:
        connection, _peer = busy.accept()
        with connection:
            connection.sendall(b"220 mx.example ESMTP Postfix\r\n")
    threading.Thread(target=answer, daemon=True).start()
    bare.options[-1] = DOMAIN
    bare.options += ["--config", str(tmp_path / "smartbcc.toml")]
    (tmp_path / "smartbcc.toml").write_text(
        f'dns_resolver = "{dns.address}"\nsmarthost = "{smarthost.address}"\n'      # STARTTLS on: not offered
        f'tls_cert_file = "{cert}"\ntls_key_file = "{other_key}"\nport = {busy.getsockname()[1]}\n'
        f'web_port = {free_port()}\n')
    bare.ok("init")    # then its revision set back: the database of an older smartbcc

    async def downgrade(db: Database) -> None:
        async with db.engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    with_db(bare.settings, downgrade)
    try:
        code, checks = doctor(bare)
    finally:
        busy.close()
    assert code == 1
    expected = {
        "dns mx": f"{DOMAIN} has no MX record",
        "tls certificate": "is not the key of the certificate",
        "smarthost": "does not offer STARTTLS",
        "database": "is at revision 0001, this smartbcc needs",
        "port smtp": "is in use by another program",
    }
    for name, said in expected.items():
        assert checks[name]["status"] == "error" and said in checks[name]["detail"], checks[name]
        assert checks[name]["fix"], name
    assert "run `smartbcc init`" in checks["database"]["fix"]
    spf = checks["outbound spf"]      # a smarthost on loopback relays on: what counts is beyond it
    assert spf["status"] == "warning" and ": fail; the smarthost is at a private address" in spf["detail"]
    text_report = bare("doctor")
    assert text_report.exit_code == 1 and "fix: publish `bcc.acme.net. IN MX 10" in text_report.stdout


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_postgresql_without_synchronous_commit_is_an_error(smartbcc, dns, tmp_path):
    async def commit_lazily(db: Database) -> None:
        async with db.engine.connect() as connection:
            name = await connection.scalar(text("SELECT current_database()"))
            await connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
            await connection.commit()
    with_db(smartbcc.settings, commit_lazily)
    smartbcc.options += ["--config", str(tmp_path / "smartbcc.toml")]     # nothing asks the Internet
    (tmp_path / "smartbcc.toml").write_text(
        f'dns_resolver = "{dns.address}"\nport = {free_port()}\nweb_port = {free_port()}\n')
    code, checks = doctor(smartbcc)
    assert code == 1 and checks["database durability"]["status"] == "error"
    assert "synchronous_commit=off" in checks["database durability"]["detail"]
    assert "synchronous_commit = on" in checks["database durability"]["fix"]


def test_an_spf_that_does_not_let_a_public_smarthost_send_is_an_error(sqlite_settings, dns):
    """The SPF check alone (a public address is never connected to here: only the local DNS is asked)."""
    dns.add("smtp.acme.net", "A", "8.8.8.8")
    settings = sqlite_settings.replace(mail_domain=DOMAIN, dns_resolver=dns.address, smarthost="smtp.acme.net")
    assert asyncio.run(network.outbound_spf(settings))[0].status == "error"     # ip4:127.0.0.1 -all
    dns.records[DOMAIN, "TXT"] = ["v=spf1 ip4:8.8.8.0/24 -all"]
    assert asyncio.run(network.outbound_spf(settings))[0].status == "ok"
    dns.records[DOMAIN, "TXT"] = ["v=spf1 ~all"]
    assert asyncio.run(network.outbound_spf(settings))[0].status == "warning"
    dns.records.pop((DOMAIN, "TXT"))
    finding = asyncio.run(network.outbound_spf(settings))[0]
    assert finding.status == "warning" and "publishes no SPF record" in finding.detail
    assert 'IN TXT "v=spf1 ip4:8.8.8.8 -all"' in finding.fix
