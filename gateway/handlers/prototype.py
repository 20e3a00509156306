"""aiosmtpd's ``SMTP.__init__`` once per server, not once per connection.

aiosmtpd builds three tables for every new connection: the AUTH mechanisms (``inspect.getmembers`` of the
protocol and of the handler), the handler's hooks and the protocol's commands (``dir`` of each), and it
inspects the EHLO hook's signature. With a fresh connection per message, that was about a fifth of a
10 kB message's CPU on the event loop (bench/PROFILE.md). The tables name the same methods for every
connection of a server; only what they are bound to changes. So the first connection is made by
aiosmtpd's own ``__init__`` and kept as a :class:`Prototype`: the plain values it set and the names in
its tables. The next ones, with the same handler and options, get the stream protocol's own
initialization, those values, and the tables bound to themselves. ``tests/unit/test_aiosmtpd_internals.py``
checks that an instance made either way is the same, and pins the text of ``SMTP.__init__``.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, _AuthMechAttr

_TABLES = ("_auth_methods", "_handle_hooks", "_smtp_methods")


@dataclass(frozen=True)
class Prototype:
    cls: type
    handler: "weakref.ref[Any]"
    options: dict[str, Any]
    values: dict[str, Any]                        # the plain attributes SMTP.__init__ set
    auth: tuple[tuple[str, str, bool], ...]       # mechanism, method name, aiosmtpd's own (on the protocol)
    hooks: tuple[tuple[str, str], ...]            # hook, the handler's method name
    commands: tuple[tuple[str, str], ...]         # command, the protocol's method name

    @classmethod
    def of(cls, made: SMTP, handler: Any, options: dict[str, Any]) -> "Prototype":
        """The prototype of ``made``, just initialized by aiosmtpd."""
        loop = made.loop
        stream = asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop), loop=loop,
                                              client_connected_cb=made._cb_client_connected)   # as aiosmtpd
        own = set(vars(stream)) | set(_TABLES) | {"event_handler"}     # the handler: not held here
        stream._closed.cancel()    # type: ignore[attr-defined]  # a throwaway: nobody awaits its future
        values = {name: value for name, value in vars(made).items() if name not in own}
        return cls(
            type(made), weakref.ref(handler), dict(options), values,
            tuple((mechanism, attr.method.__name__, attr.is_builtin)
                  for mechanism, attr in made._auth_methods.items()),
            tuple((hook, method.__name__) for hook, method in made._handle_hooks.items()),
            tuple((command, method.__name__) for command, method in made._smtp_methods.items()),
        )

    def fits(self, made: SMTP, handler: Any, options: dict[str, Any]) -> bool:
        return type(made) is self.cls and handler is self.handler() and options == self.options

    def initialize(self, made: SMTP, handler: Any) -> None:
        """What ``SMTP.__init__(made, handler, **options)`` does, from the prototype."""
        loop = self.values["loop"]
        asyncio.StreamReaderProtocol.__init__(
            made, asyncio.StreamReader(loop=loop, limit=made.line_length_limit),
            client_connected_cb=made._cb_client_connected, loop=loop)
        made.__dict__.update(self.values)
        made.event_handler = handler
        made._auth_methods = {mechanism: _AuthMechAttr(getattr(made if builtin else handler, name), builtin)
                              for mechanism, name, builtin in self.auth}
        made._handle_hooks = {hook: getattr(handler, name) for hook, name in self.hooks}
        made._smtp_methods = {command: getattr(made, name) for command, name in self.commands}


_PROTOTYPES: "weakref.WeakKeyDictionary[Any, Prototype]" = weakref.WeakKeyDictionary()   # by handler


def initialize(made: SMTP, handler: Any, options: dict[str, Any]) -> None:
    """``SMTP.__init__(made, handler, **options)``, the cheap way when a connection like it came before
    (the same handler, and options equal to its: a reloaded certificate makes a new prototype)."""
    prototype = _PROTOTYPES.get(handler)
    if prototype is not None and prototype.fits(made, handler, options):
        prototype.initialize(made, handler)
        return
    SMTP.__init__(made, handler, **options)
    _PROTOTYPES[handler] = Prototype.of(made, handler, options)
