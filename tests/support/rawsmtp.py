"""A raw SMTP client for hostile-input tests: exact bytes out, replies read as the server wrote them.

smtplib and aiosmtplib repair what they send (line ends, dot-stuffing, pipelining rules); an attacker
does not. :class:`Raw` writes the bytes it is given and reads replies line by line.
"""

from __future__ import annotations

import socket
import ssl
import time

from tests.support.messages import COMPANY, USER, message

__all__ = ["COMPANY", "USER", "Raw", "message", "wait_for"]   # message: the builder, in tests.support.messages


class Raw:
    def __init__(self, host: str, port: int, *, source: str | None = None, timeout: float = 15.0,
                 greet: bool = True) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buffer = b""
        self.greeting = self.reply() if greet else None

    # -- bytes -------------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed; unread: {self.buffer!r}")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def reply(self) -> tuple[int, str]:
        """One (possibly multi-line) reply: its code and its last line's text."""
        while True:
            line = self.line()
            if line[3:4] != b"-":
                return int(line[:3]), line[4:].decode("utf-8", "replace")

    def closed(self, within: float = 5.0) -> bool:
        """True when the server closes the connection (EOF) within ``within`` seconds, unread data aside."""
        self.sock.settimeout(within)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buffer += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    # -- commands ----------------------------------------------------------------------------------
    def cmd(self, line: str | bytes) -> tuple[int, str]:
        self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")
        return self.reply()

    def ehlo(self, name: str = "client.example") -> tuple[int, str]:
        return self.cmd(f"EHLO {name}")

    def envelope(self, sender: str = USER, rcpt: str = COMPANY) -> None:
        self.ehlo()
        assert self.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        assert self.cmd(f"RCPT TO:<{rcpt}>")[0] == 250

    def data(self, content: bytes) -> tuple[int, str]:
        """DATA, wait for 354, then ``content`` as is (no dot-stuffing) and the one true end of data.

        The server stores ``content``, plus CRLF when it did not end with one."""
        assert self.cmd("DATA")[0] == 354
        self.send(content + (b".\r\n" if content.endswith(b"\r\n") else b"\r\n.\r\n"))
        return self.reply()

    def starttls(self) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.sock = context.wrap_socket(self.sock, server_hostname="localhost")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "Raw":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll ``predicate`` until it returns something true; returns that value (or the last, on timeout)."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
