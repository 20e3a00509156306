"""The reads filing runs for every message, compiled once and run on SQLite's own cursor.

Running a prebuilt Core statement through SQLAlchemy still costs, at every execution, its cache key, the
expanding ``IN`` lists rendered, the parameters built and the result wrapped: for the union that reads
what the company knows of a message's participants (gateway.store.filing.context), about 150 us of the
writer's time where SQLite itself takes 20. :class:`Prebuilt` compiles the statement once for SQLite,
renders the SQL once per shape of its lists, and runs it on the stdlib ``sqlite3`` connection under the
session (the writer's, gateway.store.writer). Rows come back as named tuples with each column's result
processing (an aware datetime for a ``UTCDateTime``), as SQLAlchemy would give them. On PostgreSQL (and
on any SQLite connection that is not the stdlib's) the statement goes through SQLAlchemy as it is.

Only for SELECTs whose parameters need no bind processing (integers, strings, lists of them) and whose
expanding parameters stand in ``IN``: an empty list renders as ``IN (NULL)``, which matches nothing.
"""

from __future__ import annotations

import collections
import re
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, Unpack

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql.selectable import CompoundSelect, Select

_TOKEN = re.compile(r"\?|\(__\[POSTCOMPILE_(\w+)\]\)")


@dataclass(frozen=True)
class _Compiled:
    pieces: tuple[str, ...]             # the SQL between the parameters
    names: tuple[str, ...]              # each parameter's name, in order
    expanding: frozenset[str]
    defaults: dict[str, Any]            # the statement's own values (literals)
    row: Callable[..., Any]             # a named tuple of the columns
    processors: tuple[Callable[[Any], Any] | None, ...]


class Prebuilt:
    def __init__(self, statement: Select[Unpack[tuple[Any, ...]]] | CompoundSelect[Unpack[tuple[Any, ...]]]) -> None:
        self.statement = statement
        self._sqlite: _Compiled | None = None
        self._sql: dict[tuple[int, ...], str] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> Sequence[Any]:
        dbapi = connection.connection.dbapi_connection
        if not isinstance(dbapi, sqlite3.Connection):     # PostgreSQL, or SQLite through aiosqlite
            return connection.execute(self.statement, dict(params)).all()
        compiled = self._sqlite or self._compile(connection.dialect)
        values = {**compiled.defaults, **params}
        arguments: list[Any] = []
        lengths = []
        for name in compiled.names:
            value = values[name]
            if name in compiled.expanding:
                lengths.append(len(value))
                arguments.extend(value)
            else:
                arguments.append(value)
        shape = tuple(lengths)
        sql = self._sql.get(shape)
        if sql is None:
            sql = self._sql[shape] = self._render(compiled, shape)
        found = dbapi.execute(sql, arguments).fetchall()
        processors = compiled.processors
        if any(processors):
            return [compiled.row(*(value if process is None else process(value)
                                   for process, value in zip(processors, row))) for row in found]
        return [compiled.row(*row) for row in found]

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        text = compiled.string
        names: list[str] = []
        pieces: list[str] = []
        start = 0
        positions = iter(compiled.positiontup or ())
        for match in _TOKEN.finditer(text):
            name = next(positions)
            if match.group(1) is not None and match.group(1) != name:
                raise ValueError(f"expanding parameter {match.group(1)!r} out of place (expected {name!r})")
            pieces.append(text[start:match.start()])
            names.append(name)
            start = match.end()
        pieces.append(text[start:])
        expanding = frozenset(match.group(1) for match in _TOKEN.finditer(text) if match.group(1))
        columns = list(self.statement.selected_columns)
        for bind in compiled.binds.values():
            if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                raise ValueError(f"parameter {bind.key!r} needs bind processing: not for Prebuilt")
        self._sqlite = _Compiled(
            tuple(pieces), tuple(names), expanding, dict(compiled.construct_params(_check=False)),
            collections.namedtuple("Row", [column.key for column in columns], rename=True),   # type: ignore[misc]
            tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns))
        return self._sqlite

    @staticmethod
    def _render(compiled: _Compiled, shape: tuple[int, ...]) -> str:
        lengths = iter(shape)
        out = [compiled.pieces[0]]
        for name, piece in zip(compiled.names, compiled.pieces[1:]):
            if name in compiled.expanding:
                count = next(lengths)
                out.append("(" + (", ".join("?" * count) if count else "NULL") + ")")
            else:
                out.append("?")
            out.append(piece)
        return "".join(out)
