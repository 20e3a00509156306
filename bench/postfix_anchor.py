"""Postfix as an anchor: a throwaway instance that queues every message durably and then discards it.

What a mail server of record costs for a durable 250: Postfix's smtpd hands the message to its cleanup
daemon, which writes the queue file and fsyncs it before smtpd answers 250 (Postfix has no setting that
turns that fsync off); the queue manager then gives it to the ``discard`` transport, which drops it.

The instance lives in a temp folder of its own: ``etc/`` (main.cf, master.cf), ``queue/`` and
``data/``, its log in ``maillog``. Its master runs in the foreground (``master -c etc -d``) as a
subprocess of the benchmark, listens on one loopback port, accepts mail for any recipient from
127.0.0.0/8 and routes all of it to ``discard``. Postfix needs root to start (its daemons drop to the
``postfix`` user, the ``postdrop`` group owns its public queue folders); :func:`unavailable` says why
it cannot run where it cannot, and the benchmark goes on without it.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.servers import ServerProcess, free_port

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
_SENT = re.compile(r" postfix/discard\[\d+\]: \w+: .*status=sent")

MASTER_CF = """\
{listen} inet n - n - {sessions} smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def unavailable() -> str:
    """Why a private Postfix cannot run here, or "" when it can."""
    if not Path(POSTFIX).exists():
        return f"{POSTFIX} not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "Postfix's master must start as root (its daemons then run as the postfix user)"
    try:
        daemons = subprocess.run([POSTCONF, "-dh", "daemon_directory"], capture_output=True, text=True,
                                 timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        return f"postconf failed: {error}"
    if not (Path(daemons) / "master").exists():
        return f"no Postfix master in {daemons}"
    try:
        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError as error:
        return f"no postfix user or postdrop group ({error}): Postfix's package makes them"
    return ""


def _main_cf(folder: Path, data_size_limit: int) -> str:
    return f"""\
compatibility_level = 3.6
queue_directory = {folder}/queue
data_directory = {folder}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.example
mydomain = bench.example
myorigin = $myhostname
mydestination =
relay_domains =
local_recipient_maps =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
default_transport = discard
relay_transport = discard
local_transport = discard
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_client_connection_rate_limit = 0
smtpd_client_connection_count_limit = 0
message_size_limit = {data_size_limit + 1_000_000}
maillog_file = {folder}/maillog
maillog_file_prefixes = {folder}
smtputf8_enable = no
biff = no
"""


def _reason(etc: Path) -> str:
    """What ``postfix check`` complained about: it writes its reason only to a terminal (or to a log that
    is not running yet), so ask again through ``script``, which gives it one."""
    if not shutil.which("script"):
        return ""
    command = f"{POSTFIX} -c {shlex.quote(str(etc))} check"
    again = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True, timeout=60)
    return " / ".join(line.strip() for line in again.stdout.splitlines() if line.strip())[:400]


class PostfixServer(ServerProcess):
    """A private Postfix whose master is this process's child; :meth:`stop` also removes its folder."""

    def __init__(self, folder: Path, port: int, sessions: int, data_size_limit: int) -> None:
        self.folder = folder
        etc = folder / "etc"
        for sub in ("etc", "queue", "data"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)                   # the postfix user reaches its queue through it
        shutil.chown(folder / "data", "postfix")
        (etc / "main.cf").write_text(_main_cf(folder, data_size_limit))
        (etc / "master.cf").write_text(MASTER_CF.format(listen=f"127.0.0.1:{port}", sessions=sessions))
        check = subprocess.run([POSTFIX, "-c", str(etc), "check"], capture_output=True, text=True, timeout=60)
        if check.returncode != 0:
            raise RuntimeError(f"postfix -c {etc} check exited {check.returncode}: {_reason(etc) or check.stderr}")
        daemons = subprocess.run([POSTCONF, "-c", str(etc), "-h", "daemon_directory"], capture_output=True,
                                 text=True, timeout=30).stdout.strip()
        super().__init__("postfix", [f"{daemons}/master", "-c", str(etc), "-d"], port, folder / "master.log",
                         dict(os.environ))

    def delivered(self) -> int:
        """Messages the discard transport took (each one was queued, fsynced, then given to discard)."""
        path = self.folder / "maillog"
        if not path.exists():
            return 0
        return sum(1 for line in path.read_text(errors="replace").splitlines() if _SENT.search(line))

    def wait_delivered(self, expected: int, seconds: float = 60) -> int:
        """The delivered count once it reaches ``expected``, or once it has not grown for 10 s."""
        deadline, last, steady = time.monotonic() + seconds, -1, time.monotonic()
        while time.monotonic() < deadline:
            count = self.delivered()
            if count >= expected:
                return count
            if count != last:
                last, steady = count, time.monotonic()
            elif time.monotonic() - steady > 10:
                return count
            time.sleep(0.2)
        return self.delivered()

    def log_problems(self, limit: int = 5) -> list[str]:
        path = self.folder / "maillog"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        problems = [line.split(": ", 1)[-1] for line in lines if re.search(r": (warning|error|fatal|panic): ", line)]
        return sorted(set(problems))[:limit]

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def start_postfix(sessions: int, data_size_limit: int) -> PostfixServer:
    """A private Postfix on a free loopback port, listening; its folder is removed on failure too."""
    folder = Path(tempfile.mkdtemp(prefix="smartbcc-bench-postfix-"))
    server: PostfixServer | None = None
    try:
        server = PostfixServer(folder, free_port(), sessions, data_size_limit)
        server.wait_listening(30)
        return server
    except BaseException:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
        raise
