"""What ops see of a running gateway: /metrics, /healthz, /readyz on the monitoring port, and one log
line per SMTP transaction. Every number and field here comes from real SMTP sessions against the real
server, scraped over HTTP and parsed with Prometheus' own text parser."""

from __future__ import annotations

import asyncio
import logging
import shlex
import smtplib
import socket
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.store.models import QuarantinedMessage
from tests.support.gwtest import ThreadedGateway, free_port, seed, sqlite_only, with_db
from tests.support.rawsmtp import COMPANY, USER, Raw, message, wait_for

TRANSACTION_LOGGER = "smartbcc.transaction"


def get(gateway, path: str, method: str = "GET") -> tuple[int, str]:
    url = f"http://127.0.0.1:{gateway.gateway.metrics_port}{path}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(gateway) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics: (name, labels) -> value."""
    status, text = get(gateway, "/metrics")
    assert status == 200
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def transaction_lines(caplog) -> list[dict[str, str]]:
    """The transaction log lines so far, each parsed from logfmt into a dict."""
    return [dict(field.split("=", 1) for field in shlex.split(record.getMessage()))
            for record in caplog.records if record.name == TRANSACTION_LOGGER]


@pytest.fixture
def monitored(settings):
    return settings.replace(metrics_port=free_port())


def _send_all_outcomes(gateway) -> bytes:
    """One session of each: accepted, refused at RCPT, refused at DATA (sender), too big, abandoned."""
    raw = message(subject="metrics: accepted")
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        assert smtp.data(raw)[0] == 250
        assert smtp.cmd("MAIL FROM:<ada@acme.example>")[0] == 250          # same session: refused at RCPT
        assert smtp.cmd("RCPT TO:<nobody@bcc.example.net>")[0] == 550
        assert smtp.cmd("QUIT")[0] == 221
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope(sender="mallory@evil.example")
        assert smtp.data(message(sender="mallory@evil.example"))[0] == 550
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        assert smtp.data(b"X" * 60 + b"\r\n" + (b"Y" * 998 + b"\r\n") * 40)[0] == 552
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        assert smtp.cmd("RSET")[0] == 250
    return raw


def test_metrics_count_every_outcome(monitored):
    settings = monitored.replace(max_message_size=20_000)
    seed(settings)
    with ThreadedGateway(settings) as gateway:
        raw = _send_all_outcomes(gateway)
        found = wait_for(lambda: (lambda s: s if value(s, "smartbcc_transactions_abandoned_total") else None)(
            samples(gateway)))
    assert value(found, "smartbcc_messages_accepted_total", kept="filed") == 1
    assert value(found, "smartbcc_message_bytes_total") == len(raw)
    assert value(found, "smartbcc_messages_refused_total", stage="RCPT", code="550", reason="unknown_mailbox") == 1
    assert value(found, "smartbcc_messages_refused_total", stage="DATA", code="550",
                 reason="sender_not_authorized") == 1
    assert value(found, "smartbcc_messages_refused_total", stage="DATA", code="552", reason="message_too_big") == 1
    assert value(found, "smartbcc_recipients_refused_total", code="550", reason="unknown_mailbox") == 1
    assert value(found, "smartbcc_transactions_abandoned_total") == 1
    assert value(found, "smartbcc_data_reply_seconds_count", outcome="accepted") == 1
    assert value(found, "smartbcc_data_reply_seconds_count", outcome="refused") == 2
    assert value(found, "smartbcc_data_reply_seconds_bucket", outcome="accepted", le="+Inf") == 1
    assert value(found, "smartbcc_database_up") == 1


def test_a_second_delivery_counts_as_seen_before(monitored):
    seed(monitored)
    raw = message(subject="twice", message_id="<twice@acme.example>")
    with ThreadedGateway(monitored) as gateway:
        for _ in range(2):
            with smtplib.SMTP(gateway.host, gateway.port) as client:
                client.sendmail(USER, [COMPANY], raw)
        found = samples(gateway)
    assert value(found, "smartbcc_messages_accepted_total", kept="filed") == 1
    assert value(found, "smartbcc_messages_accepted_total", kept="seen_before") == 1
    assert value(found, "smartbcc_message_bytes_total") == 2 * len(raw)


def test_sessions_in_flight_and_quarantine_size_are_live(monitored):
    seed(monitored)

    async def quarantine_two(db):
        async with db.sessions() as session, session.begin():
            session.add_all([QuarantinedMessage(raw=b"a", reason="test"), QuarantinedMessage(raw=b"b", reason="test"),
                             QuarantinedMessage(raw=b"c", reason="test", status="replayed")])

    with ThreadedGateway(monitored) as gateway:
        assert value(samples(gateway), "smartbcc_sessions_in_flight") == 0
        assert value(samples(gateway), "smartbcc_quarantine_messages") == 0
        with Raw(gateway.host, gateway.port) as one, Raw(gateway.host, gateway.port) as two:
            one.ehlo()
            two.ehlo()
            assert value(samples(gateway), "smartbcc_sessions_in_flight") == 2
        assert wait_for(lambda: value(samples(gateway), "smartbcc_sessions_in_flight") == 0)
        with_db(monitored, quarantine_two)
        assert value(samples(gateway), "smartbcc_quarantine_messages") == 2


def test_the_memory_budget_in_use_its_peak_and_limit_are_live(monitored):
    settings = monitored.replace(memory_budget=4_000_000, max_message_size=2_000_000)
    seed(settings)
    with ThreadedGateway(settings) as gateway:
        found = samples(gateway)
        assert value(found, "smartbcc_memory_budget_bytes", state="limit") == 4_000_000
        assert value(found, "smartbcc_memory_budget_bytes", state="used") == 0
        assert value(found, "process_resident_memory_bytes") > 0
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()
            assert smtp.cmd("DATA")[0] == 354
            smtp.send(message(subject="held").rstrip(b"\r\n") + b"\r\n" + (b"x" * 78 + b"\r\n") * 4000)
            assert wait_for(lambda: value(samples(gateway), "smartbcc_memory_budget_bytes", state="used") > 100_000)
            smtp.send(b".\r\n")
            assert smtp.reply()[0] == 250
        found = samples(gateway)
        assert value(found, "smartbcc_memory_budget_bytes", state="used") == 0
        assert value(found, "smartbcc_memory_budget_bytes", state="peak") > 100_000


def test_each_gateway_counts_only_its_own_mail(monitored, tmp_path):
    seed(monitored)
    with ThreadedGateway(monitored) as first:
        with smtplib.SMTP(first.host, first.port) as client:
            client.sendmail(USER, [COMPANY], message(subject="first"))
        with ThreadedGateway(monitored.replace(metrics_port=free_port())) as second:
            assert value(samples(second), "smartbcc_messages_accepted_total", kept="filed") == 0
        assert value(samples(first), "smartbcc_messages_accepted_total", kept="filed") == 1


def test_health_readiness_and_unknown_paths(monitored):
    seed(monitored)
    with ThreadedGateway(monitored) as gateway:
        assert get(gateway, "/healthz") == (200, "ok\n")
        assert get(gateway, "/readyz") == (200, "ready\n")
        assert get(gateway, "/readyz", method="HEAD") == (200, "")
        assert get(gateway, "/nothing")[0] == 404
        assert get(gateway, "/metrics", method="POST")[0] == 405
        with socket.create_connection(("127.0.0.1", gateway.gateway.metrics_port), timeout=10) as raw:
            raw.sendall(b"DELETE /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            head = raw.recv(1000).split(b"\r\n\r\n")[0].split(b"\r\n")
            assert head[0] == b"HTTP/1.1 405 Method Not Allowed" and b"Allow: GET, HEAD" in head[1:]
        with socket.create_connection(("127.0.0.1", gateway.gateway.metrics_port), timeout=10) as raw:
            raw.sendall(b"nonsense\r\n\r\n")
            assert raw.recv(100).startswith(b"HTTP/1.1 400 ")


def test_readiness_is_503_while_stopping(monitored):
    settings = monitored.replace(shutdown_timeout=20)
    seed(settings)
    gateway = ThreadedGateway(settings).__enter__()
    try:
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()                              # a transaction in flight holds the stop open
            stopping = asyncio.run_coroutine_threadsafe(gateway.gateway.stop(), gateway.loop)
            status, text = wait_for(lambda: (lambda r: r if r[0] == 503 else None)(get(gateway, "/readyz")))
            assert (status, text) == (503, "stopping: the gateway takes no new mail\n")
            assert get(gateway, "/healthz")[0] == 200
            assert smtp.data(message(subject="finished while stopping"))[0] == 250
        stopping.result(30)
    finally:
        gateway.loop.call_soon_threadsafe(gateway.loop.stop)
        gateway.thread.join(10)
        gateway.loop.close()


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_readiness_is_503_while_the_database_is_down(monitored):
    from test_faults_database import _database_name, _pg_admin

    seed(monitored)
    name = _database_name(monitored)
    with ThreadedGateway(monitored) as gateway:
        assert get(gateway, "/readyz")[0] == 200
        asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        asyncio.run(_pg_admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        try:
            status, text = get(gateway, "/readyz")
            assert status == 503 and text.startswith("database unavailable:"), text
            assert value(samples(gateway), "smartbcc_database_up") == 0
            assert get(gateway, "/healthz")[0] == 200
        finally:
            asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        assert wait_for(lambda: get(gateway, "/readyz")[0] == 200)


def test_one_log_line_per_transaction(settings, caplog):
    caplog.set_level(logging.INFO, logger=TRANSACTION_LOGGER)
    seed(settings)
    raw = message(subject="logged", message_id="<logged.1@acme.example>")
    with ThreadedGateway(settings) as gateway:
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.ehlo("laptop.acme.example")
            assert smtp.cmd("MAIL FROM:<ada@acme.example>")[0] == 250
            assert smtp.cmd("RCPT TO:<nobody@bcc.example.net>")[0] == 550
            assert smtp.cmd(f"RCPT TO:<{COMPANY}>")[0] == 250
            assert smtp.data(raw)[0] == 250
            assert smtp.cmd("MAIL FROM:<ada@acme.example>")[0] == 250
            assert smtp.cmd("RCPT TO:<nobody@bcc.example.net>")[0] == 550
            assert smtp.cmd("RSET")[0] == 250              # nobody accepted: refused at RCPT
            assert smtp.cmd("MAIL FROM:<ada@acme.example>")[0] == 250
            assert smtp.cmd(f"RCPT TO:<{COMPANY}>")[0] == 250
        with Raw(gateway.host, gateway.port) as smtp:          # the connection dropped above: abandoned
            smtp.envelope(sender="mallory@evil.example")
            assert smtp.data(message(sender="mallory@evil.example", subject="spoof"))[0] == 550
        lines = wait_for(lambda: (lambda got: got if len(got) == 4 else None)(transaction_lines(caplog)))
    by_kind = {(line["outcome"], line.get("stage")): line for line in lines}
    accepted, refused_rcpt = by_kind["accepted", "DATA"], by_kind["refused", "RCPT"]
    abandoned, refused_data = by_kind["abandoned", "RCPT"], by_kind["refused", "DATA"]
    assert accepted["client"] == "127.0.0.1" and accepted["helo"] == "laptop.acme.example"
    assert (accepted["outcome"], accepted["stage"], accepted["code"], accepted["status"]) == \
        ("accepted", "DATA", "250", "2.0.0")
    assert accepted["sender"] == "ada@acme.example" and accepted["recipients"] == COMPANY
    assert accepted["refused_recipients"] == "nobody@bcc.example.net"
    assert accepted["message_id"] == "<logged.1@acme.example>" and accepted["size"] == str(len(raw))
    assert accepted["kept"] == "filed" and accepted["company"] == "acme" and int(accepted["message"]) > 0
    assert float(accepted["ms"]) >= float(accepted["reply_ms"]) > 0
    assert (refused_rcpt["outcome"], refused_rcpt["stage"], refused_rcpt["code"], refused_rcpt["reason"]) == \
        ("refused", "RCPT", "550", "unknown_mailbox")
    assert (abandoned["outcome"], abandoned["stage"]) == ("abandoned", "RCPT") and "code" not in abandoned
    assert accepted["session"] == refused_rcpt["session"] == abandoned["session"] != refused_data["session"]
    assert (refused_data["outcome"], refused_data["code"], refused_data["reason"]) == \
        ("refused", "550", "sender_not_authorized")
    assert refused_data["sender"] == "mallory@evil.example" and refused_data["detail"]


def test_log_values_from_the_client_cannot_forge_fields(settings, caplog):
    caplog.set_level(logging.INFO, logger=TRANSACTION_LOGGER)
    seed(settings)
    with ThreadedGateway(settings) as gateway:
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.ehlo('x outcome=accepted "quoted"')
            assert smtp.cmd('MAIL FROM:<"a b outcome=accepted"@evil.example>')[0] == 250
            assert smtp.cmd("RCPT TO:<nobody@bcc.example.net>")[0] == 550
            assert smtp.cmd("QUIT")[0] == 221
        lines = wait_for(lambda: transaction_lines(caplog))
    assert len(lines) == 1
    assert lines[0]["helo"] == 'x outcome=accepted "quoted"'
    assert lines[0]["outcome"] == "refused"


@sqlite_only     # the process's log and metrics port; the counters on both databases are tested above
def test_serve_process_logs_transactions_and_serves_metrics(settings, tmp_path):
    """`smartbcc serve` as ops run it: SMARTBCC_METRICS_PORT from the environment, lines on stderr."""
    from test_ops_lifecycle import serve

    seed(settings)
    port, metrics_port, log = free_port(), free_port(), tmp_path / "serve.log"
    process = serve(settings, port, log, metrics_port=str(metrics_port))
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail(USER, [COMPANY], message(subject="from the process", message_id="<proc@acme.example>"))
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        assert 'smartbcc_messages_accepted_total{kept="filed"} 1.0' in text
        process.terminate()
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    lines = [line for line in log.read_text().splitlines() if "smartbcc.transaction" in line]
    assert len(lines) == 1 and "outcome=accepted" in lines[0] and "message_id=<proc@acme.example>" in lines[0]
    assert f"metrics on http://127.0.0.1:{metrics_port}/metrics" in log.read_text()


@sqlite_only     # the port is taken before the database is used
def test_serve_with_the_metrics_port_taken_says_what_to_fix(settings, tmp_path):
    import subprocess
    import sys

    from test_ops_lifecycle import ROOT

    seed(settings)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("SMARTBCC_")}
        env.update(SMARTBCC_DATA_DIR=str(settings.data_dir), SMARTBCC_DATABASE_URL=settings.database_url,
                   SMARTBCC_MAIL_DOMAIN=settings.mail_domain, PYTHONPATH=str(ROOT))
        done = subprocess.run([sys.executable, "-m", "gateway.cli", "serve", "--port", str(free_port()),
                               "--metrics-port", str(taken.getsockname()[1])],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "cannot serve metrics on 127.0.0.1:" in done.stderr and "metrics_port" in done.stderr, done.stderr
