"""`smartbcc import KIND FILE` and `smartbcc export KIND [FILE|-]`: records to and from CSV files, in the
shapes of Pipedrive's, HubSpot's and Bitrix24's exports, or any shape a mapping file names."""

from __future__ import annotations

import csv
import io
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, TextIO

import click

from gateway.commands.output import App, echo, emit_json, json_option, pass_app, printable, user_errors, with_db
from gateway.crm.csv_formats import SOURCES, neutralize
from gateway.crm.kinds import NOUNS, Kind
from gateway.services import exports, imports
from gateway.services.imports import ImportReport, RowOutcome

MERGED_BY: dict[str, str] = {
    Kind.PERSON: "with the same address", Kind.LEAD: "with the same address",
    Kind.ORG: "with the same address, domain or name", Kind.DEAL: "with the same title, contact and organization"}
SHOWN = 20          # rows listed under Notes and Refused; --json lists up to a thousand, --report all
KINDS = click.Choice(list(imports.KIND_NAMES), case_sensitive=False)


def _progress_bar(stack: ExitStack, length: int, label: str, quiet: bool) -> Callable[[int], None] | None:
    """A progress bar on stderr when it is a terminal and the output is for people."""
    if quiet or not sys.stderr.isatty():
        return None
    bar = stack.enter_context(click.progressbar(length=length, label=label, file=sys.stderr))

    def update(position: int) -> None:
        bar.update(position - bar.pos)
    return update


def _open_for_writing(stack: ExitStack, path: str) -> TextIO:
    try:
        return stack.enter_context(open(path, "w", encoding="utf-8", newline=""))
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror or error}") from None


def _report_writer(stack: ExitStack, path: str | None) -> Callable[[RowOutcome], None] | None:
    if path is None:
        return None
    writer = csv.writer(_open_for_writing(stack, path))
    writer.writerow(["line", "action", "id", "label", "note"])
    return lambda row: writer.writerow([row.line, row.action, row.record_id or "", neutralize(row.label),
                                        neutralize(row.note)])


def _print(report: ImportReport) -> None:
    if report.dry_run:
        echo("Dry run: nothing was written.")
    echo(f"Read {report.rows} rows from {report.file} ({report.source}, {report.encoding}, "
         f"{report.delimiter}-separated): {NOUNS[report.kind]}s of {report.company}")
    echo(f"  created: {report.created}")
    echo(f"  merged:  {report.merged} (into the {NOUNS[report.kind]} {MERGED_BY[report.kind]})")
    echo(f"  refused: {report.refused}")
    if report.organizations_created:
        echo(f"  organizations created for the organization column: {report.organizations_created}")
    if report.contacts_created:
        echo(f"  contacts created for the deals' contact column: {report.contacts_created}")
    if report.unused_columns:
        echo(f"  columns not read: {printable(', '.join(report.unused_columns))}")
    _outcomes("Notes", report.notes, len(report.notes))
    _outcomes("Refused", report.refusals, report.refused)


def _outcomes(title: str, rows: list[RowOutcome], total: int) -> None:
    """The first SHOWN rows of a list; the rest are in --report FILE and --json."""
    if not rows:
        return
    echo(f"{title}:")
    for row in rows[:SHOWN]:
        echo(f"  line {row.line}: {printable(row.note)}" + (f" ({printable(row.label)})" if row.label else ""))
    if total > SHOWN:
        echo(f"  ... and {total - SHOWN} more (every row is in --report FILE)")


@click.command("import")
@click.argument("kind", type=KINDS)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--company", "company_slug", required=True, metavar="SLUG", help="The company the records go to.")
@click.option("--from", "source", metavar="CRM|MAPPING.toml",
              help=f"Who wrote the file: {', '.join(SOURCES)}, or a mapping file naming its columns "
                   "(default: told by the header row).")
@click.option("--dry-run", is_flag=True, help="Make the same pass and report, writing nothing.")
@click.option("--encoding", help="The file's encoding (default: found: UTF-8/16 by BOM, UTF-8, windows-1251/1252).")
@click.option("--delimiter", help="The character between values, or tab, comma, semicolon, pipe (default: the one of "
                   "these the header row uses most).")
@click.option("--ignore-owners", is_flag=True, help="Leave the owner column unread (owners unknown here).")
@click.option("--report", "report_file", metavar="FILE", help="Write every row's outcome to FILE as CSV.")
@json_option
@pass_app
def import_command(app: App, kind: str, file: Path, company_slug: str, source: str | None, dry_run: bool,
                   encoding: str | None, delimiter: str | None, ignore_owners: bool, report_file: str | None,
                   as_json: bool) -> None:
    """Import contacts (person), organizations (org), leads or deals from FILE, a CSV file: another CRM's
    export as it is, or any file with a mapping file. A row with a known address merges into its record."""
    with user_errors():
        kind = imports.kind_named(kind)
        loaded = imports.load_source(kind, source)
    with ExitStack() as stack:
        on_row = _report_writer(stack, report_file)
        size = file.stat().st_size if file.is_file() else 0
        progress = _progress_bar(stack, size, f"Importing {printable(file.name)}", as_json)
        report = with_db(app, lambda db: imports.import_file(
            db, kind, company_slug, file, loaded, dry_run=dry_run, encoding=encoding, delimiter=delimiter,
            ignore_owners=ignore_owners, on_row=on_row, progress=progress))
    if as_json:
        emit_json(report)
    else:
        _print(report)


class _Terminal(io.TextIOBase):
    """Standard output when it is a terminal: what a terminal would act on is escaped (the file is exact)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, text: str) -> int:
        self.out.write(printable(text, multiline=True))
        return len(text)


@click.command("export")
@click.argument("kind", type=KINDS)
@click.argument("file", default="-", metavar="[FILE|-]")
@click.option("--company", "company_slug", required=True, metavar="SLUG", help="The company whose records.")
@click.option("--format", "fmt", type=click.Choice(list(SOURCES)), default="smartbcc", show_default=True,
              help="The columns to write: those of that CRM's export (what `import` reads back).")
@pass_app
def export_command(app: App, kind: str, file: str, company_slug: str, fmt: str) -> None:
    """Export a company's contacts, organizations, leads or deals as CSV to FILE (default: standard output)."""
    with ExitStack() as stack:
        out: TextIO
        if file == "-":
            out = _Terminal(sys.stdout) if sys.stdout.isatty() else sys.stdout  # type: ignore[assignment]
        else:
            out = _open_for_writing(stack, file)
        count = with_db(app, lambda db: exports.export_records(db, kind, company_slug, out, fmt))
    if file != "-":
        echo(f"Wrote {count} {NOUNS[imports.kind_named(kind)]}s to {file}", err=True)
