"""What every command shares: lazy settings, one database handle per command, clean user errors, output.

A user error (bad input, unknown slug, missing schema, unreachable database) becomes
``Error: <what to fix>`` on stderr and a non-zero exit, never a traceback.

Text printed for people goes through :func:`echo` (and :func:`table`, :func:`lines`, built on it), and
error messages through :class:`SafeGroup`: mail-derived text reaches the terminal with its control codes
(ESC, other C0 controls, DEL, C1) and bidi overrides visibly escaped (``\\x1b``, ``\\u202e``), never raw.
JSON output stays exact JSON whose strings carry those characters as ``\\uXXXX`` escapes.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Iterator, Sequence, TypeVar

import click

from gateway.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from gateway.store.database import Database

T = TypeVar("T")
# What a terminal may act on: C0 controls (tab and newline are decided by the caller), DEL, C1 controls,
# bidi embeddings, overrides, isolates and marks, and the line and paragraph separators.
_TERMINAL_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE_LINE = re.compile(f"[\t\n{_TERMINAL_UNSAFE}]")
_UNSAFE_TEXT = re.compile(f"[{_TERMINAL_UNSAFE}]")
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The errors a user can fix, by module and class. This module imports none of them (a command starts
# without importing the store or the services it does not use): an error is of one of these classes only
# if that class's module was imported, so they are looked up among the modules already imported.
USER_ERRORS = (("gateway.services.errors", "ServiceError"), ("gateway.config", "ConfigError"),
               ("gateway.mail.address", "InvalidAddress"), ("gateway.store.migrate", "SchemaNotReady"),
               ("gateway.services.smarthost", "OutboundError"), ("gateway.services.aliases", "VerificationError"))
DATABASE_ERRORS = (("sqlalchemy.exc", "DBAPIError"),)


def _is_one_of(error: BaseException, classes: Sequence[tuple[str, str]]) -> bool:
    for module, name in classes:
        loaded = sys.modules.get(module)
        if loaded is not None and isinstance(error, getattr(loaded, name)):
            return True
    return False


def is_user_error(error: BaseException) -> bool:
    """Whether ``error`` is one a user can fix (its message says what to fix)."""
    return _is_one_of(error, USER_ERRORS)


@dataclass
class App:
    """The group's options; settings are loaded on first use, so `--help` works with a broken config."""

    config_file: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            with user_errors():
                self._settings = load_settings(self.config_file, self.overrides)
        return self._settings


def database_reason(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


@contextmanager
def user_errors(app: App | None = None) -> Iterator[None]:
    """Turn the errors a user can fix into click errors that say what to fix."""
    try:
        yield
    except click.ClickException:
        raise
    except Exception as error:
        if is_user_error(error):
            raise click.ClickException(str(error)) from None
        if not (isinstance(error, (OSError, TimeoutError)) or _is_one_of(error, DATABASE_ERRORS)):
            raise
        where = ""
        if app is not None:
            from gateway.services.deployment import database_display
            try:
                where = f" {database_display(app.settings)}"
            except (ConfigError, click.ClickException):
                pass
        raise click.ClickException(
            f"cannot use the database{where}: {database_reason(error)} "
            "(check --database-url / SMARTBCC_DATABASE_URL, or --data-dir)") from None


def with_db(app: App, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database, run ``work(db)`` in a fresh event loop, close the database."""
    import asyncio

    from gateway.store.database import Database

    settings = app.settings

    async def main() -> T:
        db = await Database.open(settings)
        try:
            return await work(db)
        finally:
            await db.close()

    with user_errors(app):
        return asyncio.run(main())


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
pass_app = click.make_pass_decorator(App, ensure=True)


def choice(values: Iterable[str]) -> click.Choice[str]:
    """A click choice among ``values`` as written (``deal``): given StrEnum members (gateway.crm.kinds),
    click would match each by its name (``DEAL``), not by its value."""
    return click.Choice([str(value) for value in values])


def jsonable(value: Any) -> Any:
    """Dataclasses to objects (a ``fields`` dict is merged into its owner), datetimes to ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for item in dataclasses.fields(value):
            inner = getattr(value, item.name)
            if item.name == "fields" and isinstance(inner, dict):
                out.update(jsonable(inner))
            else:
                out[item.name] = jsonable(inner)
        return out
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):      # an amount, exactly as kept
        return str(value)
    return value


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: str, multiline: bool = False) -> str:
    """``value`` with what a terminal would act on escaped visibly (``\\x1b``, ``\\u202e``).

    ``multiline``: newlines and tabs are kept, and CRLF line ends become newlines; otherwise they are
    escaped too, so that a value stays on its line.
    """
    if multiline:
        return _UNSAFE_TEXT.sub(_escape, value.replace("\r\n", "\n"))
    return _UNSAFE_LINE.sub(_escape, value)


def echo(message: str = "", err: bool = False) -> None:
    """Print a line of text for people; the only way the commands print text (see :func:`printable`)."""
    click.echo(printable(message, multiline=True), err=err)


class SafeGroup(click.Group):
    """The root group: the message of every error a command raises is escaped as :func:`echo` does."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as error:
            # click declares the message Final; escaped in place, the error keeps its class and exit code
            error.message = printable(error.message, multiline=True)  # type: ignore[misc]
            raise


def emit_json(value: Any) -> None:
    """Exact JSON; control, bidi and separator characters inside strings are written as ``\\uXXXX``."""
    encoded = json.dumps(jsonable(value), indent=2, ensure_ascii=False)
    click.echo(_UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", encoded))


def text(value: Any) -> str:
    """One value as one line of printable text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return printable(str(value))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str = "(none)") -> None:
    """Aligned columns of printable one-line cells; ``empty`` when there are no rows."""
    if not rows:
        echo(empty)
        return
    cells = [[text(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def lines(pairs: Sequence[tuple[str, Any]]) -> None:
    """``label: value`` lines of printable values, labels aligned."""
    width = max(len(label) for label, _ in pairs)
    for label, value in pairs:
        echo(f"{label + ':':<{width + 1}} {text(value)}")
