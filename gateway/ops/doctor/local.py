"""The checks on this machine: the TLS certificate and key, the database, and free disk."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from gateway.config import Settings
from gateway.ops.doctor import Finding, error, ok, warning
from gateway.store import migrate
from gateway.store.engine import make_engine, normalize_url

RENEW_WITHIN = timedelta(days=21)     # a certificate expiring sooner is a warning
DEFERS_BELOW = 1.5                    # free disk under this many size limits: every MAIL is 452 4.3.1
ROOMY = 20                            # ... under this many: a warning


async def tls(settings: Settings) -> list[Finding]:
    return [await asyncio.to_thread(certificate_finding, settings, datetime.now(timezone.utc))]


def certificate_finding(settings: Settings, now: datetime) -> Finding:
    name = "tls certificate"
    if not settings.tls_cert_file:
        return warning(name, "none: STARTTLS is not offered and mail reaches the gateway in the clear",
                       "set tls_cert_file and tls_key_file (PEM files, e.g. from Let's Encrypt)")
    try:
        chain = x509.load_pem_x509_certificates(Path(settings.tls_cert_file).read_bytes())
    except (OSError, ValueError) as failure:
        return error(name, f"cannot read a PEM certificate from {settings.tls_cert_file}: {failure}",
                     "point tls_cert_file at the PEM certificate chain, readable by this user")
    try:
        key = serialization.load_pem_private_key(Path(settings.tls_key_file).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as failure:
        return error(name, f"cannot read an unencrypted PEM key from {settings.tls_key_file}: {failure}",
                     "point tls_key_file at the certificate's private key (PEM, no passphrase)")
    leaf = chain[0]
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if (leaf.public_key().public_bytes(serialization.Encoding.DER, spki)
            != key.public_key().public_bytes(serialization.Encoding.DER, spki)):
        return error(name, f"the key in {settings.tls_key_file} is not the key of the certificate in "
                     f"{settings.tls_cert_file}", "use the key the certificate was issued for")
    ends = leaf.not_valid_after_utc
    subject = leaf.subject.rfc4514_string()
    if ends <= now:
        return error(name, f"{subject} expired on {ends:%Y-%m-%d}", "renew it, then `systemctl reload smartbcc`")
    if leaf.not_valid_before_utc > now:
        return error(name, f"{subject} is valid only from {leaf.not_valid_before_utc:%Y-%m-%d}",
                     "use a certificate valid now (check the clock)")
    days = (ends - now).days
    if ends - now < RENEW_WITHIN:
        return warning(name, f"{subject} expires in {days} days ({ends:%Y-%m-%d})",
                       "renew it, then `systemctl reload smartbcc` (the gateway reads it again on SIGHUP)")
    return ok(name, f"{subject}, key matches, valid for {days} more days")


async def database(settings: Settings) -> list[Finding]:
    name = "database"
    url = make_url(normalize_url(settings.effective_database_url))
    where = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return [error(name, f"there is no database file at {url.database}", "run `smartbcc init`")]
    engine = make_engine(settings)
    try:
        async with asyncio.timeout(15):
            async with engine.connect() as connection:
                current = await connection.run_sync(migrate.current_revision)
                durability = await connection.run_sync(_durability)
    except Exception as failure:
        reason = str(getattr(failure, "orig", None) or failure).strip().splitlines()
        return [error(name, f"cannot reach {where}: {reason[0] if reason else type(failure).__name__}",
                      "check database_url and that the database server runs and lets this user in")]
    finally:
        await engine.dispose()
    head = migrate.head_revision()
    findings = []
    if current is None:
        findings.append(error(name, f"{where} has no schema", "run `smartbcc init`"))
    elif current != head and migrate.is_known(current):
        findings.append(error(name, f"{where} is at revision {current}, this smartbcc needs {head}",
                              "run `smartbcc init` to upgrade it"))
    elif current != head:
        findings.append(error(name, f"{where} is at revision {current}, which this smartbcc does not know "
                              f"(a newer version wrote it?)", "run the smartbcc version that made it"))
    else:
        findings.append(ok(name, f"{where}, schema {current} (current)"))
    findings.extend(durability)
    return findings


def _durability(connection: Connection) -> list[Finding]:
    """Whether a commit survives a power cut: SQLite in WAL with synchronous=FULL, PostgreSQL with
    synchronous_commit on."""
    name = "database durability"
    if connection.dialect.name == "sqlite":
        mode = str(connection.exec_driver_sql("PRAGMA journal_mode").scalar()).lower()
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        if mode != "wal":
            return [error(name, f"SQLite journal_mode is {mode}, not wal",
                          "let smartbcc open the file (it sets WAL); do not copy it with other tools")]
        if synchronous != 2:
            return [error(name, f"SQLite synchronous is {synchronous}, not 2 (FULL)",
                          "report this: smartbcc sets synchronous=FULL on every connection")]
        return [ok(name, "SQLite journal_mode=wal, synchronous=FULL")]
    commit = str(connection.execute(text("SHOW synchronous_commit")).scalar())
    if commit in ("on", "remote_apply", "remote_write"):
        return [ok(name, f"PostgreSQL synchronous_commit={commit}")]
    return [error(name, f"PostgreSQL synchronous_commit={commit}: a commit (and the 250 after it) may be "
                  f"lost in a crash", "set synchronous_commit = on (postgresql.conf, or ALTER DATABASE ... "
                  "SET synchronous_commit = on)")]


async def disk(settings: Settings) -> list[Finding]:
    folders = {"spool": Path(settings.spool_dir or tempfile.gettempdir())}
    if settings.is_embedded:
        folders["database"] = settings.data_dir
    return [await asyncio.to_thread(_room, what, folder, settings.max_message_size)
            for what, folder in folders.items()]


def _room(what: str, folder: Path, size_limit: int) -> Finding:
    name = f"disk {what}"
    probe = folder.resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    said = f"{folder}: {free / 2**20:,.0f} MiB free, the size limit is {size_limit / 2**20:,.0f} MiB"
    if free < DEFERS_BELOW * size_limit:
        return error(name, f"{said}: every MAIL is answered 452 4.3.1 below {DEFERS_BELOW} limits",
                     f"free space under {folder}, or lower max_message_size")
    if free < ROOMY * size_limit:
        return warning(name, f"{said}: mail is deferred once fewer than {DEFERS_BELOW} limits are left",
                       f"free space under {folder}")
    return ok(name, said)
