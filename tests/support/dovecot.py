"""A throwaway Dovecot IMAP server for the connected-mailbox tests: Debian's dovecot-imapd (scripts/test
installs it), run from a temporary folder with a config of its own, unprivileged (as the running user, or
as Debian's ``dovecot`` user when the tests run as root), on loopback ports: STARTTLS on one, implicit TLS
on another, with a self-signed certificate the test makes. Users come from a passwd-file, mail is maildir in
the same folder. :meth:`Dovecot.stop` kills it (mid-sync, if a test wants), :meth:`Dovecot.start` brings it
back on the same ports and mail.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.support.gwtest import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
default_login_user = {user}
default_internal_user = {user}
listen = 127.0.0.1
protocols = imap
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
mail_privileged_group =
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
}}
"""


def certificate(folder: Path) -> Path:
    """A self-signed certificate for localhost and 127.0.0.1 (cert.pem, key.pem in ``folder``)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem"


def unavailable() -> str:
    """Why these tests cannot run here ("" when they can)."""
    if not os.path.exists(DOVECOT):
        return "dovecot is not installed (scripts/test installs dovecot-imapd from Debian's packages as root)"
    return ""


class Dovecot:
    def __init__(self) -> None:
        self.user = "dovecot" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
        entry = pwd.getpwnam(self.user)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.root = Path(tempfile.mkdtemp(prefix="smartbcc-dovecot-"))
        self.starttls_port, self.tls_port = free_port(), free_port()
        self.users: dict[str, str] = {}
        self.ca_file = str(certificate(self.root))     # the self-signed certificate is its own CA
        (self.root / "dovecot.conf").write_text(CONFIG.format(
            root=self.root, user=self.user, starttls_port=self.starttls_port, tls_port=self.tls_port))
        (self.root / "passwd").write_text("")
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir()
        self.process: subprocess.Popen[bytes] | None = None

    # -- the server ---------------------------------------------------------------------------------

    def _own(self) -> None:
        if os.getuid() == 0:
            for path in [self.root, *self.root.rglob("*")]:
                os.chown(path, self.uid, self.gid)

    def start(self) -> None:
        self._own()
        with open(self.root / "stderr.log", "ab") as errors:
            self.process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")], stdout=subprocess.DEVNULL,
                stderr=errors, start_new_session=True,
                **({"user": self.uid, "group": self.gid, "extra_groups": []} if os.getuid() == 0 else {}))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"dovecot exited: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.tls_port), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.starttls_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"dovecot did not listen: {self.log()}")

    def stop(self) -> None:
        """Kill the whole server at once (no goodbye to its clients), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None
        time.sleep(0.1)
        for stale in (self.root / "run").glob("*"):   # a killed master leaves its sockets and pid file
            if stale.is_file() or stale.is_socket():
                stale.unlink()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in (self.root / "dovecot.log", self.root / "stderr.log")
                         if p.exists())

    # -- users and mail -----------------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        self.users[name] = password
        (self.root / "passwd").write_text("".join(
            f"{user}:{{PLAIN}}{secret}:{self.uid}:{self.gid}::{self.root}/home/{user}::\n"
            for user, secret in self.users.items()))
        self._own()
        if self.process is not None:      # the running server reads it again on SIGHUP; wait until it has
            os.kill(self.process.pid, signal.SIGHUP)
            deadline = time.monotonic() + 10
            while True:
                try:
                    self.client(name).logout()
                    return
                except LoginError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    def client(self, user: str) -> IMAPClient:
        """A session of ``user`` over implicit TLS (the user's own mail client, in a test)."""
        import ssl
        client = IMAPClient("127.0.0.1", port=self.tls_port, ssl_context=ssl.create_default_context(cafile=self.ca_file),
                            timeout=10)
        try:
            client.login(user, self.users[user])
        except LoginError:
            client.logout()
            raise
        return client

    def append(self, user: str, folder: str, raw: bytes, seen: bool = False) -> None:
        client = self.client(user)
        try:
            client.append(folder, raw, flags=[b"\\Seen"] if seen else [])
        finally:
            client.logout()

    def doveadm(self, *args: str) -> str:
        done = subprocess.run([DOVEADM, "-c", str(self.root / "dovecot.conf"), *args], capture_output=True,
                              text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def uidvalidity(self, user: str, folder: str) -> int:
        out = self.doveadm("mailbox", "status", "-u", user, "uidvalidity", folder)
        return int(out.split("=")[1])

    def set_uidvalidity(self, user: str, folder: str, value: int) -> None:
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(value), folder)


def running_dovecot() -> Iterator[Dovecot]:
    """For a module-scoped fixture: one Dovecot for the module, stopped after."""
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.close()


