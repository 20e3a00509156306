"""What every response and request passes through: the reverse proxy's view of the client, the base
path, the language, and the security headers.

Forwarded headers are believed only from ``web_trusted_proxies``: the client is the right-most
X-Forwarded-For address that is not a trusted proxy, and X-Forwarded-Proto says whether the browser
speaks https (which makes the session cookie Secure). Anything else sends them in vain.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import locale
from gateway.config import Settings, networks

# Pages: scripts and styles only from our own static files, nothing framed but the message body route
# (which carries a stricter policy of its own), no plugins, forms only back to us.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),     # "no-referrer" would make forms send Origin: null
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cache-control", b"no-store"),
]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


class Guard:
    """ASGI middleware: proxy headers from trusted proxies, base path, security headers."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.base = settings.web_base_path
        self.proxies = networks(settings.web_trusted_proxies)

    def _trusted(self, host: str) -> bool:
        address = _address(host)
        return address is not None and any(address in network for network in self.proxies)

    def _forwarded(self, scope: Scope) -> None:
        client = scope.get("client") or ("", 0)
        if not self.proxies or not self._trusted(client[0]):
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        chain = [part.strip() for part in headers.get("x-forwarded-for", "").split(",") if part.strip()]
        while chain and self._trusted(chain[-1]):
            chain.pop()
        if chain and _address(chain[-1]) is not None:
            scope["client"] = (str(_address(chain[-1])), 0)
        proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._forwarded(scope)
        accept = next((v for k, v in scope["headers"] if k.lower() == b"accept-language"), b"")
        language = locale.negotiate(accept.decode("latin-1")[:500])   # a signed-in user's own choice comes later
        path: str = scope["path"]
        if self.base:
            if path != self.base and not path.startswith(self.base + "/"):
                await _plain(send, 404, b"Not found")
                return
            scope["root_path"] = self.base

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                headers.extend(item for item in HEADERS if item[0] not in present)
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        with locale.speaking(language):
            await self.app(scope, receive, send_with_headers)


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-security-policy", PAGE_CSP.encode()), *HEADERS]})
    await send({"type": "http.response.body", "body": body})
