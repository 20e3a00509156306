"""Admin operations behind the `smartbcc` command line: plain async functions over a Database.

Each takes a :class:`gateway.store.database.Database` and plain arguments, runs one transaction, and
returns frozen dataclasses. A request that cannot be carried out raises :class:`ServiceError` (or one
of its kinds) whose message says what to fix; nothing here prints or knows about click.
"""

from gateway.services.errors import Conflict, NotFound, ServiceError

__all__ = ["Conflict", "NotFound", "ServiceError"]
